// Package bench measures the upload pipeline against its baselines in one
// run, so the figures can be read as ratios: whatever the machine, the
// baselines ran on it at the same time, against the same emulator.
//
// # Scenarios
//
// A run has six scenarios ([AllScenarios]; Config.Scenarios picks some):
// latency, sdk, remote, cpu, throughput and enqueue. The report writes each as a block of its
// own, and [UpdateFile] keeps the blocks of the scenarios a run left out.
//
// # Latency
//
// The headline: a cmd/worker child process left idle, then
// Config.LatencyJobs sequential jobs of a distinct 200 kB photo through
// each path an application waits by: tasks.Client Enqueue and Wait, one
// "enqueue --wait" process per file, and the HTTP API (POST, then the long
// poll GET ?wait=30s). Each sample runs from the start of the enqueue to
// the moment the waiter learns the task completed; the report gives p50,
// p99 and max ([LatencyResult]). The same run measures the baseline, the
// behaviour before notices: asynq's 1s empty-queue check, no notices,
// waiters polling every 500ms (the HTTP client reading the task every
// 500ms). Before its jobs, each worker's idle cost is measured over
// Config.IdleWindow ([IdleCost]): Redis commands per second
// (total_commands_processed) and CPU per second of the worker and of
// redis-server.
//
// # Against the official SDK
//
// Alipay's official Node SDK (alipay-sdk, installed by make deps in
// upload/alipaytest/sdktest; Config.SDKDir) uploads a batch of distinct
// files directly, c at a time in one node process, verifying every
// answer's signature; then an idle cmd/worker with WORKER_CONCURRENCY=c and
// one "enqueue --wait" process upload as many other distinct files. Both
// go to the same emulator; by default 600 files of 200 kB and 120 of
// 4.8 MB at concurrency 8 and 32 ([DefaultSDKBatches],
// [DefaultSDKConcurrency]). The report compares wall time, files per second
// and peak RSS ([SDKCell]). The peak RSS of node and of the enqueue process
// is their VmHWM, read from /proc every 5 ms while they run: the figure
// wait4 gives a parent is not the child's own, because os/exec starts
// children with vfork and Linux counts the parent's peak into the child's.
//
// # A remote gateway
//
// A second emulator holds every answer Config.RemoteRoundTrip (80 ms by
// default, alipaytest's RoundTrip), like Alipay across the internet. For
// each of Config.RemoteConcurrency (8 and 32), each round runs the direct
// loop and then the pipeline (an idle cmd/worker and one "enqueue --wait")
// on the same 200 kB files, Config.RemoteFilesPerSlot per unit of
// concurrency; the report gives the pipeline's throughput over the direct
// loop's, the median round and the spread ([RemoteResult]).
//
// # CPU per file
//
// Each round runs the direct loop and then the pipeline on the same
// Config.CPUFiles files of 200 kB at concurrency 8, against the bench's
// emulator, and reads each process's CPU time (/proc/<pid>/stat; the
// enqueue process's own account when it exits). The direct loop shares
// the bench process with the emulator, so its figure is the bench
// process's less the emulator's, measured while the pipeline ran (when
// the bench process holds only the emulator). The budget is the direct
// loop's CPU per file plus the two SHA-256 passes the pipeline must make
// (timed in the run, [MeasureSHA256Of]) plus 0.5 ms ([CPUResult]).
//
// # What is measured
//
// For every file size and concurrency (by default 100 kB, 1 MB and 5 MB at
// concurrency 1, 8 and 32), [Run] uploads the same files to one in-process
// gateway emulator (package alipaytest) five ways:
//
//   - direct: c goroutines calling upload.Client.Upload, no queue. The
//     ceiling of what the upload client and the emulator can do.
//   - no-op: asynq with a handler that does nothing, c workers, at least
//     2000 upload-shaped tasks. The ceiling of the queue itself.
//   - worker: a cmd/worker child process with WORKER_CONCURRENCY=c drains
//     a queue the bulk importer filled while the queue was paused; the
//     clock runs from the unpause to the last completed task.
//   - e2e: the importer checks, hashes and queues the files while the
//     worker uploads them; the clock runs from the import's start.
//   - in-process: the same worker code (worker.New and Worker.Run, with the
//     child's configuration) inside the bench process, draining a queue
//     filled beforehand, like worker. It separates the worker code's cost
//     from the cost of a process of its own; the goals are judged on
//     worker and e2e.
//
// After the pipeline runs, the worker's peak resident set size (VmHWM
// from /proc/<pid>/status) is read before it is stopped with SIGTERM. A
// last part compares the enqueue rate of the bulk importer with two plain
// loops (tasks.Client.Enqueue, and asynq.Client.Enqueue of payloads
// computed beforehand) on 2000 small files.
//
// # CPU time
//
// Every run also records the CPU time spent while it lasted ([CPUUse]):
// all cores together (/proc/stat), the bench process (which holds the
// emulator), the worker process and redis-server (/proc/<pid>/stat). The
// report divides it per file, and from the direct loop's CPU time per file
// and SHA-256's cost per byte ([MeasureSHA256], timed in the same run) it
// computes each CPU-bound cell's ceiling ([Cell.Ceiling]): the best ratio
// the pipeline could reach if it added nothing but the SHA-256 passes it
// must make. A goal cell whose ceiling is below the goal cannot meet it on
// that machine, however lean the rest is.
//
// # The files
//
// The files are valid JPEGs of an exact size (internal/mediagen's
// JPEGOfSize): a tiny noise image whose header is followed by comment
// segments of random bytes. A validator reads only the header, as with a
// camera JPEG, while the upload carries, hashes and stores every byte;
// random bytes keep every file's content (and so its task ID) unique.
//
// # Reading the figures
//
// On a small machine everything shares the cores: the emulator (which
// verifies, hashes and signs, like Alipay would), Redis, the worker and,
// for e2e, the importer. RSA signing (about 1 ms per signature, one by the
// client and one by the emulator per upload) bounds small files; SHA-256
// (1.2 to 2 GB/s per core: the emulator hashes each file, the worker
// hashes it again to check it is the file that was queued, and the
// importer hashes it once more when queueing) bounds large ones. The
// command cmd/bench prints the table and, with -o, rewrites the results
// part of BENCHMARKS.md ([UpdateFile]).
package bench
