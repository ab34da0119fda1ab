// Command worker runs the Alipay store media upload worker: it takes upload
// jobs from Redis (asynq) and streams each file to Alipay's
// alipay.offline.material.image.upload. Configuration comes from
// environment variables, each overridden by the flag of the same name; run
// "worker --help" for the list. The command is package cli's Main.
package main
