package throttle

import (
	"context"
	"fmt"
	"time"
)

// Backoff slows down guessing at one target (an account, a device token):
// the first Free failures in a row are answered; the Free-th starts a
// back-off of Base, and each further failure doubles it, up to Max
// (Base, 2*Base, 4*Base, ...). While a back-off runs, attempts are refused
// and not counted. A key whose last failure is older than Max starts afresh;
// a success forgets it (Reset). Its state lives in a Store, shared by every
// instance that shares the store.
type Backoff struct {
	store Store
	free  int
	base  time.Duration
	max   time.Duration
	now   func() time.Time
}

// NewBackoff returns a Backoff over store. free must be at least 1.
func NewBackoff(store Store, free int, base, longest time.Duration, now func() time.Time) *Backoff {
	return &Backoff{store: store, free: max(free, 1), base: base, max: longest, now: now}
}

// Wait returns how long the longest back-off among keys still runs; zero
// means an attempt may be made now. It returns the store's error, if any.
func (b *Backoff) Wait(ctx context.Context, keys ...string) (time.Duration, error) {
	states, err := b.store.ThrottleStates(ctx, keys)
	if err != nil {
		return 0, fmt.Errorf("read back-off: %w", err)
	}
	now, wait := b.now(), time.Duration(0)
	for _, s := range states {
		if s.Until.After(now) {
			wait = max(wait, s.Until.Sub(now))
		}
	}
	return wait, nil
}

// Fail counts a failed attempt of key and returns the back-off it starts:
// zero for the first Free-1 failures in a row, then Base, 2*Base, ... up
// to Max. It returns the store's error, if any.
func (b *Backoff) Fail(ctx context.Context, key string) (time.Duration, error) {
	now := b.now()
	n, err := b.store.ThrottleCount(ctx, key, now, now.Add(-b.max), now.Add(b.max))
	if err != nil {
		return 0, fmt.Errorf("count failure: %w", err)
	}
	wait := BackoffAfter(int(min(n, 1<<20)), b.free, b.base, b.max)
	if wait == 0 {
		return 0, nil
	}
	if err := b.store.ThrottleHold(ctx, key, now.Add(wait)); err != nil {
		return 0, fmt.Errorf("hold back-off: %w", err)
	}
	return wait, nil
}

// BackoffAfter is the back-off that the n-th failure in a row starts, with
// free failures before the first back-off: zero for n < free, base for
// n == free, doubling with each further failure up to longest.
func BackoffAfter(n, free int, base, longest time.Duration) time.Duration {
	over := n - free
	if over < 0 {
		return 0
	}
	if over < 30 && base<<over < longest {
		return base << over
	}
	return longest
}

// Reset forgets the failures of keys, after a success.
func (b *Backoff) Reset(ctx context.Context, keys ...string) error {
	if err := b.store.ThrottleReset(ctx, keys...); err != nil {
		return fmt.Errorf("reset back-off: %w", err)
	}
	return nil
}

// Bucket is a budget of failures per key (a client address) that refills
// over time: a token bucket of Size failures that gains one every Refill,
// kept as a single time per key (the generic cell rate algorithm, GCRA, of
// ITU-T I.371: the theoretical arrival time TAT). A failure moves TAT to
// max(TAT, now) + Refill; an attempt may be made while
// TAT - now <= (Size-1) * Refill, that is while one failure is left. So a
// burst of Size failures goes through, then one per Refill; the wait never
// exceeds Refill, however long the guessing lasts. Its state lives in a
// Store, shared by every instance that shares the store.
type Bucket struct {
	store  Store
	size   int
	refill time.Duration
	now    func() time.Time
}

// NewBucket returns a Bucket over store. size must be at least 1.
func NewBucket(store Store, size int, refill time.Duration, now func() time.Time) *Bucket {
	return &Bucket{store: store, size: max(size, 1), refill: refill, now: now}
}

// Wait returns how long key must wait until its budget has a failure left;
// zero means now. It returns the store's error, if any.
func (b *Bucket) Wait(ctx context.Context, key string) (time.Duration, error) {
	states, err := b.store.ThrottleStates(ctx, []string{key})
	if err != nil {
		return 0, fmt.Errorf("read budget: %w", err)
	}
	return b.waitFor(states[0].Until, b.now()), nil
}

// Spend takes one failure from key's budget and returns how long key must
// now wait: zero while failures are left. It returns the store's error, if
// any.
func (b *Bucket) Spend(ctx context.Context, key string) (time.Duration, error) {
	now := b.now()
	tat, err := b.store.ThrottleAdvance(ctx, key, now, b.refill)
	if err != nil {
		return 0, fmt.Errorf("spend budget: %w", err)
	}
	return b.waitFor(tat, now), nil
}

func (b *Bucket) waitFor(tat, now time.Time) time.Duration {
	if !tat.After(now) { // a full budget (a zero TAT too: no failures)
		return 0
	}
	return max(0, tat.Sub(now)-time.Duration(b.size-1)*b.refill)
}
