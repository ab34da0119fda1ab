package alipaytest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
)

// authBiz is the request of the authorization calls: biz_content on the
// classic gateway, the JSON body (or the query, for the v3 query) on v3.
type authBiz struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code"`
	RefreshToken string `json:"refresh_token"`
	AppAuthToken string `json:"app_auth_token"`
}

// queryAnswer is the answer of alipay.open.auth.token.app.query.
type queryAnswer struct {
	Code        string   `json:"code,omitempty"`
	Msg         string   `json:"msg,omitempty"`
	UserID      string   `json:"user_id,omitempty"`
	AuthAppID   string   `json:"auth_app_id,omitempty"`
	ExpiresIn   int64    `json:"expires_in"`
	AuthMethods []string `json:"auth_methods"`
	AuthStart   string   `json:"auth_start,omitempty"`
	AuthEnd     string   `json:"auth_end,omitempty"`
	Status      string   `json:"status"`
}

// serveAuth handles a call of the authorization methods (method, over
// api): the exchange and refresh of alipay.open.auth.token.app and the
// query of alipay.open.auth.token.app.query. Requests are checked and
// answers signed as the upload's are; faults apply too. Tokens are never
// logged.
func (g *Gateway) serveAuth(w http.ResponseWriter, r *http.Request, api, method string) {
	c := g.begin(w, r, api, method, slog.String("method", method))
	start, kind, delay, log := c.start, c.kind, c.delay, c.log
	body := &bodyReader{r: r.Body, limit: maxTextPart + 1}
	nodeName := strings.ReplaceAll(method, ".", "_") + "_response"
	fail := func(rj *rejection) {
		g.mu.Lock()
		g.stats.Rejections[rj.subCode]++
		g.mu.Unlock()
		if api == APIV3 {
			g.answerV3(w, v3Status(rj), v3ErrorBody(rj), kind)
		} else {
			g.answerNode(w, nodeName, errorNode(rj), false, kind)
		}
		log.Info("auth request", slog.String("code", rj.code), slog.String("sub_code", rj.subCode),
			slog.String("sub_msg", rj.subMsg), slog.Duration("took", time.Since(start)))
	}
	if g.transportFault(w, r, body, kind, log, "auth request", start) {
		return
	}
	if rj := faultRejection(kind); rj != nil {
		body.drain()
		fail(rj)
		return
	}

	raw, err := io.ReadAll(body)
	if err != nil && body.err != errBodyTooLarge {
		g.aborted()
		log.Info("auth request", slog.String("result", "client went away"), slog.String("error", err.Error()))
		return
	}
	in := &incoming{params: map[string]string{}}
	biz, rj := g.readAuth(r, api, method, raw, body.err == errBodyTooLarge, in)
	if kind == FaultSlow && !sleep(r.Context(), delay) {
		g.aborted()
		log.Info("auth request", slog.String("result", "client gave up during slow answer"))
		return
	}
	if rj != nil {
		fail(rj)
		return
	}
	var answer any
	attrs := []any{slog.String("grant_type", biz.GrantType)}
	switch {
	case method == alipayapi.AuthQueryMethod:
		answer = g.query(biz.AppAuthToken)
	case biz.GrantType == alipayapi.GrantAuthorizationCode:
		answer, rj = g.exchange(biz.Code)
	case biz.GrantType == alipayapi.GrantRefreshToken:
		answer, rj = g.refresh(biz.RefreshToken)
	default:
		rj = reject(CodeInvalidParam, SubInvalidParameter, "参数无效 (grant_type must be authorization_code or refresh_token)")
	}
	if rj != nil {
		fail(rj)
		return
	}
	switch a := answer.(type) {
	case *tokenAnswer:
		for _, t := range append([]tokenGrant{a.tokenGrant}, a.Tokens...) {
			if t.AuthAppID != "" {
				attrs = append(attrs, slog.String("auth_app_id", t.AuthAppID))
			}
		}
		if api == APIClassic {
			a.Code, a.Msg = CodeSuccess, codeMsg[CodeSuccess]
		}
	case *queryAnswer:
		attrs = append(attrs, slog.String("auth_app_id", a.AuthAppID), slog.String("status", a.Status))
		if api == APIClassic {
			a.Code, a.Msg = CodeSuccess, codeMsg[CodeSuccess]
		}
	}
	g.mu.Lock()
	g.stats.Successes++
	g.mu.Unlock()
	if api == APIV3 {
		g.answerV3(w, http.StatusOK, plainJSON(answer), kind)
	} else {
		g.answerNode(w, nodeName, plainJSON(answer), false, kind)
	}
	log.Info("auth request", append(attrs, slog.String("code", CodeSuccess), slog.Duration("took", time.Since(start)))...)
}

