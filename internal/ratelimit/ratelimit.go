// Package ratelimit bounds how often one object is corrected.
package ratelimit

import (
	"sync"
	"time"
)

// Corrections bounds how often one object is corrected (and how many
// events are emitted for it), so that a script rewriting an object in a loop
// cannot make the operator hot-loop against it. Each object has a token
// bucket: burst corrections at once, then one per interval. A throttled
// correction is retried when the next token is due.
type Corrections struct {
	burst    float64
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter of burst corrections at once, then one per interval.
func New(burst int, interval time.Duration) *Corrections {
	return &Corrections{burst: float64(burst), interval: interval, now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes a token for key. When none is left it returns false and how
// long until one is.
func (l *Corrections) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.interval))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		l.sweep(now)
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.interval))
}

// sweep drops buckets that have refilled, so memory follows recent drift,
// not every object ever corrected.
func (l *Corrections) sweep(now time.Time) {
	if len(l.buckets) < 1024 {
		return
	}
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.last))/float64(l.interval) >= l.burst {
			delete(l.buckets, k)
		}
	}
}
