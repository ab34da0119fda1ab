package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/badnames"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/validate"
)

const (
	mediaDir = "../../testdata/media"
	token    = "test-api-token-0123456789abcdef01"
)

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mediaDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type apiSetup struct {
	url   string
	root  string
	spool string
	redis *testproc.Redis
	http  *http.Client
	api   *httpapi.Server
}

func setup(t *testing.T, opts ...func(*httpapi.Config)) apiSetup {
	t.Helper()
	srv := testproc.StartRedis(t)
	root := t.TempDir()
	for _, n := range []string{"photo.jpg", "photo.png", "anim.gif", "bad/text.jpg"} {
		if err := os.WriteFile(filepath.Join(root, filepath.Base(n)), sample(t, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big := filepath.Join(root, "big.jpg")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, validate.DefaultMaxSize+1); err != nil {
		t.Fatal(err)
	}
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: srv.URL(), MediaRoots: []string{root}, Sealer: testSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	spool := filepath.Join(root, ".spool")
	cfg := httpapi.Config{Client: client, Token: token, SpoolDir: spool}
	for _, o := range opts {
		o(&cfg)
	}
	api, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api)
	t.Cleanup(hs.Close)
	return apiSetup{url: hs.URL, root: root, spool: spool, redis: srv, http: hs.Client(), api: api}
}

// answer is a decoded response.
type answer struct {
	status   int
	header   http.Header
	task     httpapi.Task
	errCode  string
	errorMsg string
}

func (s apiSetup) do(t *testing.T, method, path, contentType string, body io.Reader, auth string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, data)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(data, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %s: error body %s is not {error:{code,message}}", method, path, data)
		}
		a.errCode, a.errorMsg = e.Error.Code, e.Error.Message
		return a
	}
	if err := json.Unmarshal(data, &a.task); err != nil {
		t.Fatalf("%s %s: body %s: %v", method, path, data, err)
	}
	return a
}

func (s apiSetup) postJSON(t *testing.T, body string) answer {
	t.Helper()
	return s.do(t, "POST", "/v1/uploads", "application/json", strings.NewReader(body), "Bearer "+token)
}

// multipartBody streams a multipart body with the given fields and, unless
// file is nil, a "file" part.
func multipartBody(fields map[string]string, filename string, file io.Reader) (string, io.Reader) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, v := range fields {
			if err := mw.WriteField(k, v); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		if file != nil {
			part, err := mw.CreateFormFile("file", filename)
			if err == nil {
				_, err = io.Copy(part, file)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	return mw.FormDataContentType(), pr
}

func (s apiSetup) postFile(t *testing.T, fields map[string]string, filename string, file io.Reader) answer {
	t.Helper()
	ct, body := multipartBody(fields, filename, file)
	return s.do(t, "POST", "/v1/uploads", ct, body, "Bearer "+token)
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.Name() != ".refs" { // the sweep's records
			names = append(names, e.Name())
		}
	}
	return names
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := setup(t)
	body := `{"path":"` + filepath.Join(s.root, "photo.jpg") + `"}`
	for name, auth := range map[string]string{
		"missing":      "",
		"wrong":        "Bearer not-the-token",
		"other scheme": "Basic " + token,
		"prefix":       "Bearer " + token[:10],
	} {
		a := s.do(t, "POST", "/v1/uploads", "application/json", strings.NewReader(body), auth)
		if a.status != http.StatusUnauthorized || a.errCode != "unauthorized" || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("%s token: %d %s, WWW-Authenticate %q", name, a.status, a.errCode, a.header.Get("WWW-Authenticate"))
		}
	}
	if a := s.do(t, "GET", "/v1/uploads/x", "", nil, ""); a.status != http.StatusUnauthorized {
		t.Errorf("GET without token: %d", a.status)
	}
	if a := s.postJSON(t, body); a.status != http.StatusAccepted {
		t.Errorf("right token: %d %s", a.status, a.errorMsg)
	}

	// The description and the health check need no token.
	resp, err := s.http.Get(s.url + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(spec, httpapi.OpenAPI) || !bytes.Contains(spec, []byte("openapi: 3.")) {
		t.Errorf("GET /openapi.yaml: %d, %d bytes", resp.StatusCode, len(spec))
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err = s.http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}

	// /metrics needs the token, and counts the requests above by route
	// and status, never by the path a client made up.
	s.do(t, "GET", "/no/such/"+strings.Repeat("x", 20), "", nil, "")
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+"/metrics", nil)
	if resp, err = s.http.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the token: %d", resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err = s.http.Do(req); err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`alipay_media_api_requests_total{code="202",route="/v1/uploads"} 1`,
		`alipay_media_api_requests_total{code="200",route="/healthz"} 1`,
		`alipay_media_api_requests_total{code="404",route="other"} 1`,
		`alipay_media_api_request_duration_seconds_count{route="/openapi.yaml"} 1`,
		"alipay_media_build_info{", "process_resident_memory_bytes ",
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("GET /metrics: %d, lacks %s:\n%s", resp.StatusCode, want, metrics)
		}
	}
	if bytes.Contains(metrics, []byte("xxxxx")) {
		t.Error("a made-up path became a label value")
	}
}

