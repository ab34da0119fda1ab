// Package demo runs the whole pipeline on one machine with throw-away
// settings: the command behind `make demo` (cmd/demo).
//
// # What it does
//
// [Run] finds Redis on loopback (and starts a private redis-server when
// nothing listens on 127.0.0.1:6379), generates fresh application and
// gateway keys in .demo/keys, starts the Alipay gateway emulator, starts the
// worker with its dashboard, writes sample media to .demo/media, and imports
// it with the bulk importer, showing its progress. It then prints a result
// table (file, state, image_id or reason) and the dashboard URL, and keeps
// everything running until interrupted; Ctrl-C stops the worker, the
// emulator and any redis-server it started. With Config.Once it prints the
// table and returns instead, with an error if any file did not end as
// expected.
//
// # Sample media
//
// [WriteMedia] draws the photos with internal/mediagen at run time (JPEG,
// PNG, an animated GIF and a BMP) and copies one committed half-second MP4.
// Four broken files show local rejection (text named .jpg, a truncated
// JPEG, an empty file and a PNG over the 5 MB limit), and one photo is
// imported for a merchant whose app_auth_token the emulator refuses, so an
// archived task with its error and a redacted token can be seen in the
// dashboard. [Samples] lists every file and its expected outcome.
//
// # Not trampling shared Redis
//
// The demo uses Redis database 5 and its own queue (demo-uploads), and
// clears only that queue when it starts. DEMO_REDIS_URL points it
// elsewhere.
package demo
