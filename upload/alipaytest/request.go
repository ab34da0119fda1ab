package alipaytest

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/validate"
)

// Field limits of the method, as Alipay documents them (the validator's
// where it has them).
const (
	maxImageTypeLen = validate.MaxImageTypeLen
	maxImageNameLen = validate.MaxNameLen
	maxImagePIDLen  = 16
	// maxTextPart bounds one multipart text part; longer ones are rejected.
	maxTextPart = 64 << 10
	// sniffLen is how many leading bytes of the file are kept for type
	// detection (what validate.Sniff needs).
	sniffLen = validate.HeadSize
	// fileField is the multipart name of the file.
	fileField = "image_content"
	// dataField is the multipart name of v3's JSON text fields.
	dataField = "data"
)

// errBodyTooLarge stops reading a body far beyond the file size limit.
var errBodyTooLarge = errors.New("alipaytest: request body too large")

// bufPool holds the copy buffers used to hash file parts.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// bodyReader counts what it reads, stops at a cap, and remembers a
// transport error (as opposed to a malformed body).
type bodyReader struct {
	r     io.Reader
	n     int64
	limit int64
	err   error // first non-EOF error of r, or errBodyTooLarge
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.n >= b.limit {
		b.err = errBodyTooLarge
		return 0, b.err
	}
	if rest := b.limit - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// drain reads and discards the rest of the body.
func (b *bodyReader) drain() {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	for {
		if _, err := b.Read(*bp); err != nil {
			return
		}
	}
}

// incoming is what a gateway request carried.
type incoming struct {
	params   map[string]string // text parameters, query and body merged
	problem  *rejection        // a structural problem found while reading
	dup      string            // a parameter sent twice
	file     bool              // an image_content part was present
	fileName string
	fileType string // the part's Content-Type
	size     int64
	sum      [sha256.Size]byte
	head     [sniffLen]byte
	headLen  int
	content  []byte // the file, with Config.KeepContent
	detected string // the format of head, set by checkBiz
	// tokenState and tokenOwner say in which state the app_auth_token was
	// (TokenCurrent, ...) and whose it is, set by checkToken.
	tokenState, tokenOwner string
}

// readQuery parses a classic request's query string into in.params,
// noting in in.dup the first parameter sent twice. It returns the query,
// and the refusal of one that does not parse (whose parameters up to the
// fault are kept).
func (in *incoming) readQuery(raw string) (url.Values, *rejection) {
	q, err := url.ParseQuery(raw)
	for k, vs := range q {
		if len(vs) > 1 && in.dup == "" {
			in.dup = k
		}
		in.params[k] = vs[0]
	}
	if err != nil {
		return q, reject(CodeInvalidParam, SubInvalidParameter, "请求参数无效 (query string: "+err.Error()+")")
	}
	return q, nil
}

// read parses the query and streams the multipart body: text parts are
// kept, the file part is hashed and counted, never stored. A non-nil error
// means the body could not be read (the client went away, or the body
// exceeded the hard cap); the body is always consumed. On the classic
// gateway the query's parameters join the text parts (the same name in
// both with different values, or twice in the body, is a duplicate); on v3
// the query carries none, and the only text part is "data".
func (g *Gateway) read(r *http.Request, body *bodyReader, api string) (_ *incoming, err error) {
	in := &incoming{params: map[string]string{}}
	defer func() {
		body.drain()
		if err == nil {
			err = body.err
		}
	}()
	var q url.Values
	if api == APIClassic {
		q, in.problem = in.readQuery(r.URL.RawQuery)
	}
	mt, mp, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return in, body.err
	}
	if mp["boundary"] == "" {
		in.problem = reject(CodeInvalidParam, SubUploadFail, "文件上传失败 (multipart body without boundary)")
		return in, body.err
	}
	mr := multipart.NewReader(body, mp["boundary"])
	seen := map[string]bool{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err == nil {
			name := p.FormName()
			if seen[name] {
				in.dup = name
			}
			seen[name] = true
			switch {
			case name == fileField:
				err = g.readFile(p, in)
			case api == APIV3 && name != dataField:
				in.problem = reject(CodeInvalidParam, SubInvalidParameter, "参数无效 (unexpected part "+name+"; v3 sends the fields in the data part)")
			default:
				err = readText(p, name, in)
				if qv, inQuery := q[name]; err == nil && inQuery && qv[0] != in.params[name] && in.dup == "" {
					in.dup = name
				}
			}
		}
		// A broken part, or a broken multipart stream.
		if err != nil {
			if body.err != nil {
				return in, body.err
			}
			in.problem = reject(CodeInvalidParam, SubUploadFail, "文件上传失败 (multipart: "+err.Error()+")")
			return in, nil
		}
		if in.problem != nil {
			return in, body.err
		}
	}
	return in, body.err
}

