package sdktest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// sdkInput is what upload.js reads.
type sdkInput struct {
	API                 string `json:"api"` // "classic" or "v3"
	AppID               string `json:"app_id"`
	Gateway             string `json:"gateway"`
	Endpoint            string `json:"endpoint"`
	PrivateKeyFile      string `json:"private_key_file"`
	AlipayPublicKeyFile string `json:"alipay_public_key_file,omitempty"`
	AppCertFile         string `json:"app_cert_file,omitempty"`
	AlipayCertFile      string `json:"alipay_cert_file,omitempty"`
	RootCertFile        string `json:"root_cert_file,omitempty"`
	File                string `json:"file"`
	FileName            string `json:"file_name"`
	ImageType           string `json:"image_type"`
	ImageName           string `json:"image_name"`
	ImagePID            string `json:"image_pid,omitempty"`
	AppAuthToken        string `json:"app_auth_token,omitempty"`
}

// sdkOutput is what upload.js prints.
type sdkOutput struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Code     string `json:"code"`
	Status   int    `json:"status"`
	ImageID  string `json:"image_id"`
	ImageURL string `json:"image_url"`
	TraceID  string `json:"trace_id"`
}

// requireSDK fails (never skips) when node or the installed SDK is missing.
func requireSDK(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node not found: run `make deps` (installs nodejs, npm and, from the lock file, alipay-sdk): %v", err)
	}
	// go test runs in the package's directory, beside package.json and
	// the scripts.
	if _, err := os.Stat(filepath.Join("node_modules", "alipay-sdk", "package.json")); err != nil {
		wd, _ := os.Getwd()
		t.Fatalf("the official Alipay SDK is not installed (%v): run `make deps`, which runs `npm ci` in %s", err, wd)
	}
}

// runSDK runs upload.js with in.
func runSDK(t *testing.T, in sdkInput) sdkOutput {
	t.Helper()
	var out sdkOutput
	runNode(t, "upload.js", in, &out)
	return out
}

// runNode runs script (upload.js or auth.js) with in as its JSON argument,
// in Beijing's time zone, decodes the JSON line it prints into out and
// returns what it wrote on stderr.
func runNode(t *testing.T, script string, in, out any) string {
	t.Helper()
	arg, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "node", script, string(arg))
	cmd.Env = append(os.Environ(), "TZ=Asia/Shanghai")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstdout: %s\nstderr: %s", script, err, stdout.String(), stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("%s printed %q (%v); stderr: %s", script, stdout.String(), err, stderr.String())
	}
	return stderr.String()
}

// tamperer is a proxy in front of the emulator that changes one byte of
// every answer: a character of the image_id, which each protocol signs.
func tamperer(t *testing.T, srv *alipaytest.Server) *httptest.Server {
	t.Helper()
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Scheme, r.URL.Host = "http", strings.TrimPrefix(srv.BaseURL, "http://")
		r.RequestURI = ""
		r.Host = ""
		resp, err := srv.Client().Do(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if i := bytes.Index(b, []byte(`"image_id":"`)); i >= 0 {
			b[i+len(`"image_id":"`)] ^= 1
		}
		for k, v := range resp.Header {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(b)
	}))
	t.Cleanup(p.Close)
	return p
}

// TestOfficialSDK: the official SDK uploads to the emulator over both
// protocols, in both key modes, and verifies its answers; an answer changed
// by one byte is refused by the SDK and by upload.Client alike.
func TestOfficialSDK(t *testing.T) {
	requireSDK(t)
	t.Parallel()
	for _, mode := range []string{"public key", "certificate"} {
		for _, api := range []upload.Protocol{upload.Classic, upload.V3} {
			t.Run(mode+"/"+string(api), func(t *testing.T) {
				t.Parallel()
				testOfficialSDK(t, mode == "certificate", api)
			})
		}
	}
}

