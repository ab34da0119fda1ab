package testproc_test

import (
	"fmt"
	"strings"
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

// A private S3-compatible server (versitygw) outside a test: its buckets
// are directories of its temporary directory, and Env is what a command
// needs to reach it through the AWS SDK's chain.
func ExampleRunS3() {
	s, err := testproc.RunS3(testproc.S3Options{Buckets: []string{"media"}})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	fmt.Println(strings.HasPrefix(s.URL(), "http://127.0.0.1:"), len(s.Env()))
	// Output:
	// true 4
}
