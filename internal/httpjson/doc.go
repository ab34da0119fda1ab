// Package httpjson writes the JSON answers of the module's HTTP servers:
// the enqueue API, the worker's probes and the emulator's admin API. One
// writer, so that every answer carries the same headers and layout.
package httpjson
