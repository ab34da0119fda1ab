package apisurface

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

var list = flag.Bool("apisurface.list", false, "log every exported name with where it is used")

// TestSurface keeps the rule: every exported name of a package outside
// internal/ and cmd/ is used outside its package or shown by an example.
func TestSurface(t *testing.T) {
	r, err := Load("../..", nil, []string{"vips"})
	if err != nil {
		t.Fatal(err)
	}
	counts := r.PerPackage()
	var b strings.Builder
	for _, p := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&b, "\n%5d %s", counts[p], strings.TrimPrefix(p, r.Module+"/"))
	}
	t.Logf("%d exported names outside internal/ and cmd/:%s", len(r.Names), b.String())
	if *list {
		for _, n := range r.Names {
			ex := ""
			if n.Use&Example != 0 {
				ex = " example"
			}
			t.Logf("%-9s%-8s %s %s (%s)", n.Class(), ex, strings.TrimPrefix(n.String(), r.Module+"/"), n.Kind, n.Pos)
		}
	}
	missing := map[string]bool{}
	for _, n := range r.Missing() {
		name := strings.TrimPrefix(n.String(), r.Module+"/")
		missing[name] = true
		if !pending[name] {
			t.Errorf("%s: %s %s is used neither outside its package nor in an example (%s): unexport it, or show it in an example",
				n.Pos, n.Kind, name, n.Class())
		}
	}
	t.Logf("%d names break the rule", len(missing))
	for _, name := range slices.Sorted(maps.Keys(pending)) {
		if !missing[name] {
			t.Logf("%s keeps the rule now (or is gone): take it off the pending list", name)
		}
	}
}

func TestExampleKey(t *testing.T) {
	for fn, want := range map[string]string{
		"Example":                "",
		"Example_second":         "",
		"ExampleNew":             "p.New",
		"ExampleNew_withOptions": "p.New",
		"ExampleClient_Upload":   "p.Client.Upload",
		"ExampleClient_Upload_x": "p.Client.Upload",
	} {
		if got := exampleKey("p", fn); got != want {
			t.Errorf("exampleKey(%q) = %q, want %q", fn, got, want)
		}
	}
}

func TestPublic(t *testing.T) {
	for rel, want := range map[string]bool{
		"upload":              true,
		"upload/alipaytest":   true,
		"internal/testproc":   false,
		"cmd/worker":          false,
		"cmd/bench/internal":  false,
		"worker/internal/x":   false,
		"commands":            true,
		"worker/dashboard":    true,
		"cmdline/internalish": true,
	} {
		if got := Public(rel); got != want {
			t.Errorf("Public(%q) = %v, want %v", rel, got, want)
		}
	}
}
