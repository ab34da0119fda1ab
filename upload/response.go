package upload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/sign"
)

// envelope holds the top-level members of a gateway answer that matter:
// the raw bytes of the response node's value, exactly as they appear in the
// body, and the decoded sign.
type envelope struct {
	name    string // the method's node or alipayapi.ErrorNode
	raw     []byte // the node's value, from '{' to the matching '}'
	sign    string
	hasSign bool
}

// splitEnvelope walks the top-level object of body token by token and
// returns the response node (node, the method's, or error_response) and the
// sign. It rejects malformed JSON, a top level that is not an object, a
// node key that appears twice, a body holding both nodes or neither, and a
// node that is not an object. All its errors wrap [ErrBadResponse].
func splitEnvelope(body []byte, node string) (envelope, error) {
	var env envelope
	if !json.Valid(body) {
		return env, fmt.Errorf("%w: not valid JSON", ErrBadResponse)
	}
	s := scanner{b: body}
	s.space()
	if !s.eat('{') {
		return env, fmt.Errorf("%w: top level is not an object", ErrBadResponse)
	}
	var method, errResp []byte
	var seenMethod, seenErr bool
	s.space()
	if s.eat('}') {
		return env, fmt.Errorf("%w: empty object", ErrBadResponse)
	}
	for {
		s.space()
		kstart := s.i
		s.skipString()
		key, err := decodeKey(body[kstart:s.i])
		if err != nil {
			return env, err
		}
		s.space()
		s.eat(':')
		s.space()
		vstart := s.i
		s.skipValue()
		val := body[vstart:s.i]
		switch key {
		case node:
			if seenMethod {
				return env, fmt.Errorf("%w: %s appears twice", ErrBadResponse, node)
			}
			seenMethod, method = true, val
		case alipayapi.ErrorNode:
			if seenErr {
				return env, fmt.Errorf("%w: %s appears twice", ErrBadResponse, alipayapi.ErrorNode)
			}
			seenErr, errResp = true, val
		case "sign":
			if env.hasSign {
				return env, fmt.Errorf("%w: sign appears twice", ErrBadResponse)
			}
			if err := json.Unmarshal(val, &env.sign); err != nil {
				return env, fmt.Errorf("%w: sign is not a string", ErrBadResponse)
			}
			env.hasSign = true
		}
		s.space()
		if s.eat('}') {
			break
		}
		s.eat(',')
	}
	switch {
	case seenMethod && seenErr:
		return env, fmt.Errorf("%w: both %s and %s present", ErrBadResponse, node, alipayapi.ErrorNode)
	case seenMethod:
		env.name, env.raw = node, method
	case seenErr:
		env.name, env.raw = alipayapi.ErrorNode, errResp
	default:
		return env, fmt.Errorf("%w: no %s node", ErrBadResponse, node)
	}
	if len(env.raw) == 0 || env.raw[0] != '{' {
		return env, fmt.Errorf("%w: %s is not an object", ErrBadResponse, env.name)
	}
	return env, nil
}

// decodeKey returns the text of a raw JSON string token. Keys without
// escapes (all real ones) are returned without decoding.
func decodeKey(raw []byte) (string, error) {
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", fmt.Errorf("%w: bad object key", ErrBadResponse)
	}
	return k, nil
}

// scanner moves over JSON text already checked by json.Valid, so it only
// needs to find where each value ends.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// skipString moves past a string starting at s.i (on its opening quote),
// honouring backslash escapes.
func (s *scanner) skipString() {
	s.i++ // opening quote
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return
		default:
			s.i++
		}
	}
}

// skipValue moves past one value of any kind. Brackets inside strings do
// not count.
func (s *scanner) skipValue() {
	if s.i >= len(s.b) {
		return
	}
	switch s.b[s.i] {
	case '"':
		s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return
				}
			}
			s.i++
		}
	default: // number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return
			}
			s.i++
		}
	}
}

// verifyNode checks sig over the node's raw text and, when that fails and
// the text holds "\/", over the text with "\/" turned into "/" (some
// gateways sign the unescaped form). Errors wrap [ErrBadSignature].
func verifyNode(v sign.Verifier, raw []byte, sig string) error {
	err := v.Verify(raw, sig)
	if err == nil {
		return nil
	}
	if bytes.Contains(raw, []byte(`\/`)) {
		if v.Verify(bytes.ReplaceAll(raw, []byte(`\/`), []byte("/")), sig) == nil {
			return nil
		}
	}
	if errors.Is(err, sign.ErrSignature) {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return fmt.Errorf("%w: %v", ErrBadSignature, err)
}

// nodeFields are the members of a response node every answer has.
type nodeFields struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code"`
	SubMsg  string `json:"sub_msg"`
}

// readNode checks a classic HTTP 200 answer to method (whose node is node)
// and returns the raw text of its node when it is a success (code 10000, no
// sub_code). Every success must be signed; a failure is verified when it
// carries a sign (gateway-level errors often do not). Failures come back
// as an [*APIError] or a classified failure.
func readNode(body []byte, node string, v sign.Verifier, trace string) ([]byte, error) {
	env, err := splitEnvelope(body, node)
	if err != nil {
		return nil, withTrace(permanent(err), trace)
	}
	var f nodeFields
	if err := json.Unmarshal(env.raw, &f); err != nil {
		return nil, withTrace(permanent(fmt.Errorf("%w: %s: %v", ErrBadResponse, env.name, err)), trace)
	}
	success := env.name == node && f.Code == "10000" && f.SubCode == ""
	if success || env.hasSign {
		err := fmt.Errorf("%w: successful answer carries no sign", ErrBadSignature)
		if env.hasSign {
			err = verifyNode(v, env.raw, env.sign)
		}
		if err != nil {
			fl := withTrace(permanent(err), trace)
			if success {
				fl.claimed = env.raw
			}
			return nil, fl
		}
	}
	if !success {
		if f.Code == "" {
			return nil, withTrace(permanent(fmt.Errorf("%w: %s has no code", ErrBadResponse, env.name)), trace)
		}
		return nil, &APIError{Code: f.Code, Msg: f.Msg, SubCode: f.SubCode, SubMsg: f.SubMsg, TraceID: trace, Unsigned: !env.hasSign}
	}
	return env.raw, nil
}

// interpret turns a classic upload's 200 answer into a Result or a
// classified error.
func interpret(body []byte, v sign.Verifier, trace string) (Result, error) {
	raw, err := readNode(body, alipayapi.ResponseNode, v, trace)
	if err != nil {
		return Result{}, claim(err)
	}
	var f struct {
		ImageID  string `json:"image_id"`
		ImageURL string `json:"image_url"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return Result{}, withTrace(permanent(fmt.Errorf("%w: %s: %v", ErrBadResponse, alipayapi.ResponseNode, err)), trace)
	}
	if f.ImageID == "" {
		return Result{}, withTrace(permanent(fmt.Errorf("%w: success without image_id", ErrBadResponse)), trace)
	}
	return Result{ImageID: f.ImageID, ImageURL: f.ImageURL, TraceID: trace}, nil
}
