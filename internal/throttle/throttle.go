// Package throttle slows down guessing. Backoff counts failures per key (an
// account, a device token) and, from its free allowance on, refuses the key
// for a time that doubles with every further failure; Bucket gives each key
// (a client address) a budget of failures that refills over time. Both keep
// their state in a Store: in the process (Memory) or shared by instances
// (the Mongo store). Limiter is the older in-process back-off, for attempts
// counted before they are made (sign-ups).
package throttle

import (
	"sync"
	"time"
)

// maxKeys bounds memory: past it, keys whose back-off has ended are dropped.
const maxKeys = 100_000

// Limiter is safe for concurrent use. It lives in one process: with several
// instances, each counts the attempts it sees.
type Limiter struct {
	free     int
	base     time.Duration
	max      time.Duration
	now      func() time.Time
	mu       sync.Mutex
	failures map[string]*record
}

type record struct {
	count        int
	blockedUntil time.Time
	last         time.Time
}

// New returns a Limiter that allows free failures per key, then blocks the
// key for base, 2*base, 4*base ... up to max after each further failure.
func New(free int, base, max time.Duration, now func() time.Time) *Limiter {
	return &Limiter{free: free, base: base, max: max, now: now, failures: map[string]*record{}}
}

// Wait returns how long key must wait before its next attempt; zero means now.
func (l *Limiter) Wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.failures[key]
	if !ok {
		return 0
	}
	return max(0, r.blockedUntil.Sub(l.now()))
}

// Fail records a failed attempt of key and returns the back-off it imposed:
// zero while key is within its free failures. Every non-zero answer starts a
// lock-out (attempts are refused, not counted, while one runs).
func (l *Limiter) Fail(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	r, ok := l.failures[key]
	if !ok {
		if len(l.failures) >= maxKeys {
			l.sweep(now)
		}
		r = &record{}
		l.failures[key] = r
	}
	// A key quiet for longer than the longest back-off starts afresh.
	if now.Sub(r.last) > l.max {
		r.count = 0
	}
	r.count++
	r.last = now
	over := r.count - l.free
	if over <= 0 {
		return 0
	}
	backoff := l.max
	if over < 30 && l.base<<(over-1) < l.max {
		backoff = l.base << (over - 1)
	}
	r.blockedUntil = now.Add(backoff)
	return backoff
}

// Reset forgets key's failures, after a success.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

func (l *Limiter) sweep(now time.Time) {
	for k, r := range l.failures {
		if now.After(r.blockedUntil) {
			delete(l.failures, k)
		}
	}
}
