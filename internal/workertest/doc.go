// Package workertest runs the upload worker in tests and examples of other
// packages (tasks, the importer, the HTTP API, the enqueue command): the
// worker that worker.New assembles, as production runs it (retry policy,
// shutdown timeout, base context and all), uploading to an alipaytest
// gateway emulator on a loopback port with the test keys. It assembles
// nothing itself.
package workertest
