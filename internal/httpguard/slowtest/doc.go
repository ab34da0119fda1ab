// Package slowtest checks, for the tests of the module's two HTTP
// listeners (the enqueue API and the worker's dashboard), what
// internal/httpguard promises: a request that announces a body it never
// sends, and that the server refuses from its headers alone, is answered
// at once and its connection closed, without waiting for the body.
package slowtest
