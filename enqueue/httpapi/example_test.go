package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/enqueue/httpapi"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// exampleRoot makes a media root holding the sample file as name, and
// returns it with the file's bytes.
func exampleRoot(sample, name string) (string, []byte) {
	root, err := os.MkdirTemp("", "httpapi-example-")
	if err != nil {
		panic(err)
	}
	data, err := os.ReadFile(filepath.Join("../../testdata/media", sample))
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
		panic(err)
	}
	return root, data
}

func ExampleNew() {
	root, photo := exampleRoot("photo.jpg", "front.jpg")
	defer os.RemoveAll(root)

	client, err := tasks.NewClient(tasks.ClientConfig{
		RedisURL:   exampleRedisURL,
		MediaRoots: []string{root},
		Queue:      "example-api",
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	api, err := httpapi.New(httpapi.Config{
		Client:   client,
		Token:    "example-token-0123456789abcdef0123", // at least 32 bytes
		SpoolDir: filepath.Join(root, ".spool"),
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(api) // "enqueue serve" listens on 127.0.0.1:8080
	defer srv.Close()

	post := func(contentType string, body io.Reader) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/uploads", body)
		req.Header.Set("Authorization", "Bearer example-token-0123456789abcdef0123")
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var task httpapi.Task
		json.NewDecoder(resp.Body).Decode(&task)
		fmt.Println(resp.StatusCode, task.State, task.Duplicate, task.ImageName,
			strings.HasPrefix(resp.Header.Get("Location"), "/v1/uploads/upload:"))
	}

	// A file already inside a media root, named by its path.
	post("application/json", strings.NewReader(`{"path":"`+filepath.Join(root, "front.jpg")+`","image_name":"Shop 12 front"}`))

	// The same content sent as a file: already known, nothing new queued.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", "copy.jpg")
	part.Write(photo)
	mw.Close()
	post(mw.FormDataContentType(), &body)

	// Without the token.
	resp, err := http.Post(srv.URL+"/v1/uploads", "application/json", strings.NewReader(`{}`))
	if err != nil {
		panic(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(msg))
	// Output:
	// 202 pending false Shop 12 front true
	// 200 pending true Shop 12 front true
	// 401 {
	//   "error": {
	//     "code": "unauthorized",
	//     "message": "missing bearer token"
	//   }
	// }
}

// OpenAPI is the description the server serves at GET /openapi.yaml, for
// generating a client or checking one.
func ExampleOpenAPI() {
	first, _, _ := strings.Cut(string(httpapi.OpenAPI), "\n")
	fmt.Println(first)
	// Output: openapi: 3.0.3
}

func ExampleServer_EndWaits() {
	root, _ := exampleRoot("photo.png", "front.png")
	defer os.RemoveAll(root)
	client, err := tasks.NewClient(tasks.ClientConfig{RedisURL: exampleRedisURL, MediaRoots: []string{root}, Queue: "example-wait"})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	const token = "example-token-0123456789abcdef0123"
	api, err := httpapi.New(httpapi.Config{Client: client, Token: token})
	if err != nil {
		panic(err)
	}
	// Served by hand rather than by Serve, which calls EndWaits itself
	// when its context ends.
	srv := httptest.NewServer(api)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/v1/uploads", strings.NewReader(`{"path":"`+filepath.Join(root, "front.png")+`"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	// No worker serves this queue: the long poll would last its minute,
	// but the server is stopping.
	req, _ = http.NewRequest("GET", srv.URL+resp.Header.Get("Location")+"?wait=60s", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	time.AfterFunc(100*time.Millisecond, api.EndWaits)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var task httpapi.Task
	json.NewDecoder(resp.Body).Decode(&task)
	fmt.Println(resp.StatusCode, task.State, httpapi.MaxWait)
	// Output: 200 pending 1m0s
}
