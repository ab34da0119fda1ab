package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	cases := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"tagged", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}},
			"v1.2.0 (go1.26.8)"},
		{"checkout", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "4ec2272a1b9c55aa00ff"}, {Key: "vcs.modified", Value: "true"}}},
			"(devel) (commit 4ec2272a1b9c, modified, go1.26.8)"},
		{"clean checkout", debug.BuildInfo{GoVersion: "go1.26.8",
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}},
			"(devel) (commit abc, go1.26.8)"},
	}
	for _, c := range cases {
		if got := fromBuildInfo(&c.bi).String(); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestReadNamesThisToolchain(t *testing.T) {
	in := Read()
	if !strings.HasPrefix(in.GoVersion, "go") || in.Version == "" {
		t.Fatalf("Read() = %+v: want a Go version and a module version", in)
	}
}
