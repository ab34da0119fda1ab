// Package testredis gives tests a real, private redis-server.
//
// Each [Start] launches its own redis-server process on a free loopback port
// with its own working directory, so tests never share keys with each other
// or with the machine's Redis on 6379, and may stop, kill or restart it. The
// process is killed when the test ends. A missing redis-server binary fails
// the test loudly: these tests are never skipped.
//
// Set REDIS_SERVER to use a redis-server binary that is not on PATH.
package testredis
