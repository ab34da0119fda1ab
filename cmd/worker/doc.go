// Command worker runs the Alipay store media upload worker: it takes upload
// jobs from Redis (asynq) and streams each file to Alipay's
// alipay.offline.material.image.upload. Configuration comes from
// environment variables; run "worker --help" for the list.
package main
