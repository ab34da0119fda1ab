package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	return runSubcommand(ctx, statusFlags(&c, &asJSON, env), args, env, func(refs []string) (int, error) {
		if len(refs) == 0 {
			return 0, command.Usagef("status: no file, task ID or SHA-256 given")
		}
		return doStatus(ctx, c, refs, asJSON, env)
	})
}

func doStatus(ctx context.Context, c common, refs []string, asJSON bool, env Env) (int, error) {
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
		fmt.Fprintln(tw, "TASK ID\tQUEUE\tSTATUS\tRETRIED\tIMAGE ID\tIMAGE URL / LAST ERROR")
	}
	flush := func() {
		if tw != nil {
			tw.Flush()
		}
	}
	for _, ref := range refs {
		found, err := find(ctx, client, ref)
		if errors.Is(err, tasks.ErrNotFound) {
			code = command.ExitFailed
			if asJSON {
				row := map[string]any{"ref": ref, "state": "not_found"}
				if strings.HasPrefix(ref, "upload:") {
					row["task_id"] = ref
				}
				_ = enc.Encode(row)
			} else {
				fmt.Fprintf(tw, "%s\t-\tnot_found\t-\t-\t-\n", ref)
			}
			continue
		}
		if err != nil {
			return 0, err // the error alone: no table header above it
		}
		for _, st := range found {
			if asJSON {
				_ = enc.Encode(httpapi.TaskFromStatus(st))
				continue
			}
			imageID, detail := "-", st.LastError
			switch {
			case st.Result != nil && st.Result.Unverified:
				// Archived: an answer whose signature did not verify
				// claimed this image_id; the error says what to do.
				imageID = "unverified:" + st.Result.ImageID
			case st.Result != nil:
				imageID, detail = st.Result.ImageID, st.Result.ImageURL
			}
			if detail == "" {
				detail = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", st.ID, st.Queue, st.Word(), st.Retried, st.MaxRetry, imageID, oneLine(detail))
		}
	}
	flush()
	return code, nil
}

// find returns the tasks ref names: a file (its content's tasks, for
// every merchant, in every queue), else what [tasks.Client.Find] takes (a
// task ID, a SHA-256 or a prefix of one). A ref of neither form is a usage
// error.
func find(ctx context.Context, client *tasks.Client, ref string) ([]tasks.Status, error) {
	if fi, err := os.Stat(ref); err == nil && fi.Mode().IsRegular() {
		if abs, err := filepath.Abs(ref); err == nil {
			ref = abs // Find takes a file by its absolute path
		}
	}
	found, err := client.Find(ctx, ref)
	if errors.Is(err, tasks.ErrBadRef) {
		return nil, command.Usagef("status: %q is no file, task ID (upload:...), SHA-256, or SHA-256 prefix of %d or more hex digits", ref, tasks.MinFindPrefix)
	}
	return found, err
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
