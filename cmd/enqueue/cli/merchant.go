package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/cmd/internal/alipayenv"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// merchantFlags are the flags of "enqueue merchant".
type merchantFlags struct {
	common
	code    string
	requeue bool
	asJSON  bool
	rotate  bool
}

func (f *merchantFlags) flags(env Env) *flag.FlagSet {
	fs := command.NewFlagSet("enqueue merchant")
	f.common.register(fs, env)
	fs.StringVar(&f.code, "code", "", "")
	fs.BoolVar(&f.requeue, "requeue", false, "")
	fs.BoolVar(&f.asJSON, "json", false, "")
	fs.BoolVar(&f.rotate, "rotate", false, "")
	return fs
}

func runMerchant(ctx context.Context, args []string, env Env) int {
	var f merchantFlags
	return runSubcommand(ctx, f.flags(env), args, env, func(ops []string) (int, error) {
		if len(ops) == 0 {
			return 0, command.Usagef("merchant: say what to do: keygen FILE, authorize --code CODE, list, show ID, refresh ID, remove ID or reseal")
		}
		verb, ops := ops[0], ops[1:]
		want := map[string]int{"keygen": 1, "authorize": 0, "list": 0, "show": 1, "refresh": 1, "remove": 1, "reseal": 0}
		n, ok := want[verb]
		switch {
		case !ok:
			return 0, command.Usagef("merchant: unknown action %q: keygen, authorize, list, show, refresh, remove or reseal", verb)
		case len(ops) != n && n == 0:
			return 0, command.Usagef("merchant %s takes no arguments, got %q", verb, ops)
		case len(ops) != n:
			return 0, command.Usagef("merchant %s takes one argument (%s), got %d", verb, map[bool]string{true: "the key file to write", false: "the merchant's auth_app_id"}[verb == "keygen"], len(ops))
		case verb == "authorize" && strings.TrimSpace(f.code) == "":
			return 0, command.Usagef("merchant authorize: --code CODE is required (the app_auth_code the merchant's authorization gave)")
		case verb != "authorize" && (f.code != "" || f.requeue):
			return 0, command.Usagef("merchant %s: --code and --requeue go with authorize", verb)
		}
		if verb == "keygen" {
			return keygen(ops[0], f.rotate, env)
		}
		return doMerchant(ctx, f, verb, ops, env)
	})
}

// keygen writes a new key file, or with rotate puts a new key first in an
// existing one (the old keys stay, so records sealed with them still open).
func keygen(path string, rotate bool, env Env) (int, error) {
	key, err := merchant.GenerateKey()
	if err != nil {
		return 0, err
	}
	var old []byte
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if rotate {
		if old, err = os.ReadFile(path); err != nil {
			return 0, command.Usagef("merchant keygen --rotate: %w", err)
		}
		if _, err := merchant.LoadKeyring(path); err != nil {
			return 0, command.Usagef("merchant keygen --rotate: %w", err)
		}
		flags = os.O_WRONLY | os.O_TRUNC
	}
	fh, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		return 0, command.Usagef("merchant keygen: %s exists; give --rotate to put a new key first and keep the old ones", path)
	}
	if err != nil {
		return 0, command.UsageError(fmt.Errorf("merchant keygen: %w", err))
	}
	_, err = fmt.Fprintf(fh, "# merchant key file: the first key seals, every key opens (keep old keys after a rotation)\n%s\n", key)
	if err == nil && len(old) > 0 {
		_, err = fh.Write(dropComments(old))
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("merchant keygen: writing %s: %w", path, err)
	}
	if rotate {
		fmt.Fprintf(env.Stdout, "new key first in %s; the old keys still open what they sealed\n", path)
	} else {
		fmt.Fprintf(env.Stdout, "wrote %s (mode 0600): give it to the workers and to enqueue as MERCHANT_KEY_FILE\n", path)
	}
	return command.ExitOK, nil
}

// dropComments keeps the key lines of a key file.
func dropComments(data []byte) []byte {
	var b strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(t + "\n")
		}
	}
	return []byte(b.String())
}

