package throttle

import (
	"context"
	"sync"
	"time"
)

// State is what a Store keeps of one key. A Backoff keeps Count, Last and
// Until (the end of its back-off); a Bucket keeps Until only (its
// theoretical arrival time, see Bucket) and the time of its last change in
// Last.
type State struct {
	Count int64     // failures counted since the key started afresh
	Last  time.Time // when the last of them was counted
	Until time.Time // Backoff: refused until then; Bucket: its theoretical arrival time
}

// Store keeps the state of the limiters. Each operation is atomic on its key,
// so that several instances sharing one store (the Mongo store) share one
// budget: N instances do not multiply an attacker's attempts by N. NewMemory
// keeps it in the process (the embedded store: one instance).
type Store interface {
	// ThrottleStates returns the state of each key, in order; the zero State
	// for a key with none.
	ThrottleStates(ctx context.Context, keys []string) ([]State, error)
	// ThrottleSwap sets key's state to next, kept at least until keep, if
	// its state is old (the zero State: no record; next zero: delete it),
	// and reports whether it
	// did: one atomic compare-and-set, so that of writers racing from one
	// state exactly one wins (the limiters then read again and retry).
	ThrottleSwap(ctx context.Context, key string, old, next State, keep time.Time) (bool, error)
	// ThrottleReset forgets keys.
	ThrottleReset(ctx context.Context, keys ...string) error
	// DeleteExpiredThrottles removes the records whose Until and keep are both
	// before before (they no longer limit anything) and returns how many.
	DeleteExpiredThrottles(ctx context.Context, before time.Time) (int64, error)
}

// Memory is a Store in the process. Past maxKeys keys, the expired ones are
// dropped at the next new key.
type Memory struct {
	mu      sync.Mutex
	records map[string]*memRecord
}

type memRecord struct {
	State
	keep time.Time
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory { return &Memory{records: map[string]*memRecord{}} }

var _ Store = (*Memory)(nil)

// ThrottleStates implements Store.
func (m *Memory) ThrottleStates(_ context.Context, keys []string) ([]State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]State, len(keys))
	for i, k := range keys {
		if r, ok := m.records[k]; ok {
			out[i] = r.State
		}
	}
	return out, nil
}

func (m *Memory) record(key string, now time.Time) *memRecord {
	r, ok := m.records[key]
	if !ok {
		if len(m.records) >= maxKeys {
			m.sweep(now)
		}
		r = &memRecord{}
		m.records[key] = r
	}
	return r
}

// ThrottleSwap implements Store.
func (m *Memory) ThrottleSwap(_ context.Context, key string, old, next State, keep time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cur State
	if r, ok := m.records[key]; ok {
		cur = r.State
	}
	if !cur.Last.Equal(old.Last) || !cur.Until.Equal(old.Until) || cur.Count != old.Count {
		return false, nil
	}
	if next == (State{}) {
		delete(m.records, key)
		return true, nil
	}
	r := m.record(key, next.Last)
	r.State = next
	if keep.After(r.keep) {
		r.keep = keep
	}
	return true, nil
}

// ThrottleReset implements Store.
func (m *Memory) ThrottleReset(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.records, k)
	}
	return nil
}

// DeleteExpiredThrottles implements Store.
func (m *Memory) DeleteExpiredThrottles(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sweep(before), nil
}

func (m *Memory) sweep(before time.Time) int64 {
	var n int64
	for k, r := range m.records {
		if r.Until.Before(before) && r.keep.Before(before) {
			delete(m.records, k)
			n++
		}
	}
	return n
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
