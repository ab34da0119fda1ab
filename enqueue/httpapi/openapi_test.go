package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
)

// TestAnswersMatchTheOpenAPIDocument sends real requests to a server with
// a worker behind it (new task, duplicate, rejected file, no token, unknown
// task, a file sent as multipart, a completed task through the long poll)
// and validates each request and answer against the OpenAPI document the
// server publishes, whose schemas allow no field they do not describe.
func TestAnswersMatchTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	s := setup(t)
	workertest.Start(t, workertest.Config{RedisURL: "redis://" + s.redis.Addr() + "/0", MediaRoots: []string{s.root}})

	exchange := validator(t, s)

	photo := filepath.Join(s.root, "photo.jpg")
	created := exchange("POST", "/v1/uploads", "application/json", []byte(`{"path":"`+photo+`","image_name":"Shop 12 front"}`), true, http.StatusAccepted)
	exchange("POST", "/v1/uploads", "application/json", []byte(`{"path":"`+photo+`","image_name":"another"}`), true, http.StatusOK)
	exchange("POST", "/v1/uploads", "application/json", []byte(`{"path":"`+filepath.Join(s.root, "text.jpg")+`"}`), true, http.StatusUnprocessableEntity)
	exchange("POST", "/v1/uploads", "application/json", []byte(`{"path":"`+photo+`"}`), false, http.StatusUnauthorized)
	exchange("GET", "/v1/uploads/upload:unknown", "", nil, true, http.StatusNotFound)

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "anim.gif")
	fw.Write(sample(t, "anim.gif"))
	mw.WriteField("image_name", "Shop 12 window")
	mw.Close()
	exchange("POST", "/v1/uploads", mw.FormDataContentType(), mp.Bytes(), true, http.StatusAccepted)

	// Found by its file, by a SHA-256 prefix and by its ID, in every queue.
	var created0 httpapi.Task
	if err := json.Unmarshal(created, &created0); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{photo, created0.SHA256[:8], created0.TaskID} {
		var found httpapi.Found
		answer := exchange("GET", "/v1/uploads?ref="+url.QueryEscape(ref), "", nil, true, http.StatusOK)
		if err := json.Unmarshal(answer, &found); err != nil || len(found.Tasks) != 1 || found.Tasks[0].TaskID != created0.TaskID {
			t.Errorf("find %s: %s (%v)", ref, answer, err)
		}
	}
	exchange("GET", "/v1/uploads?ref=abc", "", nil, true, http.StatusBadRequest)
	exchange("GET", "/v1/uploads?ref=00000000", "", nil, true, http.StatusNotFound)
	exchange("GET", "/v1/uploads?ref="+url.QueryEscape("/etc/passwd"), "", nil, true, http.StatusForbidden)

	// The first task, once completed, with its result.
	var task httpapi.Task
	if err := json.Unmarshal(created, &task); err != nil {
		t.Fatal(err)
	}
	id := url.PathEscape(task.TaskID)
	for i := 0; ; i++ {
		answer := exchange("GET", "/v1/uploads/"+id+"?wait=30s", "", nil, true, http.StatusOK)
		var got httpapi.Task
		if err := json.Unmarshal(answer, &got); err != nil {
			t.Fatal(err)
		}
		if got.State == "completed" {
			if !strings.Contains(string(got.Result), `"image_id"`) {
				t.Errorf("a completed task without its result: %s", answer)
			}
			break
		}
		if i == 5 {
			t.Fatalf("the task did not complete: %s", answer)
		}
	}
}

// validator returns a function that sends a request to s, checks its
// status, validates the request and the answer against the OpenAPI
// document the server publishes, and returns the answer's body.
func validator(t *testing.T, s apiSetup) func(method, path, contentType string, body []byte, auth bool, wantStatus int) []byte {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: s.url}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}

	return func(method, path, contentType string, body []byte, auth bool, wantStatus int) []byte {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, s.url+path, bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := s.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, wantStatus, answer)
		}
		// Validate what was sent and what came back against the document.
		req.Body = io.NopCloser(bytes.NewReader(body))
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s is not in the document: %v", method, path, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: bearerOnly(auth)}}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && auth {
			t.Errorf("%s %s: the request does not match the document: %v", method, path, err)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
			Header: resp.Header, Body: io.NopCloser(bytes.NewReader(answer)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s: the %d answer does not match the document: %v\n%s", method, path, resp.StatusCode, err, answer)
		}
		return answer
	}
}

// bearerOnly checks the document's security scheme on a request: the
// token was sent when auth is true.
func bearerOnly(auth bool) openapi3filter.AuthenticationFunc {
	return func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
		if !auth {
			return in.NewError(errNoToken)
		}
		return nil
	}
}

var errNoToken = errors.New("no bearer token")
