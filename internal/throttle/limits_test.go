package throttle_test

import (
	"context"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/store/storetest"
	"github.com/iotconsole/bff/internal/throttle"
)

func TestMemoryStoreContract(t *testing.T) {
	storetest.Throttles(t, throttle.NewMemory(), true)
}

// The back-off's thresholds, counted: with 5 free, the 5th failure in a row
// starts 1 s, so the 6th attempt at once is the first refused.
func TestBackoffCounts(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(0, 0)
	b := throttle.NewBackoff(throttle.NewMemory(), 5, time.Second, time.Minute, func() time.Time { return now })
	for i := 1; i <= 4; i++ {
		if w, err := b.Fail(ctx, "acct"); err != nil || w != 0 {
			t.Fatalf("failure %d: back-off %v %v", i, w, err)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		if got, err := b.Fail(ctx, "acct"); err != nil || got != w {
			t.Fatalf("failure %d: back-off %v %v, want %v", i+5, got, err, w)
		}
		if got, _ := b.Wait(ctx, "other", "acct"); got != w {
			t.Fatalf("wait after failure %d: %v, want %v", i+5, got, w)
		}
		now = now.Add(w)
		if got, _ := b.Wait(ctx, "acct"); got != 0 {
			t.Fatalf("still waiting at the back-off's end: %v", got)
		}
	}
	// A key quiet for longer than the longest back-off starts afresh.
	now = now.Add(time.Minute + time.Nanosecond)
	if w, _ := b.Fail(ctx, "acct"); w != 0 {
		t.Fatalf("after a long quiet: %v", w)
	}
	// A reset forgets.
	for range 5 {
		_, _ = b.Fail(ctx, "acct")
	}
	if err := b.Reset(ctx, "acct"); err != nil {
		t.Fatal(err)
	}
	if w, _ := b.Wait(ctx, "acct"); w != 0 {
		t.Fatalf("after a reset: %v", w)
	}
}

// The bucket: a burst of size failures, then one per refill, and the wait
// never grows past one refill however long the guessing lasts.
func TestBucketRefillsAndNeverDoubles(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(0, 0)
	b := throttle.NewBucket(throttle.NewMemory(), 20, 30*time.Second, func() time.Time { return now })
	for i := 1; i <= 19; i++ {
		if w, err := b.Spend(ctx, "addr"); err != nil || w != 0 {
			t.Fatalf("failure %d: wait %v %v", i, w, err)
		}
	}
	if w, _ := b.Spend(ctx, "addr"); w != 30*time.Second {
		t.Fatalf("the 20th failure: wait %v, want 30s", w)
	}
	for range 100 { // a guesser that keeps coming back as soon as allowed
		if w, _ := b.Wait(ctx, "addr"); w > 30*time.Second {
			t.Fatalf("wait %v past one refill", w)
		}
		w, _ := b.Wait(ctx, "addr")
		now = now.Add(w)
		if w, _ := b.Spend(ctx, "addr"); w != 30*time.Second {
			t.Fatalf("a failure at the refill: wait %v", w)
		}
	}
	if w, _ := b.Wait(ctx, "other"); w != 0 {
		t.Fatalf("another address waits %v", w)
	}
	// Ten minutes of quiet give back 20 failures.
	now = now.Add(10 * time.Minute)
	for i := 1; i <= 19; i++ {
		if w, _ := b.Spend(ctx, "addr"); w != 0 {
			t.Fatalf("failure %d after the refill: wait %v", i, w)
		}
	}
}
