// Command alipay-emulator runs the alipaytest gateway emulator standalone,
// for demos and for tests that run in other processes. See package
// internal/cli for its flags, or run it with --help.
package main
