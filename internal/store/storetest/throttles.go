package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/throttle"
)

// Throttles is the contract of a throttle.Store (the in-process one and the
// Mongo store's): counts that start afresh, holds and advances that only
// move forward, resets, the sweep of what limits nothing, and, when atomic,
// no failure lost between racing writers (FerretDB v1.24 loses $inc under
// concurrency, so the Mongo store's tests pass atomic only on MongoDB).
func Throttles(t *testing.T, st throttle.Store, atomic bool) {
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0).UTC()
	states := func(keys ...string) []throttle.State {
		t.Helper()
		got, err := st.ThrottleStates(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(keys) {
			t.Fatalf("%d states for %d keys", len(got), len(keys))
		}
		return got
	}
	count := func(key string, at time.Time) int64 {
		t.Helper()
		n, err := st.ThrottleCount(ctx, key, at, at.Add(-time.Minute), at.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if s := states("acct:a"); s[0] != (throttle.State{}) {
		t.Fatalf("an unknown key: %+v", s[0])
	}
	for i := range 3 {
		if n := count("acct:a", t0.Add(time.Duration(i)*time.Second)); n != int64(i+1) {
			t.Fatalf("count %d: %d", i+1, n)
		}
	}
	if s := states("acct:b", "acct:a"); s[0] != (throttle.State{}) || s[1].Count != 3 || !s[1].Last.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("states: %+v", s)
	}
	// A count after more than a minute of quiet (since) starts afresh.
	if n := count("acct:a", t0.Add(2*time.Minute)); n != 1 {
		t.Fatalf("a count after the quiet: %d, want 1", n)
	}

	// Holds only move forward.
	for _, until := range []time.Time{t0.Add(time.Minute), t0.Add(time.Second)} {
		if err := st.ThrottleHold(ctx, "acct:a", until); err != nil {
			t.Fatal(err)
		}
	}
	if s := states("acct:a"); !s[0].Until.Equal(t0.Add(time.Minute)) || s[0].Count != 1 {
		t.Fatalf("after the holds: %+v", s[0])
	}

	// Advance: from now when behind it, from Until when ahead.
	for i, want := range []time.Time{t0.Add(30 * time.Second), t0.Add(time.Minute)} {
		got, err := st.ThrottleAdvance(ctx, "addr:x", t0, 30*time.Second)
		if err != nil || !got.Equal(want) {
			t.Fatalf("advance %d: %v %v, want %v", i+1, got, err, want)
		}
	}
	if got, err := st.ThrottleAdvance(ctx, "addr:x", t0.Add(time.Hour), 30*time.Second); err != nil || !got.Equal(t0.Add(time.Hour+30*time.Second)) {
		t.Fatalf("advance after the bucket refilled: %v %v", got, err)
	}

	// Reset forgets the keys named, and only those.
	count("acct:c", t0)
	if err := st.ThrottleReset(ctx, "acct:a", "acct:unknown"); err != nil {
		t.Fatal(err)
	}
	if s := states("acct:a", "acct:c"); s[0] != (throttle.State{}) || s[1].Count != 1 {
		t.Fatalf("after the reset: %+v", s)
	}

	// The sweep deletes what neither holds nor is kept past its time.
	if err := st.ThrottleHold(ctx, "acct:held", t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// At t0+30m: addr:x (TAT t0+1h30s) limits still; acct:c (kept to
	// t0+1m) and acct:held (held to t0+10m) limit nothing.
	n, err := st.DeleteExpiredThrottles(ctx, t0.Add(30*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("the sweep deleted %d (%v), want 2", n, err)
	}
	if s := states("addr:x", "acct:c", "acct:held"); !s[0].Until.Equal(t0.Add(time.Hour+30*time.Second)) || s[1] != (throttle.State{}) || s[2] != (throttle.State{}) {
		t.Fatalf("after the sweep: %+v", s)
	}

	if !atomic {
		t.Log("racing writers not checked: the store is not atomic under concurrency (FerretDB v1.24)")
		return
	}
	// Racing writers (several instances): no failure is lost.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if _, err := st.ThrottleCount(ctx, "race:count", t0, t0.Add(-time.Minute), t0.Add(time.Minute)); err != nil {
					t.Error(err)
					return
				}
				if _, err := st.ThrottleAdvance(ctx, "race:bucket", t0, time.Second); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s := states("race:count", "race:bucket"); s[0].Count != 200 || !s[1].Until.Equal(t0.Add(200*time.Second)) {
		t.Fatalf("after 8 x 25 racing failures: count %d, TAT %v (want 200, t0+200s)", s[0].Count, s[1].Until.Sub(t0))
	}
}
