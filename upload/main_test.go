package upload

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the run if a body producer outlives the tests: Upload must
// wait for its goroutine whatever happened to the request.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if stacks := lingering("upload.(*bodyPlan).produce"); stacks != "" {
			fmt.Fprintf(os.Stderr, "body producers still running after the tests:\n%s\n", stacks)
			code = 1
		}
	}
	os.Exit(code)
}

// lingering returns the stacks of goroutines running fn, waiting a little
// for ones that are about to end.
func lingering(fn string) string {
	buf := make([]byte, 1<<20)
	var found []byte
	for range 50 {
		n := runtime.Stack(buf, true)
		found = found[:0]
		for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
			if bytes.Contains(g, []byte(fn)) {
				found = append(append(found, g...), "\n\n"...)
			}
		}
		if len(found) == 0 {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
	return string(found)
}
