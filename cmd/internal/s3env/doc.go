// Package s3env reads the object store settings the commands share (the
// worker, enqueue and enqueue serve): where the S3-compatible service is
// and how to address it. Credentials come from the AWS SDK's usual chain;
// the variables of that chain a command's environment holds are passed on
// as they are, so that a command run with a given environment (its tests
// included) uses them whatever the process's own.
package s3env
