// Package buildinfo tells which build of the module is running: the module
// version (a tag when built with `go install ...@vX`), the VCS revision and
// whether the tree was modified (stamped by `go build` in a git checkout),
// and the Go version. Every command prints it for --version, and the
// worker exports it as the alipay_media_build_info metric, so an operator
// can tell which build each process of a fleet runs.
package buildinfo
