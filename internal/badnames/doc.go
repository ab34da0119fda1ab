// Package badnames is the one table of image_name values that every entry
// point must refuse with the same answer (reason bad_name): the Go API
// (tasks.Client), the HTTP API's JSON and multipart requests, the importer,
// and the worker handler on payloads written by other programs. The rule
// itself lives in validate.CheckName; this package only holds the test
// table, so that each entry point's test uses the same names.
package badnames
