package tasks

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/storemedia/alipay-media-worker/mediaroot"
	"github.com/storemedia/alipay-media-worker/validate"
)

// objectReadTimeout bounds one attempt's reading of an object from the
// store, the upload it streams into included (the upload client's own
// timeout is shorter by default): a stalled store is then a failed
// attempt, retried, rather than a worker slot held forever.
const objectReadTimeout = 10 * time.Minute

// processObject uploads the object of p (an s3:// URL), read once from
// the store: through the structure check, the SHA-256 check against what
// was recorded at enqueue, and into the upload, the last chunk held back
// until both pass (as a local file is sent). An object replaced since
// enqueue is refused as changed: its size first, its SHA-256 always.
//
// A job asking for conversion on a worker that converts is spooled to a
// temporary file first (the converter reads its input more than once),
// then goes the way of a local file; the converter checks the SHA-256.
func (h *Handler) processObject(ctx context.Context, p UploadPayload, attempt int) (Result, error) {
	oo, ok := h.roots.(ObjectOpener)
	if !ok {
		return Result{}, rejected(Reason(mediaroot.ReasonOutsideRoots), fmt.Errorf("%w: %q: this worker reads no objects", mediaroot.ErrOutsideRoots, p.Path))
	}
	// The attempt runs to its end whatever asynq says (see ProcessTask):
	// a store that stops sending must not hold it forever.
	ctx, cancel := context.WithTimeout(ctx, objectReadTimeout)
	defer cancel()
	obj, err := oo.OpenObject(ctx, p.Path)
	if err != nil {
		return Result{}, openFailed(err)
	}
	defer obj.Close()
	if obj.Info.Size != p.Size {
		return Result{}, rejected(reasonChanged, fmt.Errorf("%w: %s is %d bytes, was %d", ErrChanged, p.Path, obj.Info.Size, p.Size))
	}
	if p.Convert && h.conv != nil {
		return h.spoolAndProcess(ctx, p, obj, attempt)
	}
	want, _ := hex.DecodeString(p.SHA256) // checked by Validate
	head := &headKeeper{r: obj, max: int(min(p.Size, validate.HeadSize))}
	up, info, err := h.send(ctx, p, head, p.Size, want, p.ImageType)
	if err != nil {
		return Result{}, addHint(err, bytes.NewReader(head.buf), p, h.conv != nil)
	}
	return h.result(p, up, info, attempt, nil), nil
}

// spoolAndProcess copies the object to a temporary file (the worker's
// TMPDIR), removed after the attempt, and processes it as a local file.
func (h *Handler) spoolAndProcess(ctx context.Context, p UploadPayload, obj *mediaroot.Object, attempt int) (Result, error) {
	tmp, err := os.CreateTemp("", "object-*.spool")
	if err != nil {
		return Result{}, retried(reasonConvert, fmt.Errorf("tasks: spooling %s for conversion: %w", p.Path, err))
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	// One byte more than recorded tells a grown object from a whole one.
	n, err := io.Copy(tmp, io.LimitReader(obj, p.Size+1))
	if err != nil {
		return Result{}, retried(reasonRead, fmt.Errorf("tasks: reading %s: %w", p.Path, err))
	}
	return h.processFile(ctx, p, tmp, n, attempt)
}

// headKeeper passes r through and keeps its first max bytes, for the
// conversion hint of a refusal.
type headKeeper struct {
	r   io.Reader
	max int
	buf []byte
}

func (k *headKeeper) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if room := k.max - len(k.buf); room > 0 && n > 0 {
		k.buf = append(k.buf, p[:min(n, room)]...)
	}
	return n, err
}