func TestCreateFromPathAndRead(t *testing.T) {
	t.Parallel()
	s := setup(t)
	path := filepath.Join(s.root, "photo.jpg")
	a := s.postJSON(t, `{"path":"`+path+`","image_name":"门店 front","image_pid":"2088000000000002","app_auth_token":"merchant-token-xyz"}`)
	if a.status != http.StatusAccepted {
		t.Fatalf("POST: %d %s %s", a.status, a.errCode, a.errorMsg)
	}
	task := a.task
	if !strings.HasPrefix(task.TaskID, "upload:") || task.State != "pending" || task.Duplicate || task.Path != path ||
		task.ImageName != "门店 front" || task.ImageType != "jpg" || task.Size != 1353 || task.ImagePID != "2088000000000002" {
		t.Errorf("task = %+v", task)
	}
	loc := a.header.Get("Location")
	if loc != "/v1/uploads/"+url.PathEscape(task.TaskID) {
		t.Errorf("Location = %q", loc)
	}

	again := s.postJSON(t, `{"path":"`+path+`","image_pid":"2088000000000002","app_auth_token":"merchant-token-xyz"}`)
	if again.status != http.StatusOK || !again.task.Duplicate || again.task.TaskID != task.TaskID || again.header.Get("Location") != loc {
		t.Errorf("second POST: %d %+v", again.status, again.task)
	}
	// The caller is told that the earlier job is reused, and its name.
	if n := again.task.Note; again.task.ImageName != "门店 front" || !strings.Contains(n, "is reused and nothing new is queued") ||
		!strings.Contains(n, `it carries image_name "门店 front", not "photo.jpg"`) {
		t.Errorf("second POST: image_name %q, note %q", again.task.ImageName, n)
	}
	if task.Note != "" {
		t.Errorf("a new task has a note: %q", task.Note)
	}

	got := s.do(t, "GET", loc, "", nil, "Bearer "+token)
	if got.status != http.StatusOK || got.task.TaskID != task.TaskID || got.task.State != "pending" || got.task.MaxRetry != tasks.DefaultMaxRetry {
		t.Errorf("GET %s: %d %+v", loc, got.status, got.task)
	}
	if nf := s.do(t, "GET", "/v1/uploads/upload:unknown", "", nil, "Bearer "+token); nf.status != http.StatusNotFound || nf.errCode != "not_found" {
		t.Errorf("GET unknown: %d %s", nf.status, nf.errCode)
	}
	// The merchant token is stored for the worker but never returned.
	raw, err := json.Marshal(got.task)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "merchant-token-xyz") {
		t.Error("the app_auth_token came back in the task")
	}
}

