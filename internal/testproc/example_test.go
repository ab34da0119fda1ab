package testproc_test

import (
	"fmt"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

// A child process whose output is kept, line by line, with the run it
// came from.
func ExampleProc() {
	p := &testproc.Proc{Name: "hello", Path: "/bin/sh", Args: []string{"-c", "echo hello; echo world >&2"}}
	if err := p.Start(); err != nil {
		panic(err)
	}
	if err := p.Wait(10 * time.Second); err != nil {
		panic(err)
	}
	fmt.Print(p.Log())
	// Unordered output:
	// [hello#1] hello
	// [hello#1] world
}

// A private redis-server outside a test, as cmd/bench and cmd/demo start
// one: Close kills it and removes its temporary directory.
func ExampleRunRedis() {
	r, err := testproc.RunRedis(testproc.RedisOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(testproc.Ping(r.Addr()))
	r.Close()
	fmt.Println(testproc.Ping(r.Addr()) != nil)
	// Output:
	// <nil>
	// true
}
