package upload_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// fiveMB is a valid JPEG of 5 MB (5 << 20 bytes, the limit) whose bulk is
// comment segments of random bytes, which do not compress.
func fiveMB(b *testing.B) []byte {
	b.Helper()
	data, err := mediagen.JPEGOfSize(upload.MaxFileSize, 1)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// benchServer is an emulator that logs nothing, so the figures are the
// transfer's and the gateway's own work.
func benchServer(b *testing.B) *alipaytest.Server {
	return alipaytest.Start(b, alipaytest.Config{Logger: slog.New(slog.DiscardHandler)})
}

// BenchmarkUpload5MB uploads 5 MB to the emulator over loopback: the client
// streams, signs and verifies; the emulator parses the multipart stream,
// hashes and sniffs the file, checks the signature and signs its answer.
// Allocation figures cover client and emulator together (one process).
// Compare with BenchmarkPlainPost5MB in the same run.
func BenchmarkUpload5MB(b *testing.B) {
	srv := benchServer(b)
	keys := alipaytest.TestKeys()
	c, err := upload.New(upload.Config{
		GatewayURL:      srv.URL,
		AppID:           alipaytest.TestAppID,
		Signer:          sign.RSA2{Key: keys.App},
		AlipayPublicKey: srv.PublicKey(),
	})
	if err != nil {
		b.Fatal(err)
	}
	data := fiveMB(b)
	r := bytes.NewReader(data)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		res, err := c.Upload(ctx, upload.Request{Content: r, Size: int64(len(data)), ImageType: "jpg", ImageName: "bench.jpg"})
		if err != nil {
			b.Fatal(err)
		}
		if res.ImageID == "" {
			b.Fatal("no image_id")
		}
	}
	b.StopTimer()
	if got := srv.Stats().Successes; got < int64(b.N) {
		b.Fatalf("emulator counted %d successes for %d uploads", got, b.N)
	}
}

// BenchmarkPlainPost5MB is the baseline: a plain http.Post of the same
// bytes to the same server. It replays, from memory, the exact signed
// request the client produces for the 5 MB file (same URL, query, content
// type and multipart body), so the emulator does the same work as for
// BenchmarkUpload5MB; the gap between the two is what the client itself
// costs: signing, streaming through a pipe and verifying the answer.
func BenchmarkPlainPost5MB(b *testing.B) {
	srv := benchServer(b)
	data := fiveMB(b)
	url, contentType, body := recordRequest(b, srv, data)
	r := bytes.NewReader(body)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(body)
		resp, err := http.Post(url, contentType, r)
		if err != nil {
			b.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(answer, []byte(`"code":"10000"`)) {
			b.Fatalf("gateway answered %s: %.200s", resp.Status, answer)
		}
	}
	b.StopTimer()
	if got := srv.Stats().Successes; got < int64(b.N) {
		b.Fatalf("emulator counted %d successes for %d posts", got, b.N)
	}
}

// BenchmarkPlainPostSink5MB posts the raw 5 MB to the emulator's sink
// endpoint, which only drains the body: the cost of the transfer alone.
func BenchmarkPlainPostSink5MB(b *testing.B) {
	srv := benchServer(b)
	data := fiveMB(b)
	r := bytes.NewReader(data)
	url := srv.AdminURL("sink")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		resp, err := http.Post(url, "application/octet-stream", r)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("sink answered %s", resp.Status)
		}
	}
	b.StopTimer()
	if got := srv.Stats().SinkBytes; got < int64(b.N)*int64(len(data)) {
		b.Fatalf("sink received %d bytes for %d posts", got, b.N)
	}
}

// recordRequest lets the client upload data once through a recording proxy
// in front of srv and returns the request's URL (pointing at srv), content
// type and body bytes, for replay.
func recordRequest(b *testing.B, srv *alipaytest.Server, data []byte) (url, contentType string, body []byte) {
	b.Helper()
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		body, err = io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		url = srv.URL + "?" + r.URL.RawQuery
		contentType = r.Header.Get("Content-Type")
		resp, err := http.Post(url, contentType, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer rec.Close()
	keys := alipaytest.TestKeys()
	c, err := upload.New(upload.Config{
		GatewayURL:      rec.URL + "/gateway.do",
		AppID:           alipaytest.TestAppID,
		Signer:          sign.RSA2{Key: keys.App},
		AlipayPublicKey: srv.PublicKey(),
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Upload(context.Background(), upload.Request{Content: bytes.NewReader(data), Size: int64(len(data)), ImageType: "jpg", ImageName: "bench.jpg"}); err != nil {
		b.Fatalf("recording upload: %v", err)
	}
	if int64(len(body)) <= int64(len(data)) {
		b.Fatalf("recorded body has %d bytes for a %d-byte file", len(body), len(data))
	}
	return url, contentType, body
}

// BenchmarkUpload5MBClientOnly isolates the client: the same upload, to a
// server that only drains the body and returns an answer signed once in
// advance, so no per-request server work (parsing, hashing, RSA) remains.
// Its gap to BenchmarkPlainPost5MB is what streaming, signing and
// verifying cost the client.
func BenchmarkUpload5MBClientOnly(b *testing.B) {
	keys := alipaytest.TestKeys()
	const node = `{"code":"10000","msg":"Success","image_id":"bench","image_url":"http:\/\/alipaytest.invalid\/images\/bench"}`
	sig, err := sign.RSA2{Key: keys.Gateway}.Sign([]byte(node))
	if err != nil {
		b.Fatal(err)
	}
	answer := []byte(`{"` + alipayapi.ResponseNode + `":` + node + `,"sign":"` + sig + `"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	c, err := upload.New(upload.Config{
		GatewayURL:      srv.URL + "/gateway.do",
		AppID:           alipaytest.TestAppID,
		Signer:          sign.RSA2{Key: keys.App},
		AlipayPublicKey: &keys.Gateway.PublicKey,
	})
	if err != nil {
		b.Fatal(err)
	}
	data := fiveMB(b)
	r := bytes.NewReader(data)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		if _, err := c.Upload(ctx, upload.Request{Content: r, Size: int64(len(data)), ImageType: "jpg", ImageName: "bench.jpg"}); err != nil {
			b.Fatal(err)
		}
	}
}
