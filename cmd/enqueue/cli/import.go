package cli

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/enqueue/importer"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/conffile"
	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/validate"
)

// usageText is the help of every subcommand; the defaults in it are filled
// in from the constants that define them.
var usageText = strings.NewReplacer(
	"{redis-url}", tasks.DefaultRedisURL,
	"{name-len}", fmt.Sprint(validate.MaxNameLen),
	"{enqueuers}", fmt.Sprint(importer.DefaultEnqueuers),
	"{poll}", shortDuration(importer.DefaultPollInterval),
	"{wait-outage}", shortDuration(importer.DefaultWaitOutage),
	"{listen}", defaultListen,
	"{token-len}", fmt.Sprint(httpapi.MinTokenLen),
	"{spool-sweep}", shortDuration(defaultSpoolSweep),
	"{spool-grace}", shortDuration(httpapi.DefaultSpoolGrace),
	"{convert-max}", fmt.Sprint(convert.DefaultMaxInputBytes),
).Replace(usageTemplate)

// shortDuration writes d as "10m" or "1h" rather than "10m0s" or "1h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

const usageTemplate = `Usage:
  enqueue [flags] PATH...        queue uploads of files and directories (recursive),
                                 or of the objects under s3://bucket/prefix/
                                 (S3_ENDPOINT and the AWS SDK's credentials)
  enqueue status [--json] REF... show the state and result of tasks, in every
                                 queue; REF is a file or an s3:// object (its
                                 content's tasks), a task ID, a SHA-256 or a
                                 prefix of 8+ digits
  enqueue serve [flags]          run the HTTP enqueue API
  enqueue merchant ACTION        merchants' authorizations (never shows a token):
    keygen [--rotate] FILE       write a merchant key file (--rotate: put a
                                 new key first, keep the old ones)
    authorize --code CODE [--requeue]
                                 exchange the merchant's app_auth_code and
                                 store its tokens encrypted; --requeue re-runs
                                 its tasks archived as merchant_unauthorized
                                 or merchant_not_found
    list | show ID | refresh ID | remove ID
                                 ID is the merchant's auth_app_id; --json
                                 prints JSON lines
    reseal [--json]              seal every record again with the key file's
                                 first key, after keygen --rotate: then the
                                 old keys may leave the file (exit 1 when
                                 some record could not be; 2 when the key
                                 file opens none)
  enqueue help                   show this help

Import: every file is checked locally (media root, size, real type,
structure) and hashed; files that pass are queued unless their task already
exists (same content for the same merchant). Rejected files are reported
with their reason and never queued. Files and directories whose names begin
with '.' are skipped unless --hidden is given.

Import flags (flags may come before or after the paths):
  --include GLOB        import only files whose base name or path relative to
                        the argument matches GLOB (repeatable); ** spans
                        directories, {a,b} gives alternatives:
                        'shop-*/**/*.{jpg,png}'
  --exclude GLOB        skip files and directories matching GLOB (repeatable)
  --hidden              include names beginning with '.'
  --name RULE           image_name: base (file name, default), relpath (path
                        relative to the argument) or stem (name without
                        extension); cut to {name-len} characters keeping the extension
  --image-type TYPE     declare image_type for every file (default: detected)
  --image-pid PID       image_pid for every file
  --convert             ask for conversion: HEIC/HEIF and WebP photos, and
                        JPEGs over the 5 MB limit, up to --convert-max-bytes,
                        are queued instead of rejected, for a worker with
                        UPLOAD_CONVERT=on to send as a JPEG that fits
  --merchant AUTH_APP_ID
                        upload for this merchant, authorized beforehand
                        (enqueue merchant authorize): the worker uses its
                        current token, refreshed as needed
  --app-auth-token-file FILE
                        read a merchant app_auth_token the app holds itself
                        from FILE (env APP_AUTH_TOKEN); it is queued only
                        encrypted, so it needs the merchant key file
                        (prefer --merchant)
  --dry-run             check and look up every file, queue nothing
  --wait                wait until every task is completed or archived
  --requeue-failed      run archived (failed) tasks of these files again
  --manifest FILE       write one JSON line per file to FILE ('-' = stdout)
  --progress MODE       auto (bar on a terminal, else plain lines), bar,
                        plain or none (default auto)
  --no-count            skip the pre-count of files (totals shown as '?')
  --workers N           checking/hashing workers (default: number of CPUs)
  --enqueuers N         concurrent Redis calls (default {enqueuers})
  --poll DURATION       how often --wait looks at all the tasks (4 times less
                        often while the worker's announcements arrive); each
                        one is also looked at as soon as the worker announces
                        it (default {poll})
  --wait-outage DURATION
                        how long --wait rides out Redis failing (restart,
                        failover) before it gives up with exit 3; 0: give
                        up at once (default {wait-outage})

Common flags:
  --redis-url URL       Redis (env REDIS_URL, default {redis-url});
                        the worker's forms: redis://, rediss://,
                        redis-socket://, redis-sentinel://h1,h2?master=name,
                        redis-cluster://h1:port,h2:port
  --media-roots DIRS    ':'-separated directories files must lie in: the
                        workers' MEDIA_ROOTS (env MEDIA_ROOTS; required for
                        import and serve)
  --queue NAME          queue (env ENQUEUE_QUEUE, default "default")
  --log-level LEVEL     debug, info, warn or error (env LOG_LEVEL, default warn)
  --log-format FORMAT   text or json (env LOG_FORMAT, default text)
  --merchant-key-file FILE
                        merchant key file (env MERCHANT_KEY_FILE; the
                        workers' file): needed by merchant, by serve's
                        /v1/merchants routes, and to queue an
                        app_auth_token (sealed with it). merchant authorize
                        and refresh, and serve's merchant routes, also read
                        the workers' ALIPAY_* settings (see worker --help),
                        checked as the worker checks them
  --convert-max-bytes N largest file queued for conversion (import --convert,
                        the API's "convert"; env UPLOAD_CONVERT_MAX_BYTES,
                        default {convert-max})
  --version             print the build (version, commit, Go version) and exit

Status flags:
  --json                print one JSON object per task instead of a table

Serve flags (the /v1/merchants routes need --merchant-key-file, and the
workers' ALIPAY_APP_ID, ALIPAY_PRIVATE_KEY_FILE, ALIPAY_PUBLIC_KEY_FILE or
ALIPAY_*_CERT_FILE, ALIPAY_GATEWAY_URL, ALIPAY_API; without them they
answer 501 merchants_not_configured):
  --listen ADDR         listen address (env ENQUEUE_LISTEN, default {listen})
  --token-file FILE     bearer token file (env ENQUEUE_API_TOKEN_FILE; else the
                        token itself from env ENQUEUE_API_TOKEN); at least
                        {token-len} bytes, white space around it ignored
  --spool-dir DIR       where uploaded files are stored; must be inside a media
                        root (env ENQUEUE_SPOOL_DIR, default
                        <first media root>/.enqueue-spool)
  --spool-sweep DURATION
                        how often spooled files no task needs any more are
                        deleted (all their tasks completed; a file whose
                        task is gone from Redis is kept and logged); 0: never
                        (env ENQUEUE_SPOOL_SWEEP) (default {spool-sweep}); servers
                        sharing a spool may all sweep, one is enough
  --spool-grace DURATION
                        a spooled file is left alone this long after it
                        was last sent (env ENQUEUE_SPOOL_GRACE)
                        (default {spool-grace})

States (the manifest's "state", the status table, the HTTP API's "status"):
  queued       waiting for a worker (this run queued it)
  pending      already queued earlier (or by an identical file), not finished
  uploading    a worker is sending it (status and --wait)
  retrying     an attempt failed; waiting for the next one
  throttled    the gateway said too many calls (40005); waiting for the
               throttle delay without spending the retry budget
  completed    uploaded (image_id, image_url)
  failed       archived: failed for good or out of retries (see the error)
  rejected     failed the check here; never queued
  would-queue  --dry-run: fit to be queued

Exit status:
  0    everything requested succeeded (serve: stopped by a signal)
  1    some files were rejected or failed (status: some IDs unknown)
  2    usage or configuration error
  3    Redis unreachable (at the start, or for longer than --wait-outage
       while waiting)
  130  interrupted
`

