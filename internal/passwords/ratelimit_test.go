package passwords

import (
	"testing"
	"time"
)

// A client gets RatingBurst ratings at once, then one per RatingEvery;
// clients do not share a bucket, and idle buckets are forgotten.
func TestRatingLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewRatingLimiter(func() time.Time { return now })
	for i := range RatingBurst {
		if wait := l.Allow("a"); wait != 0 {
			t.Fatalf("rating %d refused for %v", i+1, wait)
		}
	}
	if wait := l.Allow("a"); wait <= 0 || wait > RatingEvery {
		t.Fatalf("rating %d: wait %v, want up to %v", RatingBurst+1, wait, RatingEvery)
	}
	if wait := l.Allow("b"); wait != 0 {
		t.Fatalf("another client refused for %v", wait)
	}
	now = now.Add(RatingEvery)
	if wait := l.Allow("a"); wait != 0 {
		t.Fatalf("a rating a second later refused for %v", wait)
	}
	now = now.Add(ratingIdle)
	l.Allow("c")
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets after everyone else was idle for %v, want 1", n, ratingIdle)
	}
}
