package passwords

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// How often one client may have candidate passwords rated (checkPassword):
// a token bucket (golang.org/x/time/rate) of RatingBurst, refilled by one
// every RatingEvery. A person typing a password, rated after each pause
// (the pages wait 300 ms), asks a few dozen times at most; a script gets
// one a second. Ours: rating is public for sign-up, costs up to some 50 ms
// of CPU (estimatedRunes) and tells nothing secret, so the limit only
// bounds the CPU one client can take.
const (
	RatingBurst = 60
	RatingEvery = time.Second
)

// ratingIdle is how long a client's bucket is kept unused: by then it is
// full again, so forgetting it changes nothing.
const ratingIdle = RatingBurst * RatingEvery

// RatingLimiter limits ratings per client key (a client address, or a
// signed-in account). Safe for concurrent use; memory is bounded by the
// clients of the last ratingIdle.
type RatingLimiter struct {
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	limiter *rate.Limiter
	used    time.Time
}

// NewRatingLimiter returns a RatingLimiter on the clock now.
func NewRatingLimiter(now func() time.Time) *RatingLimiter {
	return &RatingLimiter{now: now, buckets: map[string]*bucket{}}
}

// Allow takes one rating from key's bucket: 0 when allowed, otherwise how
// long until the next one is (and nothing is taken).
func (l *RatingLimiter) Allow(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.swept) >= ratingIdle {
		for k, b := range l.buckets {
			if now.Sub(b.used) >= ratingIdle {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{limiter: rate.NewLimiter(rate.Every(RatingEvery), RatingBurst)}
		l.buckets[key] = b
	}
	b.used = now
	r := b.limiter.ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return wait
	}
	return 0
}