type importFlags struct {
	common
	include, exclude stringList
	hidden           bool
	name             string
	imageType        string
	imagePID         string
	tokenFile        string
	merchant         string
	dryRun           bool
	wait             bool
	requeueFailed    bool
	convert          bool
	manifest         string
	progress         string
	noCount          bool
	workers          int
	enqueuers        int
	poll             time.Duration
	waitOutage       time.Duration
}

// flags registers the import flags on a new flag set.
func (f *importFlags) flags(env Env) *flag.FlagSet {
	fs := command.NewFlagSet("enqueue")
	f.common.register(fs, env)
	fs.Var(&f.include, "include", "")
	fs.Var(&f.exclude, "exclude", "")
	fs.BoolVar(&f.hidden, "hidden", false, "")
	fs.StringVar(&f.name, "name", "base", "")
	fs.StringVar(&f.imageType, "image-type", "", "")
	fs.StringVar(&f.imagePID, "image-pid", "", "")
	fs.StringVar(&f.tokenFile, "app-auth-token-file", "", "")
	fs.StringVar(&f.merchant, "merchant", "", "")
	fs.BoolVar(&f.dryRun, "dry-run", false, "")
	fs.BoolVar(&f.wait, "wait", false, "")
	fs.BoolVar(&f.requeueFailed, "requeue-failed", false, "")
	fs.BoolVar(&f.convert, "convert", false, "")
	fs.StringVar(&f.manifest, "manifest", "", "")
	fs.StringVar(&f.progress, "progress", "auto", "")
	fs.BoolVar(&f.noCount, "no-count", false, "")
	fs.IntVar(&f.workers, "workers", runtime.NumCPU(), "")
	fs.IntVar(&f.enqueuers, "enqueuers", importer.DefaultEnqueuers, "")
	fs.DurationVar(&f.poll, "poll", importer.DefaultPollInterval, "")
	fs.DurationVar(&f.waitOutage, "wait-outage", importer.DefaultWaitOutage, "")
	return fs
}

