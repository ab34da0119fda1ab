package s3env

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/objstore"
)

// Vars are the object store settings, for a command's table and --help.
var Vars = []command.Var{
	{Name: "S3_ENDPOINT", Usage: "S3-compatible service for s3:// media roots and spools, e.g. http://127.0.0.1:7070 (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS S3 of AWS_REGION); credentials from the AWS SDK's chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, shared files, roles), never logged"},
	{Name: "S3_PATH_STYLE", Usage: "true: bucket in the path (endpoint/bucket/key), as most S3-compatible servers want; false: in the host name (AWS S3, Alibaba Cloud OSS) (default: true when an endpoint is set, else false)"},
}

// Config reads the settings through getenv. The AWS variables it reads
// (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY) are those of the SDK's chain, which reads the
// rest (profiles, shared files, roles) itself.
func Config(getenv func(string) string) (objstore.Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := objstore.Config{
		Endpoint: get("S3_ENDPOINT"),
		Region:   get("AWS_REGION"),
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = get("AWS_ENDPOINT_URL_S3")
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = get("AWS_ENDPOINT_URL")
	}
	if id, secret := get("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		cfg.AccessKeyID, cfg.SecretAccessKey = id, secret
	}
	cfg.PathStyle = cfg.Endpoint != ""
	if s := get("S3_PATH_STYLE"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return objstore.Config{}, command.Usagef("S3_PATH_STYLE: %q is not true or false", s)
		}
		cfg.PathStyle = b
	}
	return cfg, nil
}

// Open reads the settings and returns the store. It sends no request.
func Open(ctx context.Context, getenv func(string) string) (*objstore.Store, error) {
	cfg, err := Config(getenv)
	if err != nil {
		return nil, err
	}
	s, err := objstore.New(ctx, cfg)
	if err != nil {
		return nil, command.UsageError(fmt.Errorf("S3_ENDPOINT / AWS settings: %w", err))
	}
	return s, nil
}
