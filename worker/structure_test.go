package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Files as phones, cameras and editors write them, with data after the
// image's end marker, go through the whole pipeline (Redis, the worker
// that worker.New builds, the gateway emulator) and arrive byte for byte;
// the same files cut inside their image data are archived as corrupt and
// never arrive. Files larger than the first piece the worker reads before
// the request are checked while they are sent.
func TestDataAfterTheEndMarkerIsUploaded(t *testing.T) {
	t.Parallel()
	eachProtocol(t, testDataAfterTheEndMarkerIsUploaded)
}

func testDataAfterTheEndMarkerIsUploaded(t *testing.T, proto upload.Protocol) {
	e := startEnv(t, envOptions{protocol: proto})

	encode := func(format string, w, h int) []byte {
		data, err := mediagen.Encode(format, mediagen.Noise(w, h, uint64(w)))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	video, err := os.ReadFile(filepath.Join("..", "testdata", "media", "clip.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	photo := encode("jpg", 640, 480)
	motion, err := mediagen.MotionPhoto(photo, video)
	if err != nil {
		t.Fatal(err)
	}
	big := encode("jpg", 1000, 800)
	padded, err := mediagen.PadTo(big, validate.DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	png := encode("png", 320, 240)
	trailer := append(append([]byte(nil), png...), "\x00\x00written by some tool\n"...)

	files := []struct {
		name  string
		data  []byte
		image int // length of the image itself: cuts fall inside it
	}{
		{"motion.jpg", motion, len(motion) - len(video)},
		{"padded.jpg", padded, len(big)},
		{"trailer.png", trailer, len(png)},
	}
	if len(padded) != 5242880 {
		t.Fatalf("padded to %d bytes", len(padded))
	}

	type job struct {
		name, id string
		sum      string
		size     int
		ok       bool
	}
	var jobs []job
	for _, f := range files {
		p := payloadFor(t, e.file(t, f.name, f.data))
		jobs = append(jobs, job{f.name, e.enqueue(t, p), p.SHA256, len(f.data), true})
		for _, frac := range []float64{0.3, 0.6, 0.95} {
			cut := f.data[:int(float64(f.image)*frac)]
			name := fmt.Sprintf("cut-%02.0f-%s", frac*100, f.name)
			p := payloadFor(t, e.file(t, name, cut))
			jobs = append(jobs, job{name, e.enqueue(t, p), p.SHA256, len(cut), false})
		}
	}

	for _, j := range jobs {
		info := e.wait(t, j.id)
		if !j.ok {
			if info.State != asynq.TaskStateArchived || info.Retried != 0 ||
				!strings.HasPrefix(info.LastErr, "corrupt: ") || !strings.Contains(info.LastErr, "cut short") {
				t.Errorf("%s (%d bytes): %s; want archived at once as corrupt, cut short", j.name, j.size, describe(info))
			}
			continue
		}
		r := result(t, info)
		up, err := e.uploadByID(r.ImageID)
		if err != nil {
			t.Errorf("%s: %v", j.name, err)
			continue
		}
		if up.SHA256 != j.sum || up.Size != int64(j.size) || r.SHA256 != j.sum || up.ImageType != r.ImageType {
			t.Errorf("%s: the gateway recorded %d bytes with sha256 %s (type %s), the file has %d bytes and %s", j.name, up.Size, up.SHA256, up.ImageType, j.size, j.sum)
		}
	}
	// What the emulator recorded is exactly the three whole files.
	want := map[string]bool{}
	for _, f := range files {
		s := sha256.Sum256(f.data)
		want[hex.EncodeToString(s[:])] = true
	}
	uploads := e.gw.Uploads()
	for _, u := range uploads {
		if !want[u.SHA256] {
			t.Errorf("the gateway recorded an upload of %d bytes that is not one of the whole files", u.Size)
		}
	}
	if len(uploads) != len(files) {
		t.Errorf("the gateway recorded %d uploads, want %d", len(uploads), len(files))
	}
	// Cuts larger than the first piece started a request, which the
	// worker aborted before the body was complete.
	st := e.gw.Stats()
	for deadline := time.Now().Add(30 * time.Second); st.Aborted+st.Successes < st.Requests && time.Now().Before(deadline); st = e.gw.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("gateway stats: %+v", st)
	if st.Successes != int64(len(files)) || st.Aborted == 0 || st.Aborted+st.Successes != st.Requests {
		t.Errorf("gateway stats %+v: want %d successes, the other requests aborted", st, len(files))
	}
}
