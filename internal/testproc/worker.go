package testproc

import (
	"os"

	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// WorkerConfig says where a cmd/worker child process finds its queue, its
// gateway and its files.
type WorkerConfig struct {
	// RedisURL is the worker's REDIS_URL.
	RedisURL string
	// GatewayURL is the gateway emulator's URL.
	GatewayURL string
	// Keys are the application's private key and the gateway's public key
	// (alipaytest.Keys.WriteFiles); the worker signs as
	// alipaytest.TestAppID.
	Keys alipaytest.KeyFiles
	// MediaRoot is the one directory the worker reads files from.
	MediaRoot string
	// Env holds further settings (VAR=value), which win over the ones
	// above and over HTTP_ADDR=off.
	Env []string
}

// NewWorker returns a cmd/worker child process (bin, built by [Build])
// named name, not started: its environment is this process's, then cfg's
// settings, with HTTP_ADDR=off so that several workers share a host.
func NewWorker(name, bin string, cfg WorkerConfig) *Proc {
	env := append(os.Environ(),
		"REDIS_URL="+cfg.RedisURL,
		"ALIPAY_GATEWAY_URL="+cfg.GatewayURL,
		"ALIPAY_APP_ID="+alipaytest.TestAppID,
		"ALIPAY_PRIVATE_KEY_FILE="+cfg.Keys.AppPrivateKey,
		"ALIPAY_PUBLIC_KEY_FILE="+cfg.Keys.GatewayPublicKey,
		"MEDIA_ROOTS="+cfg.MediaRoot,
		"HTTP_ADDR=off",
	)
	return &Proc{Name: name, Path: bin, Env: append(env, cfg.Env...)}
}
