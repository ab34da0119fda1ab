package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a number of calls per period, e.g. 20 calls per second.
type Rate struct {
	// Calls is how many calls the period allows. Positive.
	Calls int
	// Per is the period: time.Second, time.Minute or time.Hour.
	Per time.Duration
}

// String writes the rate as [ParseRate] reads it: "20/s", "300/m", "1000/h".
func (r Rate) String() string {
	for unit, d := range map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour} {
		if r.Per == d {
			return strconv.Itoa(r.Calls) + "/" + unit
		}
	}
	return fmt.Sprintf("%d/%v", r.Calls, r.Per)
}

// Interval is the steady time between two calls at this rate.
func (r Rate) Interval() time.Duration {
	if r.Calls <= 0 {
		return 0
	}
	return r.Per / time.Duration(r.Calls)
}

// ErrRate reports a rate [ParseRate] cannot read.
var ErrRate = errors.New("ratelimit: not a rate")

// ParseRate reads a rate written as a positive whole number of calls per
// second ("20"), or with its period: "20/s", "300/m" (per minute),
// "1000/h" (per hour).
func ParseRate(s string) (Rate, error) {
	n, unit, hasUnit := strings.Cut(strings.TrimSpace(s), "/")
	per := time.Second
	if hasUnit {
		switch strings.TrimSpace(unit) {
		case "s":
		case "m":
			per = time.Minute
		case "h":
			per = time.Hour
		default:
			return Rate{}, fmt.Errorf("%w: %q: the period after '/' is s, m or h", ErrRate, s)
		}
	}
	calls, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || calls <= 0 {
		return Rate{}, fmt.Errorf("%w: %q: write calls per second as a positive whole number (e.g. 20), or N/s, N/m, N/h", ErrRate, s)
	}
	return Rate{Calls: calls, Per: per}, nil
}