func runImport(ctx context.Context, args []string, env Env) int {
	var f importFlags
	return runSubcommand(ctx, f.flags(env), args, env, func(paths []string) (int, error) {
		if len(paths) == 0 {
			return 0, command.Usagef("no PATH given")
		}
		return doImport(ctx, f, paths, env)
	})
}

func doImport(ctx context.Context, f importFlags, paths []string, env Env) (int, error) {
	log, err := f.logger(env.Stderr)
	if err != nil {
		return 0, err
	}
	rule, err := importer.ParseNameRule(f.name)
	if err != nil {
		return 0, command.UsageError(err)
	}
	var mode ProgressMode
	switch f.progress {
	case "auto":
		mode = ProgressPlain
		if env.isTerminal(env.Stderr) {
			mode = ProgressBar
		}
	case "bar":
		mode = ProgressBar
	case "plain":
		mode = ProgressPlain
	case "none":
		mode = ProgressNone
	default:
		return 0, command.Usagef("--progress: %q is not auto, bar, plain or none", f.progress)
	}
	if f.workers < 1 || f.enqueuers < 1 || f.poll <= 0 {
		return 0, command.Usagef("--workers, --enqueuers and --poll must be positive")
	}
	token := env.Getenv("APP_AUTH_TOKEN")
	if f.tokenFile != "" {
		b, err := conffile.Read(f.tokenFile, conffile.MaxSize)
		if err != nil {
			return 0, command.Usagef("--app-auth-token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	// The roots are the workers' (MEDIA_ROOTS): an import checks every file
	// against them as the worker will, rather than trusting the paths.
	roots, err := f.roots(nil)
	if err != nil {
		return 0, err
	}
	client, err := f.client(roots, log)
	if err != nil {
		return 0, err
	}
	defer client.Close()

	var manifest io.Writer
	switch f.manifest {
	case "":
	case "-":
		manifest = env.Stdout
	default:
		mf, err := os.Create(f.manifest)
		if err != nil {
			return 0, command.Usagef("--manifest: %w", err)
		}
		defer mf.Close()
		manifest = mf
	}

	cfg := importer.Config{
		Client:        client,
		Paths:         paths,
		Filter:        importer.Filter{Include: f.include, Exclude: f.exclude, Hidden: f.hidden},
		Name:          rule,
		ImageType:     f.imageType,
		ImagePID:      f.imagePID,
		Merchant:      f.merchant,
		AppAuthToken:  token,
		DryRun:        f.dryRun,
		Wait:          f.wait,
		RequeueFailed: f.requeueFailed,
		Convert:       f.convert,
		Workers:       f.workers,
		Enqueuers:     f.enqueuers,
		NoPreCount:    f.noCount,
		Manifest:      manifest,
		PollInterval:  f.poll,
		WaitOutage:    cmp.Or(max(f.waitOutage, 0), -1), // 0 gives up at once
		Logger:        log,
	}
	if slices.ContainsFunc(paths, mediaroot.IsObjectURL) {
		if cfg.Objects, err = f.objects(); err != nil {
			return 0, err
		}
	}
	display := NewDisplay(env.Stderr, mode, env.terminalWidth(env.Stderr))
	if env.plainInterval > 0 {
		display.plainEvery = env.plainInterval
	}
	display.Attach(&cfg)
	sum, err := importer.Run(ctx, cfg)
	if sum.Files > 0 || err == nil {
		fmt.Fprintf(env.Stderr, "enqueue: %s\n", sum)
	}
	if err != nil {
		return 0, err
	}
	if !sum.OK() {
		return command.ExitFailed, nil
	}
	return command.ExitOK, nil
}
