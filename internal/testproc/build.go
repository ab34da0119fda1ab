package testproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Commands of this module that tests and tools run as child processes, by
// their directory under cmd/.
const (
	CmdWorker  = "worker"
	CmdEnqueue = "enqueue"
)

// errBuild: a command could not be built.
var errBuild = errors.New("testproc: build failed")

// Build compiles the named commands of the module the working directory
// belongs to (directories under cmd/, such as [CmdWorker]) into dir with
// one `go build` call, without the race detector so that the children run
// at full speed, and returns their paths in the order named.
func Build(ctx context.Context, dir string, cmds ...string) ([]string, error) {
	return BuildTagged(ctx, dir, "", cmds...)
}

// BuildTagged is [Build] with build tags (comma-separated, as go build's
// -tags takes them; "" for none), such as "vips" for a worker that
// converts.
func BuildTagged(ctx context.Context, dir, tags string, cmds ...string) ([]string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	paths := make([]string, len(cmds))
	for i, c := range cmds {
		args = append(args, "./cmd/"+c)
		paths[i] = filepath.Join(dir, c)
	}
	cmd := exec.CommandContext(ctx, goCommand(), args...)
	cmd.Dir = root
	// Whatever the test binary was built with, the children are plain.
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: go %s: %w\n%s", errBuild, strings.Join(args, " "), err, out)
	}
	return paths, nil
}

// moduleRoot returns the directory of the main module (where go.mod is),
// as the go command sees it from the working directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, goCommand(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("%w: go env GOMOD: %w", errBuild, err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("%w: not inside a Go module", errBuild)
	}
	return filepath.Dir(gomod), nil
}

// goCommand is $GO, else the go of $GOROOT, else go from PATH.
func goCommand() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