func readText(p *multipart.Part, name string, in *incoming) error {
	if p.FileName() != "" {
		in.problem = reject(CodeInvalidParam, SubInvalidParameter, "参数无效 (unexpected file part "+name+")")
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(p, maxTextPart+1))
	if err != nil {
		return err
	}
	if len(b) > maxTextPart {
		in.problem = reject(CodeInvalidParam, SubInvalidParameter, fmt.Sprintf("参数无效 (text part %s longer than %d bytes)", name, maxTextPart))
		return nil
	}
	in.params[name] = string(b)
	return nil
}

// readFile hashes and counts the file part with a pooled buffer, keeping
// only its first bytes for type detection. Bytes beyond MaxFileSize are
// counted, not hashed.
func (g *Gateway) readFile(p *multipart.Part, in *incoming) error {
	in.file = true
	in.fileName = p.FileName()
	in.fileType = p.Header.Get("Content-Type")
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := p.Read(buf)
		if n > 0 {
			if in.headLen < sniffLen {
				in.headLen += copy(in.head[in.headLen:], buf[:n])
			}
			if in.size+int64(n) <= g.cfg.MaxFileSize {
				h.Write(buf[:n])
				if g.cfg.KeepContent {
					in.content = append(in.content, buf[:n]...)
				}
			}
			in.size += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	h.Sum(in.sum[:0])
	return nil
}

// check applies the gateway's checks in the order the package
// documentation lists them. It returns nil for an acceptable upload.
func (g *Gateway) check(in *incoming) *rejection {
	if rj := g.checkClassic(in, alipayapi.Method); rj != nil {
		return rj
	}
	if rj := g.checkToken(in, in.params["app_auth_token"]); rj != nil {
		return rj
	}
	return g.checkBiz(in)
}

// checkClassic applies the classic gateway's checks of the system
// parameters and the signature, for a call of method.
func (g *Gateway) checkClassic(in *incoming, method string) *rejection {
	if in.problem != nil {
		return in.problem
	}
	if in.dup != "" {
		return reject(CodeInvalidParam, SubInvalidParameter, "参数无效 (parameter "+in.dup+" sent more than once, with different values)")
	}
	p := in.params
	for _, m := range []struct{ name, sub, msg string }{
		{"app_id", SubMissingAppID, "缺少AppID参数"},
		{"method", SubMissingMethod, "缺少方法名参数"},
		{"sign_type", SubMissingSignatureType, "缺少签名类型参数"},
		{"sign", SubMissingSignature, "缺少签名参数"},
		{"timestamp", SubMissingTimestamp, "缺少时间戳参数"},
		{"version", SubMissingVersion, "缺少版本参数"},
		{"charset", SubMissingParameter, "缺少必选参数 (charset)"},
	} {
		if p[m.name] == "" {
			return reject(CodeMissingParam, m.sub, m.msg)
		}
	}
	switch {
	case p["app_id"] != g.cfg.AppID:
		return reject(CodeInvalidParam, SubInvalidAppID, "无效的AppID参数")
	case p["method"] != method:
		return reject(CodeInvalidParam, SubInvalidMethod, "不存在的方法名")
	case p["format"] != "" && !strings.EqualFold(p["format"], "JSON"):
		return reject(CodeInvalidParam, SubInvalidFormat, "无效的数据格式 (format must be JSON)")
	case !strings.EqualFold(p["charset"], "utf-8"):
		return reject(CodeInvalidParam, SubInvalidCharset, "字符集错误 (charset must be utf-8)")
	case p["sign_type"] != "RSA2":
		return reject(CodeInvalidParam, SubInvalidSignatureType, "无效签名类型 (sign_type must be RSA2)")
	case p["version"] != "1.0":
		return reject(CodeInvalidParam, SubInvalidParameter, "参数无效 (version must be 1.0)")
	}
	ts, err := time.ParseInLocation(alipayapi.TimestampLayout, p["timestamp"], alipayapi.Beijing)
	if err != nil {
		return reject(CodeInvalidParam, SubInvalidTimestamp, "非法的时间戳参数 (layout "+alipayapi.TimestampLayout+", Beijing time)")
	}
	if skew := g.cfg.Now().Sub(ts).Abs(); skew > g.cfg.MaxSkew {
		return reject(CodeInvalidParam, SubInvalidTimestamp, fmt.Sprintf("非法的时间戳参数 (off by %s, tolerance %s)", skew.Round(time.Second), g.cfg.MaxSkew))
	}
	if p["app_cert_sn"] != g.cfg.AppCertSN {
		return reject(CodeInvalidParam, SubAppCertNotExist, "应用公钥证书不存在")
	}
	if g.cfg.AppCertSN != "" && p["alipay_root_cert_sn"] != g.cfg.RootCertSN {
		return reject(CodeInvalidParam, SubInvalidRootCertSN, "无效支付宝根证书序列号")
	}
	content := sign.Content(p)
	if err := g.verifier.Verify([]byte(content), p["sign"]); err != nil {
		return reject(CodeInvalidParam, SubInvalidSignature, "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配")
	}
	return nil
}

// checkV3 applies the v3 checks in the order the package documentation
// lists them: the Authorization header and the headers around it, the
// signature over method, path, data part and token, then the data part's
// fields and the file as on the classic gateway. It fills in.params with
// app_id, app_auth_token and the data part's fields.
func (g *Gateway) checkV3(in *incoming, r *http.Request) *rejection {
	if in.problem != nil {
		return in.problem
	}
	if in.dup != "" {
		return reject(CodeInvalidParam, SubInvalidParameter, "参数无效 (part "+in.dup+" sent more than once)")
	}
	if rj := g.checkV3Auth(in, r, in.params[dataField]); rj != nil {
		return rj
	}
	if rj := g.checkToken(in, in.params["app_auth_token"]); rj != nil {
		return rj
	}
	return g.v3Data(in)
}

// checkV3Auth checks the Authorization header and the headers around it,
// and the signature over method, path, body (the data part of an upload,
// the JSON body of a JSON call) and token. It fills in.params with app_id
// and app_auth_token.
func (g *Gateway) checkV3Auth(in *incoming, r *http.Request, body string) *rejection {
	h := r.Header.Get("Authorization")
	if h == "" {
		return reject(CodeMissingParam, SubMissingSignature, "缺少签名参数 (Authorization header)")
	}
	auth, f, sig, err := sign.ParseV3Authorization(h)
	switch {
	case err != nil && !strings.HasPrefix(h, sign.V3Scheme+" "):
		return reject(CodeInvalidParam, SubInvalidSignatureType, "无效签名类型 (Authorization scheme must be "+sign.V3Scheme+")")
	case err != nil && !strings.Contains(h, ",sign="):
		return reject(CodeMissingParam, SubMissingSignature, "缺少签名参数 (sign in the Authorization header)")
	case err != nil:
		return reject(CodeInvalidParam, SubInvalidSignature, "验签出错 ("+err.Error()+")")
	}
	token := r.Header.Get("alipay-app-auth-token")
	in.params["app_id"], in.params["app_auth_token"] = f.AppID, token
	switch {
	case f.AppID == "":
		return reject(CodeMissingParam, SubMissingAppID, "缺少AppID参数")
	case f.Timestamp == 0:
		return reject(CodeMissingParam, SubMissingTimestamp, "缺少时间戳参数")
	case f.Nonce == "":
		return reject(CodeMissingParam, SubMissingParameter, "缺少必选参数 (nonce)")
	case f.AppID != g.cfg.AppID:
		return reject(CodeInvalidParam, SubInvalidAppID, "无效的AppID参数")
	}
	if skew := g.cfg.Now().Sub(time.UnixMilli(f.Timestamp)).Abs(); skew > g.cfg.MaxSkew {
		return reject(CodeInvalidParam, SubInvalidTimestamp, fmt.Sprintf("非法的时间戳参数 (off by %s, tolerance %s)", skew.Round(time.Second), g.cfg.MaxSkew))
	}
	if f.AppCertSN != g.cfg.AppCertSN {
		return reject(CodeInvalidParam, SubAppCertNotExist, "应用公钥证书不存在")
	}
	if g.cfg.AppCertSN != "" && r.Header.Get("alipay-root-cert-sn") != g.cfg.RootCertSN {
		return reject(CodeInvalidParam, SubInvalidRootCertSN, "无效支付宝根证书序列号")
	}
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	content := sign.V3Content(auth, r.Method, target, body, token)
	if err := g.verifier.Verify([]byte(content), sig); err != nil {
		return reject(CodeInvalidParam, SubInvalidSignature, "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配")
	}
	return nil
}

// v3Data reads the fields of a v3 upload's data part, then checks them
// and the file.
func (g *Gateway) v3Data(in *incoming) *rejection {
	data, ok := in.params[dataField]
	if !ok {
		return reject(CodeMissingParam, SubMissingParameter, "缺少必选参数 (data)")
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(data), &fields); err != nil {
		return reject(CodeInvalidParam, SubInvalidParameter, "参数无效 (data is not a JSON object)")
	}
	for _, name := range []string{"image_type", "image_name", "image_pid"} {
		switch v := fields[name].(type) {
		case nil:
		case string:
			in.params[name] = v
		default:
			return reject(CodeInvalidParam, SubInvalidParameter, "参数无效 ("+name+" is not a string)")
		}
	}
	return g.checkBiz(in)
}

// checkBiz checks the method's own fields and the file.
func (g *Gateway) checkBiz(in *incoming) *rejection {
	p := in.params
	for _, f := range []struct {
		name     string
		max      int
		required bool
	}{
		{"image_type", maxImageTypeLen, true},
		{"image_name", maxImageNameLen, true},
		{"image_pid", maxImagePIDLen, false},
	} {
		v := p[f.name]
		if v == "" && f.required {
			return reject(CodeMissingParam, SubMissingParameter, "缺少必选参数 ("+f.name+")")
		}
		if n := utf8.RuneCountInString(v); n > f.max {
			return reject(CodeInvalidParam, SubInvalidParameter, fmt.Sprintf("参数无效 (%s has %d characters, at most %d)", f.name, n, f.max))
		}
	}
	if !in.file {
		return reject(CodeMissingParam, SubMissingParameter, "缺少必选参数 ("+fileField+")")
	}
	want := validate.CanonicalType(p["image_type"])
	if !g.allowed[want] {
		return reject(CodeInvalidParam, SubInvalidFileExtension, "文件扩展名无效 (image_type "+p["image_type"]+" is not allowed)")
	}
	if in.size == 0 || in.size > g.cfg.MaxFileSize {
		return reject(CodeInvalidParam, SubInvalidFileSize, fmt.Sprintf("文件大小无效 (%d bytes, at most %d)", in.size, g.cfg.MaxFileSize))
	}
	in.detected = detect(in.head[:in.headLen])
	if in.detected != want {
		return reject(CodeInvalidParam, SubInvalidFileExtension, "文件扩展名无效 (content is "+in.detected+", image_type says "+p["image_type"]+")")
	}
	return nil
}

// detect returns the normalised format of a file's first bytes, or
// "unknown". It is the validator's sniffer, which decides MP4 and QuickTime
// files by their ftyp brand (filetype.Match alone may call a short MP4
// "mov", depending on map order).
func detect(head []byte) string {
	if t := validate.Sniff(head); t != "" {
		return t
	}
	return "unknown"
}