// merchantStore builds a merchant.Store from the settings: Redis, the key
// file (MERCHANT_KEY_FILE) and, when needAlipay, the app's keys and
// gateway (the worker's ALIPAY_* variables, read as the worker reads them)
// to exchange codes and refresh tokens.
func merchantStore(c *common, env Env, needAlipay bool, log *slog.Logger) (*merchant.Store, redis.UniversalClient, error) {
	keys, err := c.keyring()
	if err != nil {
		return nil, nil, err
	}
	if keys == nil {
		return nil, nil, command.Usagef("no merchant key file: set MERCHANT_KEY_FILE or --merchant-key-file (make one with `enqueue merchant keygen FILE`; the workers need the same file)")
	}
	opt, err := redisurl.Parse(c.redisURL)
	if err != nil {
		return nil, nil, command.Usagef("--redis-url (env REDIS_URL): %w", err)
	}
	rdb, ok := redisurl.NewClient(opt)
	if !ok {
		return nil, nil, command.Usagef("--redis-url (env REDIS_URL): unsupported connection options %T", opt)
	}
	cfg := merchant.Config{Redis: rdb, Keyring: keys, Logger: log}
	if needAlipay {
		if cfg.Client, err = alipayenv.Client(env.Getenv, log); err != nil {
			rdb.Close()
			return nil, nil, err
		}
	}
	st, err := merchant.NewStore(cfg)
	if err != nil {
		rdb.Close()
		return nil, nil, command.UsageError(err)
	}
	return st, rdb, nil
}

// merchantErr gives the store's errors their exit status: a refused code
// or an unknown merchant is a failure (1), a key file that cannot open the
// records a configuration error (2). (Redis not answering at the start is
// 3, from the ping.)
func merchantErr(err error) error {
	if errors.Is(err, merchant.ErrKey) {
		return command.UsageError(err)
	}
	return err
}

func doMerchant(ctx context.Context, f merchantFlags, verb string, ops []string, env Env) (int, error) {
	log, err := f.logger(env.Stderr)
	if err != nil {
		return 0, err
	}
	st, rdb, err := merchantStore(&f.common, env, verb == "authorize" || verb == "refresh", log)
	if err != nil {
		return 0, err
	}
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return 0, command.UnavailableError(fmt.Errorf("Redis at %s does not answer: %w", redisurl.Redact(f.redisURL), err))
	}
	out := merchantPrinter{w: env.Stdout, json: f.asJSON}
	switch verb {
	case "authorize":
		ms, err := st.Authorize(ctx, strings.TrimSpace(f.code))
		if err != nil {
			return 0, merchantErr(err)
		}
		out.print(ms...)
		if f.requeue {
			return requeueMerchants(ctx, f.common, ms, env, log)
		}
	case "list":
		ms, err := st.List(ctx)
		if err != nil {
			return 0, merchantErr(err)
		}
		out.print(ms...)
	case "show":
		m, err := st.Get(ctx, ops[0])
		if err != nil {
			return 0, merchantErr(err)
		}
		out.print(m)
	case "refresh":
		m, err := st.Refresh(ctx, ops[0])
		if err != nil {
			return 0, merchantErr(err)
		}
		out.print(m)
	case "remove":
		if err := st.Remove(ctx, ops[0]); err != nil {
			return 0, merchantErr(err)
		}
		fmt.Fprintf(env.Stdout, "removed merchant %s; its queued jobs will fail as merchant_not_found\n", ops[0])
	case "reseal":
		keys, err := f.keyring()
		if err != nil {
			return 0, err
		}
		return reseal(ctx, st, keys.KeyIDs(), f.asJSON, env)
	}
	return command.ExitOK, nil
}

// resealFailure is a merchant reseal could not seal again.
type resealFailure struct {
	AuthAppID string `json:"auth_app_id"`
	Error     string `json:"error"`
}

// resealSummary is what reseal prints with --json.
type resealSummary struct {
	// KeyID is the key that seals now, the key file's first.
	KeyID     string          `json:"key_id"`
	Merchants int             `json:"merchants"`
	Resealed  int             `json:"resealed"`
	Failed    []resealFailure `json:"failed"`
}

