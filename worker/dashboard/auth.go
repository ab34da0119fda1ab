package dashboard

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/storemedia/alipay-media-worker/internal/httpguard"
)

// Failed sign-ins allowed per client address: a burst of signInBurst, then
// one every signInRefill (ten a minute). Past that, every request from the
// address is answered 429 until the allowance grows back, whatever its
// credentials.
const (
	signInBurst  = 10
	signInRefill = 6 * time.Second
	// signInClients bounds the addresses followed at once; past it,
	// addresses that have their whole allowance are forgotten, and if
	// none has, the new ones share one allowance.
	signInClients = 4096
	// logUserMax bounds the user name a failure log line quotes.
	logUserMax = 64
)

// authGuard requires HTTP basic authentication on every request, throttles
// failed sign-ins per client address and logs them. The user and password
// are compared through their SHA-256 digests with a constant-time compare,
// so neither the content nor the length of the secrets leaks through
// timing. A password, right or wrong, is never logged.
type authGuard struct {
	wantUser, wantPass [sha256.Size]byte
	log                *slog.Logger
	now                func() time.Time

	mu      sync.Mutex
	clients map[netip.Prefix]*rate.Limiter
}

func newAuthGuard(user, password string, log *slog.Logger, now func() time.Time) *authGuard {
	return &authGuard{
		wantUser: sha256.Sum256([]byte(user)),
		wantPass: sha256.Sum256([]byte(password)),
		log:      log,
		now:      now,
		clients:  map[netip.Prefix]*rate.Limiter{},
	}
}

func (g *authGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := clientOf(r.RemoteAddr)
		now := g.now()
		if wait := g.lockedOut(client, now); wait > 0 {
			httpguard.Refuse(w)
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			http.Error(w, "too many failed sign-ins from your address; try again later", http.StatusTooManyRequests)
			return
		}
		u, p, ok := r.BasicAuth()
		gotUser := sha256.Sum256([]byte(u))
		gotPass := sha256.Sum256([]byte(p))
		userOK := subtle.ConstantTimeCompare(gotUser[:], g.wantUser[:])
		passOK := subtle.ConstantTimeCompare(gotPass[:], g.wantPass[:])
		if ok && userOK&passOK == 1 {
			next.ServeHTTP(w, r)
			return
		}
		// No credentials at all is a browser's first request, not a guess.
		if ok || r.Header.Get("Authorization") != "" {
			g.failed(client, now, r.RemoteAddr, u)
		}
		httpguard.Refuse(w)
		w.Header().Set("WWW-Authenticate", `Basic realm="alipay-media-worker", charset="UTF-8"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
	})
}

// lockedOut returns how long client must wait before its next sign-in
// attempt is looked at, or 0.
func (g *authGuard) lockedOut(client netip.Prefix, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	lim := g.clients[client]
	if lim == nil {
		return 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(signInRefill))
}

// failed counts a failed sign-in of client and logs it, with the address
// and the user name tried but never the password.
func (g *authGuard) failed(client netip.Prefix, now time.Time, remote, user string) {
	g.mu.Lock()
	lim := g.limiter(client, now)
	lim.AllowN(now, 1)
	locked := lim.TokensAt(now) < 1
	g.mu.Unlock()
	if len(user) > logUserMax {
		user = user[:logUserMax] + "…"
	}
	g.log.Warn("dashboard: sign-in failed", "remote", remote, "user", user)
	if locked {
		g.log.Warn("dashboard: too many failed sign-ins; refusing this address for a while",
			"client", client.String(), "retry_after", signInRefill)
	}
}

// limiter returns client's allowance, creating it; g.mu is held.
func (g *authGuard) limiter(client netip.Prefix, now time.Time) *rate.Limiter {
	if lim := g.clients[client]; lim != nil {
		return lim
	}
	if len(g.clients) >= signInClients {
		for c, lim := range g.clients {
			if lim.TokensAt(now) >= signInBurst {
				delete(g.clients, c)
			}
		}
		if len(g.clients) >= signInClients {
			client = netip.Prefix{} // everyone else shares one allowance
			if lim := g.clients[client]; lim != nil {
				return lim
			}
		}
	}
	lim := rate.NewLimiter(rate.Every(signInRefill), signInBurst)
	g.clients[client] = lim
	return lim
}

// clientOf is the address a client is throttled by: its IPv4 address, or
// the /64 network of its IPv6 address (one host usually holds a whole
// /64). An unparsable address gives the zero prefix, shared by all such.
func clientOf(remoteAddr string) netip.Prefix {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Prefix{}
	}
	addr := ap.Addr().Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}