func TestCreateRejections(t *testing.T) {
	t.Parallel()
	s := setup(t)
	outside := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(outside, sample(t, "photo.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"bad JSON", `{"path":`, 400, "invalid_json"},
		{"unknown field", `{"path":"/x","colour":"red"}`, 400, "invalid_json"},
		{"two objects", `{"path":"/x"}{}`, 400, "invalid_json"},
		{"no path", `{"image_name":"x"}`, 400, "invalid_request"},
		{"relative path", `{"path":"photo.jpg"}`, 400, "invalid_request"},
		{"outside the root", `{"path":"` + outside + `"}`, 403, "outside_roots"},
		{"traversal", `{"path":"` + s.root + `/../x.jpg"}`, 403, "traversal"},
		{"missing file", `{"path":"` + filepath.Join(s.root, "nope.jpg") + `"}`, 422, "not_found"},
		{"wrong type", `{"path":"` + filepath.Join(s.root, "text.jpg") + `"}`, 422, "unsupported_type"},
		{"declared type differs", `{"path":"` + filepath.Join(s.root, "photo.png") + `","image_type":"gif"}`, 422, "type_mismatch"},
		{"bad name", `{"path":"` + filepath.Join(s.root, "photo.png") + `","image_name":"a\nb"}`, 400, "bad_name"},
		{"too large", `{"path":"` + filepath.Join(s.root, "big.jpg") + `"}`, 413, "too_large"},
		{"body too large", `{"path":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "request_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := s.postJSON(t, c.body)
			if a.status != c.status || a.errCode != c.code {
				t.Errorf("%d %s (%s), want %d %s", a.status, a.errCode, a.errorMsg, c.status, c.code)
			}
			// The code is the reason; the message does not say it again.
			if strings.Contains(a.errorMsg, c.code) || strings.HasPrefix(a.errorMsg, "validate:") {
				t.Errorf("%s: message %q repeats the code or carries library wording", c.code, a.errorMsg)
			}
		})
	}
	t.Run("content type", func(t *testing.T) {
		t.Parallel()
		a := s.do(t, "POST", "/v1/uploads", "text/plain", strings.NewReader("x"), "Bearer "+token)
		if a.status != http.StatusUnsupportedMediaType || a.errCode != "unsupported_media_type" {
			t.Errorf("%d %s", a.status, a.errCode)
		}
	})
	t.Run("method", func(t *testing.T) {
		t.Parallel()
		a := s.do(t, "DELETE", "/v1/uploads", "", nil, "Bearer "+token)
		if a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("%d Allow %q", a.status, a.header.Get("Allow"))
		}
	})
}

func TestCreateFromMultipart(t *testing.T) {
	t.Parallel()
	s := setup(t)
	png := sample(t, "photo.png")
	a := s.postFile(t, map[string]string{"image_pid": "2088000000000002"}, "store front.PNG", bytes.NewReader(png))
	if a.status != http.StatusAccepted {
		t.Fatalf("POST file: %d %s %s", a.status, a.errCode, a.errorMsg)
	}
	task := a.task
	if task.ImageName != "store front.PNG" || task.ImageType != "png" || task.Size != int64(len(png)) || task.ImagePID != "2088000000000002" {
		t.Errorf("task = %+v", task)
	}
	// The file lies in the spool under its content hash.
	if want := filepath.Join(s.spool, task.SHA256+".png"); task.Path != want {
		t.Errorf("task path %q, want %q", task.Path, want)
	}
	if got, err := os.ReadFile(task.Path); err != nil || !bytes.Equal(got, png) {
		t.Errorf("spooled file differs: %v", err)
	}
	// The same content again: the known task, one spooled file.
	again := s.postFile(t, map[string]string{"image_pid": "2088000000000002", "image_name": "other"}, "x.png", bytes.NewReader(png))
	if again.status != http.StatusOK || !again.task.Duplicate || again.task.TaskID != task.TaskID {
		t.Errorf("second POST: %d %+v", again.status, again.task)
	}
	if names := spoolFiles(t, s.spool); len(names) != 1 {
		t.Errorf("spool holds %q, want one file", names)
	}

	// Rejected files are removed again.
	bad := []struct {
		name     string
		fields   map[string]string
		filename string
		file     io.Reader
		status   int
		code     string
	}{
		{"wrong type", nil, "a.jpg", bytes.NewReader(sample(t, "bad/text.jpg")), 422, "unsupported_type"},
		{"empty", nil, "a.jpg", bytes.NewReader(nil), 422, "empty"},
		{"declared type differs", map[string]string{"image_type": "jpg"}, "a.gif", bytes.NewReader(sample(t, "anim.gif")), 422, "type_mismatch"},
		{"file over 5 MiB", nil, "big.jpg", io.LimitReader(zeros{}, validate.DefaultMaxSize+1), 413, "too_large"},
		{"no file part", map[string]string{"image_name": "x"}, "", nil, 400, "invalid_request"},
		{"unknown field", map[string]string{"colour": "red"}, "a.png", bytes.NewReader(png), 400, "invalid_request"},
	}
	for _, c := range bad {
		a := s.postFile(t, c.fields, c.filename, c.file)
		if a.status != c.status || a.errCode != c.code {
			t.Errorf("%s: %d %s (%s), want %d %s", c.name, a.status, a.errCode, a.errorMsg, c.status, c.code)
		}
	}
	if names := spoolFiles(t, s.spool); len(names) != 1 {
		t.Errorf("after rejections the spool holds %q, want only the queued file", names)
	}
	// A body far over the limit is cut off.
	ct, body := multipartBody(nil, "huge.jpg", io.LimitReader(zeros{}, 64<<20))
	if a := s.do(t, "POST", "/v1/uploads", ct, body, "Bearer "+token); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("64 MiB body: %d %s", a.status, a.errCode)
	}
	if names := spoolFiles(t, s.spool); len(names) != 1 {
		t.Errorf("after the huge body the spool holds %q", names)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestRedisDownIs503(t *testing.T) {
	t.Parallel()
	s := setup(t)
	s.redis.Kill()
	a := s.postJSON(t, `{"path":"`+filepath.Join(s.root, "photo.jpg")+`"}`)
	if a.status != http.StatusServiceUnavailable || a.errCode != "unavailable" {
		t.Errorf("POST with Redis down: %d %s", a.status, a.errCode)
	}
	// The spooled file of a request that could not be queued is removed.
	if a := s.postFile(t, nil, "p.png", bytes.NewReader(sample(t, "photo.png"))); a.status != http.StatusServiceUnavailable {
		t.Errorf("POST file with Redis down: %d %s", a.status, a.errCode)
	}
	if names := spoolFiles(t, s.spool); len(names) != 0 {
		t.Errorf("spool holds %q", names)
	}
	// The process is alive, but not ready to queue anything.
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusServiceUnavailable} {
		resp, err := s.http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s with Redis down: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestUploadCompletesThroughWorker(t *testing.T) {
	t.Parallel()
	s := setup(t)
	workertest.Start(t, workertest.Config{RedisURL: "redis://" + s.redis.Addr() + "/0", MediaRoots: []string{s.root}})
	a := s.postFile(t, nil, "anim.gif", bytes.NewReader(sample(t, "anim.gif")))
	if a.status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", a.status, a.errorMsg)
	}
	loc := a.header.Get("Location")
	deadline := time.Now().Add(time.Minute)
	for {
		got := s.do(t, "GET", loc, "", nil, "Bearer "+token)
		if got.task.State == "completed" {
			var res tasks.Result
			if err := json.Unmarshal(got.task.Result, &res); err != nil || res.ImageID == "" || res.SHA256 != got.task.SHA256 {
				t.Errorf("result %s: %v", got.task.Result, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still %s", got.task.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMultipartUploadIsStreamed checks that a 5 MiB upload is not held in
// memory: the whole request allocates far less than the file's size. It
// does not run in parallel, so the allocation count is its own.
func TestMultipartUploadIsStreamed(t *testing.T) {
	s := setup(t)
	file := make([]byte, validate.DefaultMaxSize)
	// A JPEG cut inside its image data: the zeros after it do not end it.
	copy(file, sample(t, "bad/truncated.jpg"))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ct, body := multipartBody(nil, "big.jpg", bytes.NewReader(file))
	a := s.do(t, "POST", "/v1/uploads", ct, body, "Bearer "+token)
	runtime.ReadMemStats(&after)
	// The content is rejected (corrupt), but only after it was spooled,
	// hashed and checked.
	if a.status != http.StatusUnprocessableEntity {
		t.Fatalf("POST: %d %s %s", a.status, a.errCode, a.errorMsg)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("5 MiB upload: %d bytes allocated in total", alloc)
	if alloc > 2<<20 {
		t.Errorf("a 5 MiB upload allocated %d bytes; the file is buffered somewhere", alloc)
	}
}

// TestTokenTrimmedAndAtLeast32Bytes (issue 12, item 9): a token configured
// with white space around it (ENQUEUE_API_TOKEN='... ') is the token
// clients send; before, it locked every client out. A token shorter than
// 32 bytes is refused, without being quoted in the error.
func TestTokenTrimmedAndAtLeast32Bytes(t *testing.T) {
	t.Parallel()
	s := setup(t)
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: s.redis.URL(), MediaRoots: []string{s.root}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	api, err := httpapi.New(httpapi.Config{Client: client, Token: " " + token + " \n"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api)
	defer hs.Close()
	req, _ := http.NewRequest("POST", hs.URL+"/v1/uploads", strings.NewReader(`{"path":"`+filepath.Join(s.root, "photo.jpg")+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("token configured with spaces around it: %d, want 202", resp.StatusCode)
	}

	short := "short-token-0123456789abcdef012" // 31 bytes
	_, err = httpapi.New(httpapi.Config{Client: client, Token: short + "   "})
	if !errors.Is(err, httpapi.ErrConfig) || !strings.Contains(err.Error(), "31 bytes") || strings.Contains(err.Error(), short) {
		t.Errorf("31-byte token: %v; want ErrConfig giving the length, not the token", err)
	}
	if _, err := httpapi.New(httpapi.Config{Client: client, Token: "x"}); !errors.Is(err, httpapi.ErrConfig) {
		t.Errorf("1-byte token: %v, want ErrConfig", err)
	}
	if _, err := httpapi.New(httpapi.Config{Client: client, Token: short + "4"}); err != nil {
		t.Errorf("32-byte token: %v", err)
	}
}

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	if _, err := httpapi.New(httpapi.Config{Token: "x"}); !errors.Is(err, httpapi.ErrConfig) {
		t.Errorf("no client: %v", err)
	}
	root := t.TempDir()
	c, err := tasks.NewClient(tasks.ClientConfig{MediaRoots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := httpapi.New(httpapi.Config{Client: c}); !errors.Is(err, httpapi.ErrConfig) {
		t.Errorf("no token: %v", err)
	}
	if _, err := httpapi.New(httpapi.Config{Client: c, Token: token, SpoolDir: t.TempDir()}); !errors.Is(err, httpapi.ErrConfig) {
		t.Errorf("spool outside the roots: %v", err)
	}
}

// TestBadNamesSameAnswerJSONAndMultipart: each of the shared bad names gets
// the same answer (400 bad_name, same message) whether it comes in a JSON
// request, written as a program in another language writes it (invalid
// UTF-8 raw), or in a multipart field. Before, JSON replaced invalid UTF-8
// with U+FFFD and queued the task while multipart refused it, and both
// queued bidi overrides and zero-width names.
func TestBadNamesSameAnswerJSONAndMultipart(t *testing.T) {
	t.Parallel()
	s := setup(t)
	path := filepath.Join(s.root, "photo.png")
	png := sample(t, "photo.png")
	for _, c := range badnames.Cases {
		j := s.postJSON(t, `{"path":"`+path+`","image_name":`+badnames.JSONString(c.Name)+`}`)
		m := s.postFile(t, map[string]string{"image_name": c.Name}, "photo.png", bytes.NewReader(png))
		if j.status != http.StatusBadRequest || j.errCode != "bad_name" {
			t.Errorf("%s: JSON answered %d %s (%s), want 400 bad_name", c.Why, j.status, j.errCode, j.errorMsg)
		}
		if m.status != j.status || m.errCode != j.errCode || m.errorMsg != j.errorMsg {
			t.Errorf("%s: multipart answered %d %s (%s), JSON %d %s (%s)", c.Why, m.status, m.errCode, m.errorMsg, j.status, j.errCode, j.errorMsg)
		}
	}
	// A lone surrogate escape is invalid UTF-8 too, not U+FFFD.
	if a := s.postJSON(t, `{"path":"`+path+`","image_name":"a\ud800b"}`); a.status != http.StatusBadRequest || a.errCode != "bad_name" {
		t.Errorf("lone surrogate: %d %s (%s)", a.status, a.errCode, a.errorMsg)
	}
}

// testSealer seals app_auth_tokens with a new merchant key, as a server
// given a key file does.
func testSealer(t *testing.T) tasks.Sealer {
	t.Helper()
	k, err := merchant.NewKeyring(bytes.Repeat([]byte{7}, merchant.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return tasks.KeyringSealer(k)
}
