// Package syncbuf provides [Buffer], a bytes.Buffer that many goroutines
// may write to while a test reads it: the output of a command, a logger
// or a progress display under test.
package syncbuf
