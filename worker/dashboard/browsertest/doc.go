// Package browsertest checks the asynq dashboard in a real browser.
//
// Its test starts a private Redis, the Alipay gateway emulator and a worker
// serving the dashboard, uploads one good and one bad file, and then runs
// script.js (Node with playwright-core) against Debian's headless Chromium
// at /usr/bin/chromium. The script opens the completed and archived task
// lists as a person would, clicks the completed task to open its page,
// reads the image_id and the archived task's error from the rendered pages,
// saves a screenshot of each page (dashboard-queues.png,
// dashboard-completed.png, dashboard-completed-task.png,
// dashboard-archived.png), and prints one JSON report that the Go test
// asserts on. The browser may only reach the dashboard: the UI's requests
// for web fonts on the internet are blocked.
//
// The test never skips: without node, npm or chromium it fails and says to
// run `make deps`. It installs playwright-core itself with `npm ci` when
// node_modules is missing. Screenshots go to $TEST_ARTIFACTS/browsertest
// when TEST_ARTIFACTS is set, else to the test's temporary directory; set
// CHROMIUM to use another browser binary.
package browsertest
