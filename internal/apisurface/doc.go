// Package apisurface measures the module's exported surface: every exported
// top-level name, and every exported method of an exported type, declared
// in the non-test files of a package outside internal/ and cmd/, and where
// each one is used.
//
// # What counts as used
//
// A name is used outside its package when the non-test code of another
// package of the module (a command, an internal helper, another stage)
// refers to it, holds a value of its type, or reaches it through the
// signature or exported fields of a name that is itself used outside. A
// method also counts as used when its type implements an interface,
// declared in the module or in a package the module imports, that requires
// it (String for fmt.Stringer, ServeHTTP for http.Handler, Collect and
// Describe for prometheus.Collector, ProcessTask for asynq.Handler, and so
// on; Unwrap, Is and As for the errors package). The constants of a type
// the package declares are kept with the type: a caller that switches on
// its values needs all of them.
//
// A name is covered by an example when one of its package's Example
// functions is named after it (ExampleName, ExampleType_Method, with an
// optional lower-case suffix) or refers to it in its body, by name or by a
// value of its type.
//
// The rule, kept by this package's test: every name is used outside its
// package or covered by an example. A name that is neither is either user
// API that lacks an example, or should be unexported.
//
// # How it works
//
// Load runs `go list -export -deps -test` once per build tag set (the
// default build and the vips build), type-checks the module's packages and
// their tests from source with go/types, importing everything else from
// the compiler's export data, and merges what it saw under both tag sets.
// Only the standard library is used, so the check needs no extra module.
//
// To list every name with where it is used:
//
//	go test ./internal/apisurface -run TestSurface -v -args -apisurface.list
package apisurface
