package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/throttle"
)

// Throttles is the contract of a throttle.Store (the in-process one and the
// Mongo store's): a compare-and-set that writes only over the state it was
// given (the zero State: no record), resets, the sweep of what limits
// nothing, and, when atomic, exactly one winner among writers racing from
// one state (FerretDB v1.24 lets several conditional updates win under
// concurrency, so the Mongo store's tests pass atomic only on MongoDB).
func Throttles(t *testing.T, st throttle.Store, atomicStore bool) {
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
	swap := func(key string, old, next throttle.State, keep time.Time) bool {
		t.Helper()
		ok, err := st.ThrottleSwap(ctx, key, old, next, keep)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if s := states("acct:a"); s[0] != (throttle.State{}) {
		t.Fatalf("an unknown key: %+v", s[0])
	}
	one := throttle.State{Count: 1, Last: t0, Until: t0}
	if !swap("acct:a", throttle.State{}, one, t0.Add(time.Minute)) {
		t.Fatal("the first write of a key did not take")
	}
	if swap("acct:a", throttle.State{}, one, t0.Add(time.Minute)) {
		t.Fatal("a write from no record over an existing one took")
	}
	two := throttle.State{Count: 2, Last: t0.Add(time.Second), Until: t0.Add(2 * time.Second)}
	if swap("acct:a", throttle.State{Count: 1, Last: t0, Until: t0.Add(time.Second)}, two, t0.Add(time.Minute)) {
		t.Fatal("a write over another state took")
	}
	if !swap("acct:a", one, two, t0.Add(time.Minute)) {
		t.Fatal("a write over the current state did not take")
	}
	if s := states("acct:b", "acct:a"); s[0] != (throttle.State{}) || s[1].Count != 2 || !s[1].Last.Equal(two.Last) || !s[1].Until.Equal(two.Until) {
		t.Fatalf("states: %+v", s)
	}

	// Reset forgets the keys named, and only those.
	if !swap("acct:c", throttle.State{}, one, t0.Add(time.Minute)) {
		t.Fatal("acct:c not written")
	}
	if err := st.ThrottleReset(ctx, "acct:a", "acct:unknown"); err != nil {
		t.Fatal(err)
	}
	if s := states("acct:a", "acct:c"); s[0] != (throttle.State{}) || s[1].Count != 1 {
		t.Fatalf("after the reset: %+v", s)
	}

	// The sweep deletes what neither holds (Until) nor is kept past its time.
	if !swap("acct:held", throttle.State{}, throttle.State{Count: 6, Last: t0, Until: t0.Add(10 * time.Minute)}, t0) {
		t.Fatal("acct:held not written")
	}
	if !swap("acct:kept", throttle.State{}, throttle.State{Count: 1, Last: t0, Until: t0}, t0.Add(24*time.Hour)) {
		t.Fatal("acct:kept not written")
	}
	if !swap("addr:x", throttle.State{}, throttle.State{Last: t0, Until: t0.Add(time.Hour)}, t0.Add(time.Hour)) {
		t.Fatal("addr:x not written")
	}
	// At t0+30m: addr:x (until t0+1h) and acct:kept (kept to t0+24h)
	// limit still; acct:c (kept to t0+1m) and acct:held (held to t0+10m)
	// limit nothing.
	n, err := st.DeleteExpiredThrottles(ctx, t0.Add(30*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("the sweep deleted %d (%v), want 2", n, err)
	}
	if s := states("addr:x", "acct:kept", "acct:c", "acct:held"); !s[0].Until.Equal(t0.Add(time.Hour)) || s[1].Count != 1 || s[2] != (throttle.State{}) || s[3] != (throttle.State{}) {
		t.Fatalf("after the sweep: %+v", s)
	}

	if !atomicStore {
		t.Log("racing writers not checked: the store is not atomic under concurrency (FerretDB v1.24)")
		return
	}
	// Racing writers (several instances): of those swapping from one
	// state, exactly one wins; counting by read-and-swap loses nothing.
	var wins atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := st.ThrottleSwap(ctx, "race:first", throttle.State{}, one, t0); err != nil {
				t.Error(err)
			} else if ok {
				wins.Add(1)
			}
			for done := 0; done < 25; {
				s, err := st.ThrottleStates(ctx, []string{"race:count"})
				if err != nil {
					t.Error(err)
					return
				}
				next := throttle.State{Count: s[0].Count + 1, Last: t0, Until: t0}
				ok, err := st.ThrottleSwap(ctx, "race:count", s[0], next, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					done++
				}
			}
		}()
	}
	wg.Wait()
	if s := states("race:count"); wins.Load() != 1 || s[0].Count != 200 {
		t.Fatalf("racing writers: %d first writes won (want 1), count %d after 8 x 25 (want 200)", wins.Load(), s[0].Count)
	}
}
