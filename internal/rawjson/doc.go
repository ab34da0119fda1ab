// Package rawjson decodes JSON strings without hiding what they held.
//
// encoding/json replaces invalid UTF-8 in a string, and a \u escape of a
// lone surrogate, with U+FFFD, silently: a name that a multipart form
// refuses as "not valid UTF-8" would pass in JSON as a different name.
// [String] keeps such bytes as they were (a lone surrogate escape becomes
// its three-byte form, which is not valid UTF-8 either), so that the one
// rule that checks the text (validate.CheckName for image_name) sees the
// same thing whichever way it arrived.
package rawjson
