// Package importer queues uploads for every file below a set of paths: the
// bulk import behind the enqueue command.
//
// # Pipeline
//
// [Run] streams. A walker reads directories in batches of a few hundred
// entries (never a whole directory at once) and hands each candidate file
// to a bounded channel; N workers (runtime.NumCPU by default) open the
// file inside the media roots, check it with the validator and hash it
// (tasks.Client.Prepare); M enqueuers ([DefaultEnqueuers] by default)
// queue the checked files concurrently (tasks.Client.EnqueuePrepared); a
// single recorder writes the manifest and keeps the counts. Every stage is
// connected by a small channel, so memory stays flat however many files
// there are. The one exception is Wait: the rows of tasks still running
// are kept until they finish (a few hundred bytes per file). The stages
// run in an errgroup: the first fatal error (Redis failing) stops them
// all, and no goroutine Run starts outlives it.
//
// # Progress
//
// Run draws nothing: it reports through callbacks, [Config.OnRow] for
// every file, [Config.OnNotice] for news while waiting (Redis failing,
// back again) and [Config.OnProgress] for a [Progress] snapshot at a
// regular interval; the enqueue command renders them on the terminal. With
// OnProgress set, a second, cheap walk counts files and bytes at the same
// time, so that totals and an ETA can be shown once it finishes; until
// then the totals are -1. [Config.NoPreCount] turns it off.
//
// # Selecting files and naming them
//
// [Filter] keeps files by include patterns and drops files and whole
// directories by exclude patterns, matched (path.Match syntax, plus ** for
// any number of directories and {a,b} for alternatives) against the
// base name and against the slash-separated path relative to the argument.
// Names beginning with a dot are skipped unless Filter.Hidden is set.
// Symbolic links given as arguments are followed; links found below them
// are not, and are left to the media root check, which refuses links that
// lead outside the roots.
//
// [NameRule] chooses image_name: the base name (default), the relative
// path, or the stem; [ShortenName] then cuts it to Alipay's 128 characters
// while keeping the extension.
//
// # Idempotence
//
// A task ID is derived from the content hash and the merchant, so running
// the same import twice queues nothing new: a file whose task completed is
// reported "completed" from the stored result, one still queued is
// "pending", and one whose task was archived is "failed" unless
// RequeueFailed runs it again (asynq Inspector.RunTask). Two files with the
// same content share one task. Results stay readable while asynq retains
// the task (tasks.DefaultRetention); after that the file would be uploaded
// again.
//
// # Manifest
//
// Each file produces one [Row], written as a JSON line in the order files
// finish (not sorted). States: "queued", "pending", "completed", "failed",
// "rejected" (with Reason and Error) and, for a dry run, "would-queue".
// With Wait, rows are written once their task has finished, so the
// manifest holds the final results; rows still waited for when the run is
// interrupted are written with their provisional state. The manifest is
// flushed every second and always before Run returns.
package importer