func testOfficialSDK(t *testing.T, certMode bool, api upload.Protocol) {
	const token = "202405BBsdktesttoken01"
	cfg := alipaytest.Config{AppAuthTokens: []string{token}}
	keyDir := t.TempDir()
	keys, err := alipaytest.TestKeys().WriteFiles(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	in := sdkInput{
		API:            string(api),
		AppID:          alipaytest.TestAppID,
		PrivateKeyFile: keys.AppPrivateKey,
		ImageType:      "png",
		ImageName:      "门店照片 " + string(api),
		FileName:       "storefront.png",
		ImagePID:       "2088000000000001",
		AppAuthToken:   token,
	}
	ccfg := upload.Config{Protocol: api, AppID: alipaytest.TestAppID}
	if certMode {
		certs := alipaytest.TestCerts()
		certs.Configure(&cfg)
		files, err := certs.WriteFiles(keyDir)
		if err != nil {
			t.Fatal(err)
		}
		in.AppCertFile, in.AlipayCertFile, in.RootCertFile = files.AppCert, files.AlipayCert, files.RootCert
		k, err := upload.CertKeysFromFiles(keys.AppPrivateKey, files.AppCert, files.AlipayCert, files.RootCert)
		if err != nil {
			t.Fatal(err)
		}
		k.Apply(&ccfg)
	} else {
		in.AlipayPublicKeyFile = keys.GatewayPublicKey
		k, err := upload.KeysFromFiles(keys.AppPrivateKey, keys.GatewayPublicKey)
		if err != nil {
			t.Fatal(err)
		}
		k.Apply(&ccfg)
	}
	srv := alipaytest.Start(t, cfg)
	file := mediagen.Sample("png", 7)
	in.File = filepath.Join(t.TempDir(), in.FileName)
	if err := os.WriteFile(in.File, file, 0o644); err != nil {
		t.Fatal(err)
	}

	// The SDK uploads, the emulator checks and records, the SDK verifies.
	in.Gateway, in.Endpoint = srv.URL, srv.BaseURL
	out := runSDK(t, in)
	if !out.OK {
		t.Fatalf("the official SDK failed: %+v", out)
	}
	ups := srv.Uploads()
	if len(ups) != 1 {
		t.Fatalf("the emulator recorded %d uploads, want 1", len(ups))
	}
	u := ups[0]
	sum := sha256.Sum256(file)
	if u.ImageID != out.ImageID || u.ImageURL != out.ImageURL || u.API != string(api) ||
		u.SHA256 != hex.EncodeToString(sum[:]) || u.Size != int64(len(file)) ||
		u.ImageName != in.ImageName || u.ImageType != "png" || u.ImagePID != in.ImagePID ||
		u.AppAuthToken != token || u.FileName != in.FileName || u.DetectedType != "png" {
		t.Errorf("the SDK got %+v; the emulator recorded %+v", out, u)
	}
	if out.TraceID != u.TraceID {
		t.Errorf("trace id: SDK %q, emulator %q", out.TraceID, u.TraceID)
	}

	// One byte of the answer changed on the way: both refuse it.
	proxy := tamperer(t, srv)
	in.Gateway, in.Endpoint = proxy.URL+alipaytest.GatewayPath, proxy.URL
	out = runSDK(t, in)
	if out.OK {
		t.Errorf("the official SDK accepted a tampered answer: %+v", out)
	}
	wantRefusal := "验签失败" // exec(): "验签失败，服务端返回的 sign ... 无效"
	if api == upload.V3 {
		wantRefusal = "response-signature-verify-error"
		if out.Code != wantRefusal {
			t.Errorf("SDK refusal %+v, want code %s", out, wantRefusal)
		}
	} else if !strings.Contains(out.Error, wantRefusal) {
		t.Errorf("SDK refusal %+v, want a message with %q", out, wantRefusal)
	}
	ccfg.GatewayURL, ccfg.V3Endpoint = proxy.URL+alipaytest.GatewayPath, proxy.URL
	ccfg.Logger = alipaytest.TestLogger(t)
	c, err := upload.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	req := func() upload.Request {
		return upload.Request{Content: bytes.NewReader(file), Size: int64(len(file)), ImageType: "png",
			ImageName: in.ImageName, ImagePID: in.ImagePID, AppAuthToken: token, FileName: in.FileName}
	}
	if _, err := c.Upload(t.Context(), req()); !errors.Is(err, upload.ErrBadSignature) {
		t.Errorf("upload.Client through the tampering proxy: %v, want ErrBadSignature", err)
	}
	// Untouched, the same client and the SDK agree on what was uploaded.
	ccfg.GatewayURL, ccfg.V3Endpoint = srv.URL, srv.BaseURL
	if c, err = upload.New(ccfg); err != nil {
		t.Fatal(err)
	}
	res, err := c.Upload(t.Context(), req())
	if err != nil {
		t.Fatalf("upload.Client: %v", err)
	}
	ups = srv.Uploads()
	last := ups[len(ups)-1]
	if last.ImageID != res.ImageID || last.SHA256 != u.SHA256 || last.API != u.API || last.ImageName != u.ImageName ||
		last.ContentType != u.ContentType || last.AppAuthToken != u.AppAuthToken {
		t.Errorf("upload.Client's upload recorded as %+v, the SDK's as %+v", last, u)
	}
}
