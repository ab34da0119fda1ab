package testproc

// TB is the part of testing.TB that the helpers for tests use: *testing.T,
// *testing.B and *testing.F satisfy it. The package does not import
// testing, so that commands (cmd/demo, cmd/bench) can use its other parts
// without linking it.
type TB interface {
	Helper()
	Cleanup(func())
	TempDir() string
	Fatalf(format string, args ...any)
}
