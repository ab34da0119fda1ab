// Package alipayenv reads the settings of the app's gateway client that
// the commands share: the worker, for its uploads, and enqueue, for
// merchant authorizations and refreshes (enqueue merchant, enqueue
// serve's merchant routes). The gateway and protocol, the app id and its
// keys (public key or certificate mode), the time limit of one request and
// the fleet's rate limit are read, checked and refused the same way, with
// the same messages, by both commands: one env file serves both.
//
// [Read] checks syntax and the key files' mode without touching a file;
// [Settings.LoadKeys] reads the key files; [Settings.Apply] fills an
// upload.Config; [Client] does all three for a command that only needs the
// client. Problems are collected on a command.Problems, named by their
// variables.
package alipayenv
