package tasks

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Converter turns a photo the gateway refuses into a JPEG it accepts;
// *convert.Converter implements it. It answers [convert.ErrNotNeeded] for
// a file to send as it is.
type Converter interface {
	Convert(ctx context.Context, r io.ReaderAt, size int64) (*convert.Result, error)
}

// reasonConvert labels a conversion that failed for a reason other than
// the file (scratch space, a read error): retried.
const reasonConvert Reason = "convert"

// convertFile asks the converter about the file of p, read through f. It
// returns nil and no error when the file goes on as it is: acceptable, or
// one conversion cannot help (PNG, GIF, BMP, MP4, other types), which the
// validator then refuses exactly as without conversion. A converted file
// is checked against the hash recorded at enqueue time, through the
// original's bytes the converter read; remove it once the attempt is over.
func (h *Handler) convertFile(ctx context.Context, f io.ReaderAt, p UploadPayload) (*convert.Result, error) {
	res, err := h.conv.Convert(ctx, f, p.Size)
	var ce *convert.Error
	switch {
	case err == nil:
	case errors.Is(err, convert.ErrNotNeeded), errors.Is(err, convert.ErrNotConvertible), errors.Is(err, convert.ErrUnavailable):
		return nil, nil
	case errors.As(err, &ce):
		return nil, rejected(Reason(ce.Reason), err)
	default:
		return nil, retried(reasonConvert, fmt.Errorf("tasks: converting the file: %w", err))
	}
	if res.SourceSHA256 != p.SHA256 || res.BytesBefore != p.Size {
		_ = res.Remove()
		return nil, rejected(reasonChanged, fmt.Errorf("%w: sha256 differs", ErrChanged))
	}
	return res, nil
}

// sendConverted uploads a converted file as image_type jpg, checked and
// hashed while it is sent as an original is. The result keeps the
// original's SHA-256 and size, and records the conversion.
func (h *Handler) sendConverted(ctx context.Context, p UploadPayload, res *convert.Result, attempt int) (Result, error) {
	f, err := res.Open()
	if err != nil {
		return Result{}, retried(reasonConvert, fmt.Errorf("tasks: opening the converted file: %w", err))
	}
	defer f.Close()
	want, err := hex.DecodeString(res.SHA256)
	if err != nil {
		return Result{}, retried(reasonConvert, fmt.Errorf("tasks: the converted file's sha256 %q: %w", res.SHA256, err))
	}
	// The declared image_type described the original; what is sent is
	// the converter's JPEG.
	up, info, err := h.send(ctx, p, io.NewSectionReader(f, 0, res.BytesAfter), res.BytesAfter, want, "")
	if err != nil {
		return Result{}, err
	}
	rec := res.Record
	return h.result(p, up, info, attempt, &rec), nil
}

// convertHint is the advice added to a refusal for size or type when the
// file is a photo conversion could fix: a HEIC/HEIF or WebP photo
// (unsupported_type) or a JPEG over the limit (too_large). typ is the
// content's type as validate.Sniff names it; asked tells whether the job
// asked for conversion and allowed whether this side would convert. It is
// "" when conversion would not help.
func convertHint(reason validate.Reason, typ string, asked, allowed bool) string {
	var what string
	switch {
	case reason == validate.ReasonUnsupportedType && (typ == "heif" || typ == "webp"):
		what = "a HEIC/HEIF or WebP photo can be converted to JPEG"
	case reason == validate.ReasonTooLarge && typ == "jpg":
		what = "a JPEG over the limit can be re-encoded to fit"
	default:
		return ""
	}
	switch {
	case !asked:
		return what + ": queue it with conversion (enqueue --convert, \"convert\": true in the HTTP API, UploadRequest.Convert in Go) for a worker with UPLOAD_CONVERT=on"
	case !allowed:
		return what + ", and the job asks for it, but this worker does not convert: run it with UPLOAD_CONVERT=on, built with -tags vips"
	}
	return ""
}

// ConvertHint is the advice for a file refused for reason (too_large,
// unsupported_type) before it was queued, when conversion could fix it:
// head is the start of the file (at least [validate.HeadSize] bytes when
// the file has them). It is "" when conversion would not help.
func ConvertHint(reason validate.Reason, head []byte) string {
	return convertHint(reason, validate.Sniff(head), false, true)
}

// withHint returns the validator's refusal ve with the conversion hint for
// the file read through f added to its fix, or ve itself when conversion
// would not help. Only the advice changes: the reason stays the same.
func withHint(ve *validate.Error, f io.ReaderAt, size int64, asked, allowed bool) *validate.Error {
	if ve.Reason != validate.ReasonUnsupportedType && ve.Reason != validate.ReasonTooLarge {
		return ve
	}
	head := make([]byte, min(size, validate.HeadSize))
	if n, _ := f.ReadAt(head, 0); n < len(head) {
		return ve
	}
	hint := convertHint(ve.Reason, validate.Sniff(head), asked, allowed)
	if hint == "" {
		return ve
	}
	out := *ve
	if out.Fix == "" {
		out.Fix = hint
	} else {
		out.Fix += "; or " + hint
	}
	return &out
}

// uploadRequest is the gateway request of p's file, read from body.
func uploadRequest(p UploadPayload, body io.Reader, size int64, info validate.Info) upload.Request {
	return upload.Request{
		Content:      body,
		Size:         size,
		ImageType:    info.Type,
		ImageName:    p.ImageName,
		ImagePID:     p.ImagePID,
		AppAuthToken: p.AppAuthToken,
		ContentType:  info.MIME,
	}
}
