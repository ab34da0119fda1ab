// Package validate decides whether a file may be sent to Alipay's
// alipay.offline.material.image.upload, before any byte of it goes out.
//
// A worker opens the file, hands it to [Validator.Check] as an io.ReaderAt
// with its size, the declared image_type and the image_name, and either gets
// back an [Info] (the real type, its content type for the multipart part,
// the image dimensions) or a [*Error] saying what is wrong. Rejections are
// permanent: retrying will not make a file smaller or less corrupt.
//
// # What is checked
//
//   - image_name: not empty or blank, valid UTF-8, at most 128 characters,
//     no control characters.
//   - image_type: 1 to 8 ASCII letters or digits naming an allowed type.
//     "jpeg" and "jpg" are one type whose canonical name is "jpg"; case does
//     not matter. An empty declared type in Check means "tell me".
//   - size: more than 0 bytes and at most Config.MaxSize (5 MiB by default:
//     5,242,880 bytes pass, 5,242,881 do not).
//   - the real type, sniffed from the first bytes with
//     github.com/h2non/filetype, must be allowed (jpg, png, gif, bmp, mp4 by
//     default) and equal to the declared one. A QuickTime movie (brand
//     "qt  ", reported as "mov") is not MP4 and is refused as unsupported.
//   - structure: the header must parse and the end must be where it should
//     be, so a truncated file is refused here rather than by Alipay. JPEG
//     must end with FF D9, PNG with its IEND chunk, GIF with 0x3B; a BMP's
//     header must describe pixel data that fits in the file; an MP4's
//     top-level boxes must start with ftyp, tile the file exactly and
//     include moov. JPEGs in codings few viewers can display (arithmetic,
//     lossless, 12-bit) are refused as unsupported.
//
// Only the head of the file, its last bytes and (for MP4) the top-level box
// headers are read, so checking a 5 MB video costs a few small reads.
//
// # Errors
//
// Every rejection is an [*Error] whose Reason is one of a fixed set of
// strings (empty, too_large, unsupported_type, type_mismatch, corrupt,
// bad_name, bad_image_type), suitable as a metric label or a manifest
// column; [ReasonOf] extracts it from any error chain. Each reason has a
// sentinel for errors.Is ([ErrEmpty], [ErrTooLarge], ...). The message says
// what was found, what is allowed and what to do. A failure to read the
// file is not a rejection: it comes back as a plain wrapped error, with
// ReasonOf returning "".
//
// A [Validator] is immutable once built by [New] and safe for concurrent
// use.
package validate
