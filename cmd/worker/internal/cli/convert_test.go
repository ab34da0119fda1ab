package cli

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

// TestConvertCheck runs in both builds. With libvips linked (-tags vips),
// UPLOAD_CONVERT=on passes the start-up checks and --check says
// conversion is available; without it, it is a configuration error (exit
// 2) that says how to build a worker that converts. Off, --check says
// conversion is off and whether this build could convert.
func TestConvertCheck(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	var out syncbuf.Buffer
	env := workingEnv(t, rs.URL(), "UPLOAD_CONVERT", "on", "UPLOAD_CONVERT_SCRATCH_DIR", t.TempDir(), "LOG_FORMAT", "json")
	code := Main(context.Background(), []string{"--check"}, env, &out, &out)
	if convert.Available() {
		if code != command.ExitOK || !strings.Contains(out.String(), `"msg":"conversion on and available: this build links libvips (-tags vips)"`) {
			t.Errorf("exit code %d; --check does not report conversion available:\n%s", code, out.String())
		}
	} else {
		if code != command.ExitUsage {
			t.Errorf("exit code %d, want %d", code, command.ExitUsage)
		}
		for _, want := range []string{"UPLOAD_CONVERT: ", "built without libvips", "go build -tags vips ./cmd/worker", "libvips-dev"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output does not say %q:\n%s", want, out.String())
			}
		}
	}

	out = syncbuf.Buffer{}
	env = workingEnv(t, rs.URL(), "LOG_FORMAT", "json")
	if code := Main(context.Background(), []string{"--check"}, env, &out, &out); code != command.ExitOK {
		t.Fatalf("exit code %d; output:\n%s", code, out.String())
	}
	want := `"msg":"conversion off (UPLOAD_CONVERT=off)","available_in_this_build":` + strconv.FormatBool(convert.Available())
	if !strings.Contains(out.String(), want) {
		t.Errorf("--check does not say %s:\n%s", want, out.String())
	}
}
