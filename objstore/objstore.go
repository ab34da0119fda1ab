package objstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/storemedia/alipay-media-worker/mediaroot"
)

// DefaultRegion is the region used when neither Config.Region nor the
// SDK's chain (AWS_REGION, shared config) names one: S3-compatible
// servers usually accept any, and AWS S3 redirects.
const DefaultRegion = "us-east-1"

// ErrConfig reports a [Config] that cannot work.
var ErrConfig = errors.New("objstore: invalid config")

// Config configures a [Store]. Zero values take the documented defaults.
type Config struct {
	// Endpoint is the base URL of an S3-compatible service, e.g.
	// "http://127.0.0.1:7070" or "https://oss-cn-hangzhou.aliyuncs.com".
	// Default: the SDK's (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the
	// shared config's endpoint_url), else AWS S3 of the region.
	Endpoint string
	// PathStyle puts the bucket in the path (endpoint/bucket/key) instead
	// of the host name (bucket.endpoint/key), as most S3-compatible
	// servers on a plain address want.
	PathStyle bool
	// Region is the signing region. Default: the SDK's chain (AWS_REGION,
	// the shared config), else [DefaultRegion].
	Region string
	// AccessKeyID and SecretAccessKey are static credentials. Default
	// (both empty): the SDK's chain (AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, the shared credentials file and profile,
	// web identity, container and instance roles). They are never logged
	// nor put in errors.
	AccessKeyID, SecretAccessKey string
	// HTTPClient sends the requests. Default: the SDK's.
	HTTPClient *http.Client
}

// Store reads, lists, writes and deletes objects in an S3-compatible
// store. It implements [mediaroot.Store]. It is safe for concurrent use.
type Store struct {
	s3       *s3.Client
	endpoint string // for messages
}

// New loads the AWS SDK's configuration chain (the environment, the
// shared config and credentials files, roles), applies cfg over it and
// returns a Store. It sends no request. Credentials appear in no error.
//
// This is the one place the SDK reads its environment: commands call it,
// and pass the Store to the libraries that need one.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, fmt.Errorf("%w: give both AccessKeyID and SecretAccessKey, or neither (for the SDK's chain)", ErrConfig)
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(cfg.HTTPClient))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: loading the AWS SDK configuration: %w", ErrConfig, err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = DefaultRegion
	}
	endpoint := cfg.Endpoint
	if endpoint != "" && !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		return nil, fmt.Errorf("%w: endpoint %q is not an http:// or https:// URL", ErrConfig, endpoint)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Ask for checksums only where the operation needs one: the
		// gateway-side SHA-256 is what this project checks.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	if endpoint == "" && awsCfg.BaseEndpoint != nil {
		endpoint = *awsCfg.BaseEndpoint
	}
	return &Store{s3: client, endpoint: cmp.Or(endpoint, "AWS S3 ("+awsCfg.Region+")")}, nil
}

// GetObject opens bucket/key for reading. A missing bucket or key gives
// an error matching fs.ErrNotExist, a refused read (AccessDenied) one
// matching fs.ErrPermission; other errors (credentials refused, the
// service away) may go away when tried again.
func (s *Store) GetObject(ctx context.Context, bucket, key string) (io.ReadCloser, mediaroot.ObjectInfo, error) {
	out, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, mediaroot.ObjectInfo{}, s.explain("reading", bucket, key, err)
	}
	info := mediaroot.ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag)}
	if out.LastModified != nil {
		info.LastModified = *out.LastModified
	}
	return out.Body, info, nil
}

// List calls fn for each object under prefix in bucket, in key order,
// until fn returns an error (returned as it is) or ctx ends. Keys ending
// in "/" (folder markers) are left out.
func (s *Store) List(ctx context.Context, bucket, prefix string, fn func(mediaroot.ObjectInfo) error) error {
	p := s3.NewListObjectsV2Paginator(s.s3, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.explain("listing", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") {
				continue
			}
			info := mediaroot.ObjectInfo{Key: key, Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag)}
			if o.LastModified != nil {
				info.LastModified = *o.LastModified
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// Put stores size bytes of body as bucket/key, replacing any object of
// that key. body is read once: an io.ReadSeeker (an *os.File) has its
// payload hashed into the signature first, any other reader is streamed
// with an unsigned payload (the request itself is still signed).
func (s *Store) Put(ctx context.Context, bucket, key string, body io.Reader, size int64) error {
	var opts []func(*s3.Options)
	if _, ok := body.(io.ReadSeeker); !ok {
		opts = append(opts, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	}
	_, err := s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: body, ContentLength: aws.Int64(size)}, opts...)
	if err != nil {
		return s.explain("writing", bucket, key, err)
	}
	return nil
}

// Delete removes bucket/key; a missing object is not an error.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	if _, err := s.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil {
		err = s.explain("deleting", bucket, key, err)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// CreateBucket makes bucket; one that exists already and is ours is not
// an error.
func (s *Store) CreateBucket(ctx context.Context, bucket string) error {
	_, err := s.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "BucketAlreadyOwnedByYou" || ae.ErrorCode() == "BucketAlreadyExists") {
		return nil
	}
	if err != nil {
		return s.explain("creating", bucket, "", err)
	}
	return nil
}

// CheckAccess lists at most one key under prefix in bucket: a worker
// calls it at start-up, so that a missing bucket, refused credentials or
// an unreachable endpoint is a configuration error rather than every job
// failing.
func (s *Store) CheckAccess(ctx context.Context, bucket, prefix string) error {
	_, err := s.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, MaxKeys: aws.Int32(1)})
	if err != nil {
		return s.explain("listing", bucket, prefix, err)
	}
	return nil
}

// explain wraps an SDK error with what was done, where, and the sentinel
// of its class. The SDK's errors name no credentials.
func (s *Store) explain(op, bucket, key string, err error) error {
	where := "s3://" + bucket + "/" + key
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NoSuchBucket", "NotFound":
			return fmt.Errorf("objstore: %s %s at %s: %s: %w", op, where, s.endpoint, ae.ErrorCode(), fs.ErrNotExist)
		case "AccessDenied", "Forbidden", "AllAccessDisabled":
			return fmt.Errorf("objstore: %s %s at %s: %s: %w", op, where, s.endpoint, ae.ErrorCode(), fs.ErrPermission)
		}
		return fmt.Errorf("objstore: %s %s at %s: %s: %s", op, where, s.endpoint, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("objstore: %s %s at %s: %w", op, where, s.endpoint, err)
}