// readAuth reads and checks an authorization call: the system parameters
// and signature as for an upload, then its request.
func (g *Gateway) readAuth(r *http.Request, api, method string, raw []byte, tooLarge bool, in *incoming) (authBiz, *rejection) {
	var biz authBiz
	if tooLarge {
		return biz, reject(CodeInvalidParam, SubInvalidParameter, fmt.Sprintf("参数无效 (body longer than %d bytes)", maxTextPart))
	}
	text := string(raw)
	if api == APIClassic {
		q, rj := in.readQuery(r.URL.RawQuery)
		if rj != nil {
			return biz, rj
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			form, err := url.ParseQuery(string(raw))
			if err != nil {
				return biz, reject(CodeInvalidParam, SubInvalidParameter, "参数无效 (form body: "+err.Error()+")")
			}
			for k, vs := range form {
				if qv, inQuery := q[k]; (len(vs) > 1 || inQuery && qv[0] != vs[0]) && in.dup == "" {
					in.dup = k
				}
				in.params[k] = vs[0]
			}
		}
		if in.dup != "" {
			return biz, reject(CodeInvalidParam, SubInvalidParameter, "参数无效 (parameter "+in.dup+" sent more than once, with different values)")
		}
		if rj := g.checkClassic(in, method); rj != nil {
			return biz, rj
		}
		text = in.params["biz_content"]
		if text == "" {
			return biz, reject(CodeMissingParam, SubMissingParameter, "缺少必选参数 (biz_content)")
		}
	} else {
		if rj := g.checkV3Auth(in, r, text); rj != nil {
			return biz, rj
		}
		if method == alipayapi.AuthQueryMethod {
			biz.AppAuthToken = r.URL.Query().Get("app_auth_token")
			if biz.AppAuthToken == "" {
				return biz, reject(CodeMissingParam, SubMissingParameter, "缺少必选参数 (app_auth_token)")
			}
			return biz, nil
		}
	}
	if err := json.Unmarshal([]byte(text), &biz); err != nil {
		return biz, reject(CodeInvalidParam, SubInvalidParameter, "参数无效 (the request is not a JSON object of strings)")
	}
	if method == alipayapi.AuthQueryMethod && biz.AppAuthToken == "" {
		return biz, reject(CodeMissingParam, SubMissingParameter, "缺少必选参数 (app_auth_token)")
	}
	return biz, nil
}

// query answers alipay.open.auth.token.app.query: status valid or
// invalid, the seconds left, and the authorization's period.
func (g *Gateway) query(token string) *queryAnswer {
	state, m, issued, expires, rj := g.tokenStatus(token)
	a := &queryAnswer{UserID: m.UserID, AuthAppID: m.AuthAppID, AuthMethods: []string{alipayapi.Method}, Status: "invalid"}
	if rj == nil && state != TokenListed {
		now := g.authNow()
		a.Status = "valid"
		a.ExpiresIn = int64(expires.Sub(now) / time.Second)
		a.AuthStart = issued.In(alipayapi.Beijing).Format(alipayapi.TimestampLayout)
		a.AuthEnd = expires.In(alipayapi.Beijing).Format(alipayapi.TimestampLayout)
	}
	return a
}
