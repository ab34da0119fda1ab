package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// statusFlags registers the status flags on a new flag set.
func statusFlags(c *common, asJSON *bool, env Env) *flag.FlagSet {
	fs := command.NewFlagSet("enqueue status")
	c.register(fs, env)
	fs.BoolVar(asJSON, "json", false, "")
	return fs
}

func runStatus(ctx context.Context, args []string, env Env) int {
	var c common
	var asJSON bool
	fs := statusFlags(&c, &asJSON, env)
	ids, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, usageText)
		return command.ExitOK
	}
	if err != nil {
		return exitFor(ctx, command.UsageError(err), env)
	}
	if command.Version(fs, env.Stdout) {
		return command.ExitOK
	}
	if len(ids) == 0 {
		return exitFor(ctx, command.Usagef("status: no task ID given"), env)
	}
	code, err := doStatus(ctx, c, ids, asJSON, env)
	if err != nil {
		return exitFor(ctx, err, env)
	}
	return code
}

func doStatus(ctx context.Context, c common, ids []string, asJSON bool, env Env) (int, error) {
	log, err := c.logger(env.Stderr)
	if err != nil {
		return 0, err
	}
	// Looking tasks up reads no files, so the media roots only need to be
	// well-formed when given.
	roots, err := c.roots([]string{"/"})
	if err != nil {
		return 0, err
	}
	client, err := c.client(roots, log)
	if err != nil {
		return 0, err
	}
	defer client.Close()
	if err := client.Ping(ctx); err != nil {
		return 0, err
	}
	code := command.ExitOK
	var tw *tabwriter.Writer
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	if !asJSON {
		tw = tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TASK ID\tSTATE\tRETRIED\tIMAGE ID\tIMAGE URL / LAST ERROR")
	}
	for _, id := range ids {
		st, err := client.Lookup(ctx, id)
		if errors.Is(err, tasks.ErrNotFound) {
			code = command.ExitFailed
			if asJSON {
				_ = enc.Encode(map[string]any{"task_id": id, "state": "not_found"})
			} else {
				fmt.Fprintf(tw, "%s\tnot_found\t-\t-\t-\n", id)
			}
			continue
		}
		if err != nil {
			if tw != nil {
				tw.Flush()
			}
			return 0, err
		}
		if asJSON {
			_ = enc.Encode(httpapi.TaskFromStatus(st))
			continue
		}
		imageID, detail := "-", st.LastError
		if st.Result != nil {
			imageID, detail = st.Result.ImageID, st.Result.ImageURL
		}
		if detail == "" {
			detail = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", id, st.State, st.Retried, st.MaxRetry, imageID, oneLine(detail))
	}
	if tw != nil {
		tw.Flush()
	}
	return code, nil
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	out := []rune(s)
	for i, r := range out {
		if r == '\n' || r == '\r' || r == '\t' {
			out[i] = ' '
		}
	}
	return string(out)
}
