package throttle_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/store/storetest"
	"github.com/iotconsole/bff/internal/throttle"
)

func TestMemoryStoreContract(t *testing.T) {
	storetest.Throttles(t, throttle.NewMemory(), true)
}

// The back-off's thresholds, counted: with 5 free, the 5th attempt in a row
// starts 1 s, so the 6th attempt at once is the first refused; the cap
// repeats until a full quiet period has passed.
func TestBackoffCounts(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(0, 0)
	b := throttle.NewBackoff(throttle.NewMemory(), 5, time.Second, time.Minute, time.Hour, func() time.Time { return now })
	reserve := func(what string) throttle.Reservation {
		t.Helper()
		r, refused, err := b.Reserve(ctx, "acct")
		if err != nil || refused != 0 {
			t.Fatalf("%s: refused %v %v", what, refused, err)
		}
		return r
	}
	for i := 1; i <= 4; i++ {
		if r := reserve("attempt"); r.Backoff != 0 || r.Count != int64(i) {
			t.Fatalf("attempt %d: %+v", i, r)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		if r := reserve("attempt"); r.Backoff != w {
			t.Fatalf("attempt %d: back-off %v, want %v", i+5, r.Backoff, w)
		}
		if got, _ := b.Wait(ctx, "other", "acct"); got != w {
			t.Fatalf("wait after attempt %d: %v, want %v", i+5, got, w)
		}
		// Refused while it runs, and not counted.
		if _, refused, _ := b.Reserve(ctx, "acct"); refused != w {
			t.Fatalf("an attempt during the back-off: refused %v, want %v", refused, w)
		}
		now = now.Add(w)
		if got, _ := b.Wait(ctx, "acct"); got != 0 {
			t.Fatalf("still waiting at the back-off's end: %v", got)
		}
	}
	// Waiting out the cap (or longer, short of the quiet period) does not
	// start afresh: the next failure backs off the cap again.
	now = now.Add(59 * time.Minute)
	if r := reserve("after 59 min"); r.Backoff != time.Minute {
		t.Fatalf("after 59 min of quiet: %+v, want the cap again", r)
	}
	// A key quiet for the whole quiet period starts afresh.
	now = now.Add(time.Hour + time.Nanosecond)
	if r := reserve("after the quiet period"); r.Backoff != 0 || r.Count != 1 {
		t.Fatalf("after the quiet period: %+v", r)
	}
	// A reset forgets.
	for range 4 {
		reserve("attempt")
	}
	if err := b.Reset(ctx, "acct"); err != nil {
		t.Fatal(err)
	}
	if w, _ := b.Wait(ctx, "acct"); w != 0 {
		t.Fatalf("after a reset: %v", w)
	}
}

// Attempts racing on one key: exactly the free ones are reserved, one
// starts the back-off (one lock-out), the others are refused.
func TestBackoffReservesBeforeTheCheck(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(0, 0)
	b := throttle.NewBackoff(throttle.NewMemory(), 5, time.Second, time.Minute, time.Hour, func() time.Time { return now })
	var answered, lockOuts, refused atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, wait, err := b.Reserve(ctx, "acct")
			switch {
			case err != nil:
				t.Error(err)
			case wait > 0:
				refused.Add(1)
			default:
				answered.Add(1)
				if r.Backoff > 0 {
					lockOuts.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if answered.Load() != 5 || refused.Load() != 35 || lockOuts.Load() != 1 {
		t.Fatalf("40 at once: %d answered, %d refused, %d lock-outs; want 5, 35, 1", answered.Load(), refused.Load(), lockOuts.Load())
	}
}

// The bucket: a burst of size failures, then one per refill, and the wait
// never grows past one refill however long the guessing lasts, nor however
// many attempts race.
func TestBucketRefillsAndNeverDoubles(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(0, 0)
	b := throttle.NewBucket(throttle.NewMemory(), 20, 30*time.Second, func() time.Time { return now })
	spend := func(what string) time.Duration {
		t.Helper()
		after, refused, err := b.Reserve(ctx, "addr")
		if err != nil || refused != 0 {
			t.Fatalf("%s: refused %v %v", what, refused, err)
		}
		return after
	}
	for i := 1; i <= 19; i++ {
		if w := spend("a failure"); w != 0 {
			t.Fatalf("failure %d: wait %v", i, w)
		}
	}
	if w := spend("the 20th"); w != 30*time.Second {
		t.Fatalf("the 20th failure: wait %v, want 30s", w)
	}
	for range 100 { // a guesser that keeps coming back as soon as allowed
		_, refused, _ := b.Reserve(ctx, "addr")
		if refused == 0 || refused > 30*time.Second {
			t.Fatalf("refused for %v, want (0, 30s]", refused)
		}
		now = now.Add(refused)
		if w := spend("at the refill"); w != 30*time.Second {
			t.Fatalf("a failure at the refill: wait %v", w)
		}
	}
	if w, _ := b.Wait(ctx, "other"); w != 0 {
		t.Fatalf("another address waits %v", w)
	}
	// A refund (a success) gives one back.
	if err := b.Refund(ctx, "addr"); err != nil {
		t.Fatal(err)
	}
	if w, _ := b.Wait(ctx, "addr"); w != 0 {
		t.Fatalf("after a refund: wait %v", w)
	}
	// Ten minutes of quiet give back 20 failures.
	now = now.Add(10 * time.Minute)
	for i := 1; i <= 19; i++ {
		if w := spend("after the refill"); w != 0 {
			t.Fatalf("failure %d after the refill: wait %v", i, w)
		}
	}
	// 40 at once on a fresh address: 20 go through, the wait after them
	// is one refill.
	var through atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, refused, err := b.Reserve(ctx, "burst"); err != nil {
				t.Error(err)
			} else if refused == 0 {
				through.Add(1)
			}
		}()
	}
	wg.Wait()
	if w, _ := b.Wait(ctx, "burst"); through.Load() != 20 || w != 30*time.Second {
		t.Fatalf("40 at once: %d through, wait %v; want 20, 30s", through.Load(), w)
	}
}
