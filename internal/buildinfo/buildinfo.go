package buildinfo

import (
	"fmt"
	"runtime/debug"
)

// Info is what the Go toolchain stamped into the binary.
type Info struct {
	// Version is the main module's version: a tag such as v1.2.0 when the
	// binary was built by `go install module@tag`, "(devel)" for a build in
	// a checkout.
	Version string
	// Revision is the VCS commit the binary was built from, "" when the
	// build had no VCS information (go run, -buildvcs=false, no .git).
	Revision string
	// Modified says the checkout had uncommitted changes.
	Modified bool
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(unknown)"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is the line --version prints after the command's name, e.g.
// "v1.2.0 (commit 4ec2272a1b9c, go1.26.8)" or
// "(devel) (commit 4ec2272a1b9c, modified, go1.26.8)".
func (in Info) String() string {
	s := in.Version + " ("
	if in.Revision != "" {
		rev := in.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += "commit " + rev + ", "
		if in.Modified {
			s += "modified, "
		}
	}
	return fmt.Sprintf("%s%s)", s, in.GoVersion)
}
