// Package objstore reads, lists, writes and deletes objects in an
// S3-compatible store (AWS S3, Alibaba Cloud OSS through its S3 endpoint,
// Ceph, versitygw...) through the AWS SDK for Go v2: the media source of
// jobs that name s3://bucket/key, the listing behind `enqueue
// s3://bucket/prefix/`, and the spool of `enqueue serve` kept in a bucket.
//
// # Configuration
//
// [New] loads the SDK's usual chain, the same that the aws command line
// reads: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the shared
// credentials file, a profile, web identity, container and instance
// roles), AWS_REGION, and AWS_ENDPOINT_URL_S3 for a service other than
// AWS S3. [Config] sets the endpoint, path-style addressing (most
// S3-compatible servers on a plain address want it), the region and
// static credentials over the chain. Credentials are never logged and
// appear in no error.
//
// # Errors
//
// A missing bucket or key gives an error matching fs.ErrNotExist, a
// refused read one matching fs.ErrPermission, so that
// [github.com/storemedia/alipay-media-worker/mediaroot.ReasonOf] names
// them as it names a missing or unreadable file; other errors (the service
// away, credentials refused) may go away when tried again.
//
// The rules of which objects a job may read (the bucket media roots) are
// mediaroot's; this package only talks to the store.
package objstore
