// Package testworker runs a real upload worker for tests and examples: an
// asynq server with the tasks handler, the real upload client, and the
// alipaytest gateway emulator on a loopback port.
package testworker