// reseal seals every merchant's record again with the key file's first
// key (keys are its key ids), printing a line for each merchant that
// fails and a progress line at most every plain interval. Exit status: 0
// when every record is sealed with the first key, 1 when some are not, 2
// when the key file opens none of those it had to seal again (the wrong
// key file), 3 when Redis fails meanwhile.
func reseal(ctx context.Context, st *merchant.Store, keys []string, asJSON bool, env Env) (int, error) {
	every := cmp.Or(env.plainInterval, PlainInterval)
	last := time.Now()
	sum := resealSummary{KeyID: keys[0], Failed: []resealFailure{}}
	keyFailures := 0
	c, err := st.Reseal(ctx, func(r merchant.Resealed) {
		if r.Err != nil {
			sum.Failed = append(sum.Failed, resealFailure{r.AuthAppID, r.Err.Error()})
			if errors.Is(r.Err, merchant.ErrKey) {
				keyFailures++
			}
			fmt.Fprintf(env.Stderr, "merchant %s: not sealed again: %v\n", r.AuthAppID, r.Err)
		}
		if now := time.Now(); now.Sub(last) >= every && r.Done < r.Total {
			last = now
			fmt.Fprintf(env.Stderr, "reseal: %d/%d merchants, %d failed\n", r.Done, r.Total, len(sum.Failed))
		}
	})
	sum.Merchants, sum.Resealed = c.Merchants, c.Rewritten
	if err != nil {
		return 0, command.UnavailableError(fmt.Errorf("merchant reseal: stopped after %d of the merchants (%d sealed again; run it again): %w", c.Merchants, c.Rewritten, err))
	}
	if asJSON {
		_ = json.NewEncoder(env.Stdout).Encode(sum)
	} else {
		fmt.Fprintf(env.Stdout, "%d merchant(s), %d sealed again with key %s, %d failed\n", c.Merchants, c.Rewritten, keys[0], c.Failed)
	}
	switch {
	case c.Failed == 0 && len(keys) > 1:
		fmt.Fprintf(env.Stderr, "every record is sealed with key %s: the other keys of the key file (%s) may leave it, on every host\n", keys[0], strings.Join(keys[1:], ", "))
	case c.Failed == 0:
	case c.Rewritten == 0 && keyFailures == c.Failed:
		return 0, command.Usagef("merchant reseal: the key file opens none of the %d record(s) it had to seal again: use the key file they were sealed with, the new key first", c.Failed)
	default:
		return 0, fmt.Errorf("merchant reseal: %d merchant(s) not sealed again (listed above); keep the old keys in the key file until they are authorized anew or removed", c.Failed)
	}
	return command.ExitOK, nil
}

// requeueMerchants re-runs the merchants' tasks archived because they
// could not give a token, in every queue.
func requeueMerchants(ctx context.Context, c common, ms []merchant.Merchant, env Env, log *slog.Logger) (int, error) {
	client, err := c.client([]string{"/"}, log)
	if err != nil {
		return 0, err
	}
	defer client.Close()
	for _, m := range ms {
		ids, err := client.RequeueMerchant(ctx, m.AuthAppID)
		fmt.Fprintf(env.Stderr, "merchant %s: re-ran %d archived task(s) (%s, %s)\n", m.AuthAppID, len(ids), tasks.ReasonMerchantUnauthorized, tasks.ReasonMerchantNotFound)
		if err != nil {
			return 0, err
		}
	}
	return command.ExitOK, nil
}

// merchantPrinter writes merchants as a table or JSON lines: never a
// token (merchant.Merchant holds none).
type merchantPrinter struct {
	w    io.Writer
	json bool
}

func (p merchantPrinter) print(ms ...merchant.Merchant) {
	if p.json {
		enc := json.NewEncoder(p.w)
		for _, m := range ms {
			_ = enc.Encode(m)
		}
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AUTH_APP_ID\tUSER_ID\tSTATUS\tTOKEN EXPIRES\tREFRESH EXPIRES\tREFRESHED\tREASON")
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.AuthAppID, cmp.Or(m.UserID, "-"), m.Status, at(m.TokenExpiresAt), at(m.RefreshExpiresAt), at(m.RefreshedAt), oneLine(cmp.Or(m.Reason, "-")))
	}
	tw.Flush()
}
