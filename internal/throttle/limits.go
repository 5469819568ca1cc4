package throttle

import (
	"context"
	"fmt"
	"time"
)

// Backoff slows down guessing at one target (an account, a device token):
// the first Free attempts in a row are answered; the Free-th starts a
// back-off of Base, and each further failure doubles it, up to Max
// (Base, 2*Base, 4*Base, ...). While a back-off runs, attempts are refused
// and not counted. A key whose last failure is older than Quiet starts
// afresh; a success forgets it (Reset). Its state lives in a Store, shared
// by every instance that shares the store.
//
// An attempt is taken from the allowance before it is checked (Reserve),
// in one atomic compare-and-set of the key's record, so that concurrent
// attempts (one instance or several) cannot all pass before the first
// failure is counted: of N attempts at once, exactly Free are answered.
type Backoff struct {
	store Store
	free  int
	base  time.Duration
	max   time.Duration
	quiet time.Duration
	now   func() time.Time
}

// NewBackoff returns a Backoff over store. free must be at least 1; quiet
// (how long without a failure starts a key afresh) at least longest.
func NewBackoff(store Store, free int, base, longest, quiet time.Duration, now func() time.Time) *Backoff {
	return &Backoff{store: store, free: max(free, 1), base: base, max: longest, quiet: max(quiet, longest), now: now}
}

// maxSwaps bounds the compare-and-set rounds of one reservation; past it
// (that many writers racing on one key: an attack) the attempt is refused.
const maxSwaps = 64

// Wait returns how long the longest back-off among keys still runs; zero
// means an attempt may be made now. It reserves nothing: a cheap refusal
// before any lookup. It returns the store's error, if any.
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

// Reservation is an attempt taken from a Backoff's allowance.
type Reservation struct {
	// Count is the attempt's number in the key's run of failures (1 for
	// the first).
	Count int64
	// Backoff is the back-off the attempt starts (zero for the first
	// Free-1): the key is refused for that long unless the attempt
	// succeeds (Reset). Each non-zero one is one lock-out's start.
	Backoff time.Duration

	key        string
	prev, next State
}

// Reserve counts an attempt of key as a failure before it is made, and
// starts the back-off that failure starts. refused > 0 means key is backing
// off: nothing is counted and the attempt must not be made; retry after
// refused. On success, call Reset. It returns the store's error, if any.
func (b *Backoff) Reserve(ctx context.Context, key string) (r Reservation, refused time.Duration, err error) {
	for range maxSwaps {
		states, err := b.store.ThrottleStates(ctx, []string{key})
		if err != nil {
			return Reservation{}, 0, fmt.Errorf("read back-off: %w", err)
		}
		old, now := states[0], b.now()
		if old.Until.After(now) {
			return Reservation{}, old.Until.Sub(now), nil
		}
		count := old.Count
		if old.Last.Before(now.Add(-b.quiet)) { // quiet long enough: afresh
			count = 0
		}
		n := count + 1
		wait := BackoffAfter(int(min(n, 1<<20)), b.free, b.base, b.max)
		next := State{Count: n, Last: now, Until: now.Add(wait)}
		ok, err := b.store.ThrottleSwap(ctx, key, old, next, now.Add(b.quiet))
		if err != nil {
			return Reservation{}, 0, fmt.Errorf("reserve attempt: %w", err)
		}
		if ok {
			return Reservation{Count: n, Backoff: wait, key: key, prev: old, next: next}, 0, nil
		}
	}
	return Reservation{}, b.base, nil
}

// Cancel gives back r, an attempt reserved and then not made (another limit
// refused it), when nothing was counted on its key since; otherwise it
// stays counted. It returns the store's error, if any.
func (b *Backoff) Cancel(ctx context.Context, r Reservation) error {
	if r.key == "" {
		return nil
	}
	if _, err := b.store.ThrottleSwap(ctx, r.key, r.next, r.prev, time.Time{}); err != nil {
		return fmt.Errorf("cancel attempt: %w", err)
	}
	return nil
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
// zero means now. It reserves nothing. It returns the store's error, if any.
func (b *Bucket) Wait(ctx context.Context, key string) (time.Duration, error) {
	states, err := b.store.ThrottleStates(ctx, []string{key})
	if err != nil {
		return 0, fmt.Errorf("read budget: %w", err)
	}
	return b.waitFor(states[0].Until, b.now()), nil
}

// Reserve takes one failure from key's budget before the attempt is made,
// in one atomic compare-and-set: refused > 0 means none is left (nothing is
// taken, the attempt must not be made; retry after refused, at most one
// Refill). Otherwise after is how long key must wait once this attempt has
// failed: zero while failures are left, non-zero for the attempt that
// empties the budget (a lock-out's start). A success gives the failure back
// (Refund). So the budget never goes below empty, however many attempts
// race. It returns the store's error, if any.
func (b *Bucket) Reserve(ctx context.Context, key string) (after, refused time.Duration, err error) {
	for range maxSwaps {
		states, err := b.store.ThrottleStates(ctx, []string{key})
		if err != nil {
			return 0, 0, fmt.Errorf("read budget: %w", err)
		}
		old, now := states[0], b.now()
		if wait := b.waitFor(old.Until, now); wait > 0 {
			return 0, wait, nil
		}
		tat := later(old.Until, now).Add(b.refill)
		ok, err := b.store.ThrottleSwap(ctx, key, old, State{Last: now, Until: tat}, tat)
		if err != nil {
			return 0, 0, fmt.Errorf("spend budget: %w", err)
		}
		if ok {
			return b.waitFor(tat, now), 0, nil
		}
	}
	return 0, b.refill, nil
}

// Refund gives back a failure Reserve took, after a success (or an attempt
// not made). It returns the store's error, if any.
func (b *Bucket) Refund(ctx context.Context, key string) error {
	for range maxSwaps {
		states, err := b.store.ThrottleStates(ctx, []string{key})
		if err != nil {
			return fmt.Errorf("read budget: %w", err)
		}
		old, now := states[0], b.now()
		if !old.Until.After(now) { // full already
			return nil
		}
		tat := old.Until.Add(-b.refill)
		ok, err := b.store.ThrottleSwap(ctx, key, old, State{Last: now, Until: tat}, tat)
		if err != nil {
			return fmt.Errorf("refund budget: %w", err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("refund budget: %d writers racing", maxSwaps)
}

func (b *Bucket) waitFor(tat, now time.Time) time.Duration {
	if !tat.After(now) { // a full budget (a zero TAT too: no failures)
		return 0
	}
	return max(0, tat.Sub(now)-time.Duration(b.size-1)*b.refill)
}
