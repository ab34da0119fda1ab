package redisurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/hibiken/asynq"
)

// ErrInvalid is matched by every error of [Parse].
var ErrInvalid = errors.New("redisurl: invalid Redis URL")

// unparsable is what [Redact] gives for a URL it cannot read.
const unparsable = "(unparsable URL)"

// schemes lists the URL schemes [Parse] accepts.
var schemes = []string{"redis", "rediss", "redis-socket", "redis-sentinel", "redis-cluster"}

// Error is a URL that [Parse] refused. Its message starts with the
// redacted URL, when the URL could be parsed at all, followed by the
// reason; it never contains the password. It matches [ErrInvalid].
type Error struct {
	// URL is the redacted URL; empty when it did not parse.
	URL string
	// Reason says what is wrong.
	Reason string
}

func (e *Error) Error() string {
	if e.URL == "" {
		return "not a valid URL: " + e.Reason
	}
	return e.URL + ": " + e.Reason
}

// Is reports whether target is [ErrInvalid].
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Parse turns a Redis URL into asynq's connection options: an
// asynq.RedisClientOpt, asynq.RedisFailoverClientOpt or
// asynq.RedisClusterClientOpt. Errors are [*Error] values.
func Parse(s string) (asynq.RedisConnOpt, error) {
	if s == "" {
		return nil, &Error{Reason: "empty (want " + schemeList() + ")"}
	}
	if !strings.Contains(s, "://") {
		e := &Error{Reason: "no scheme (want redis://host:port/db, or another of " + schemeList() + ")"}
		if r := Redact(s); r != unparsable {
			e.URL = r
		}
		return nil, e
	}
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			// url.Parse's reason may quote a piece of a password that
			// holds a reserved character.
			return nil, &Error{Reason: "check host:port, and percent-encode any '/', '?', '#', '@' or '%' in the password"}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			// ue.Error() would quote the whole URL.
			return nil, &Error{Reason: ue.Err.Error()}
		}
		return nil, &Error{Reason: "unparsable"}
	}
	bad := func(format string, a ...any) error {
		return &Error{URL: Redact(s), Reason: fmt.Sprintf(format, a...)}
	}
	if u.Scheme != "redis-socket" && strayAt(s, u) {
		return nil, bad("'@' outside the user info: percent-encode any '/', '?', '#' or '@' in the password")
	}
	switch u.Scheme {
	case "redis-cluster":
		return parseCluster(u, bad)
	case "redis", "rediss", "redis-socket", "redis-sentinel":
	default:
		return nil, bad("unsupported uri scheme %q (want %s)", u.Scheme, schemeList())
	}
	opt, err := asynq.ParseRedisURI(s)
	if err != nil {
		// asynq's reasons name the field, never its value.
		return nil, bad("%s", strings.TrimPrefix(err.Error(), "asynq: "))
	}
	if o, ok := opt.(asynq.RedisFailoverClientOpt); ok && o.MasterName == "" {
		return nil, bad("sentinel URL without ?master=<name>")
	}
	return opt, nil
}

// parseCluster reads redis-cluster://[[user]:password@]host1:port,host2:port,...
func parseCluster(u *url.URL, bad func(string, ...any) error) (asynq.RedisConnOpt, error) {
	opt := asynq.RedisClusterClientOpt{Username: u.User.Username()}
	opt.Password, _ = u.User.Password()
	if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
		return nil, bad("a cluster has only database 0")
	}
	if u.Host == "" {
		return nil, bad("no cluster nodes (want redis-cluster://host1:port,host2:port)")
	}
	for _, a := range strings.Split(u.Host, ",") {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, bad("cluster node %q is not host:port", a)
		}
		opt.Addrs = append(opt.Addrs, a)
	}
	return opt, nil
}

// Redact returns s with its password replaced by "xxxxx", for logs and
// messages. When s does not parse, or has an '@' outside its user info
// (a password with an unescaped reserved character), everything between
// the scheme and the last '@' is masked instead.
func Redact(s string) string {
	u, err := url.Parse(s)
	at := strings.LastIndex(s, "@")
	if err == nil && !strayAt(s, u) {
		return u.Redacted()
	}
	if at < 0 {
		return unparsable
	}
	if scheme, _, ok := strings.Cut(s[:at], "://"); ok {
		return scheme + "://xxxxx" + s[at:]
	}
	return "xxxxx" + s[at:]
}

// strayAt reports whether s has an '@' that did not end up as the end of
// the user info u was parsed with: a sign that a password with a reserved
// character spilled into the host, path, query or fragment.
func strayAt(s string, u *url.URL) bool {
	want := 0
	if u.User != nil {
		want = 1
	}
	return strings.Count(s, "@") != want
}

func schemeList() string {
	return strings.Join(schemes[:len(schemes)-1], ", ") + " or " + schemes[len(schemes)-1]
}
