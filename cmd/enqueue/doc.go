// Command enqueue queues store media uploads for the worker: in bulk from
// files and directories, or through a small HTTP API (enqueue serve), and
// shows the state of queued tasks (enqueue status). Run "enqueue --help".
package main
