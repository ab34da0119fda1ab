// Package cli is the enqueue command: bulk import (enqueue PATH...), task
// status (enqueue status ID...), the HTTP enqueue API (enqueue serve) and
// merchants' authorizations (enqueue merchant keygen|authorize|list|show|
// refresh|remove|reseal), which never print a token.
//
// [Main] takes the arguments, the output streams and the environment, and
// returns the exit status instead of exiting, so the whole command can be
// tested in-process. Cancelling its context is an interrupt: the import
// stops taking files, flushes the manifest, prints its summary and returns
// command.ExitInterrupted; the server shuts down gracefully and returns
// command.ExitOK.
//
// Exit statuses are those of package internal/command: ExitFailed (1) when
// some files were rejected or failed (for status: some task IDs are
// unknown), ExitUsage (2) for a bad command line or configuration,
// ExitUnavailable (3) when Redis cannot be reached. enqueue merchant: 1
// for a refused app_auth_code, an unknown merchant or (reseal) a record
// not sealed again, 2 for a missing or wrong key file or app key.
//
// Configuration comes from flags, each mirrored by an environment
// variable: REDIS_URL, MEDIA_ROOTS (':'-separated, as for the worker),
// ENQUEUE_QUEUE, LOG_LEVEL, LOG_FORMAT, MERCHANT_KEY_FILE, APP_AUTH_TOKEN
// (import), the workers' ALIPAY_* (merchant authorize and refresh, and
// serve's merchant routes),
// ENQUEUE_API_TOKEN, ENQUEUE_LISTEN and ENQUEUE_SPOOL_DIR (serve). Secrets
// are read from the environment or from files, never from flag values,
// which other users can see in the process list.
package cli
