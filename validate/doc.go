// Package validate decides whether a file may be sent to Alipay's
// alipay.offline.material.image.upload, so that no file Alipay would refuse
// or store broken reaches it whole.
//
// A caller hands the file to [Validator.Check] as an io.ReaderAt with its
// size, the declared image_type and the image_name, or writes it through a
// [Stream] while it sends or hashes it, and either gets back an [Info] (the
// real type, its content type for the multipart part, the image
// dimensions) or a [*Error] saying what is wrong. Rejections are permanent:
// retrying will not make a file smaller or less corrupt.
//
// # What is checked
//
//   - image_name ([CheckName], the rule of every entry point): not empty,
//     valid UTF-8, at most 128 characters, no control characters, no
//     bidirectional override, embedding or isolate characters (U+202A to
//     U+202E, U+2066 to U+2069), and at least one visible character (not
//     only white space, zero-width or other invisible characters).
//   - image_type: 1 to 8 ASCII letters or digits naming an allowed type.
//     "jpeg" and "jpg" are one type whose canonical name is "jpg"; case does
//     not matter. An empty declared type in Check means "tell me".
//   - size: more than 0 bytes and at most Config.MaxSize (5 MiB by default:
//     5,242,880 bytes pass, 5,242,881 do not).
//   - the real type, sniffed from the first bytes with
//     github.com/h2non/filetype, must be allowed (jpg, png, gif, bmp, mp4 by
//     default) and equal to the declared one. A QuickTime movie (brand
//     "qt  ", reported as "mov") is not MP4 and is refused as unsupported.
//   - structure, followed from the first byte to the format's end marker,
//     with a fixed amount of memory: a JPEG's marker segments and the
//     entropy-coded data of every scan (progressive files have many;
//     stuffed FF 00 bytes and restart markers are skipped) up to EOI; a
//     PNG's chunks, each length and CRC, up to IEND; a GIF's blocks and
//     sub-blocks up to its trailer; a BMP's headers, whose pixel array must
//     fit in the file; an MP4's top-level boxes, which must start with
//     ftyp, cover the file exactly (an mdat cut short shows) and include
//     moov and mdat. What follows the end marker does not matter (phones
//     append a video to a motion photo, cameras and editors pad or append
//     trailers) and does not change the detected type. A file that ends
//     before its structure does is refused as cut short (corrupt), and so
//     are damaged headers and zero-dimension images. JPEGs in codings
//     common viewers cannot display (arithmetic, lossless, hierarchical,
//     12-bit) are refused as unsupported. The walk checks structure, not
//     pixels: it does not inflate PNG data or decode Huffman or LZW codes.
//
// # Checking while reading
//
// [Validator.Check] reads a file once, in order, and leaves unread what the
// structure says is not needed (an MP4's sample data, a BMP's pixels, what
// follows an end marker). When the bytes are read anyway, to be sent or
// hashed, [Validator.Begin] returns a [Stream] to write them to instead:
// checking then costs no extra read. The worker checks a file this way
// while it uploads it, holding back the last piece of the body until the
// verdict is in; the importer checks a file while it hashes it.
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
