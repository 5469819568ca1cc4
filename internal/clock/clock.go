// Package clock is the time the service runs on. Services take a Clock (or
// its Now) rather than reading the system's, so that tests of expiry (a
// session's lifetime, an assistance's, a ticket's) move the clock instead of
// sleeping.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time and runs functions when a duration has passed.
type Clock interface {
	// Now returns the current time in UTC at millisecond precision, the
	// precision both stores keep.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed on this
	// clock. Stop on the returned Timer cancels the call.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop cancels the call; it reports whether it did (false when the call
	// has run or was already stopped).
	Stop() bool
}

// System returns the machine's clock.
func System() Clock { return system{} }

type system struct{}

func (system) Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func (system) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Shifted is a clock for tests: it runs with the system clock plus an offset
// that Advance moves forward. Time goes on as usual between Advances (the
// order of real events and the durations between them stay true), and a
// test jumps over a session's lifetime in an instant. Timers fire when the
// real time or an Advance reaches them, whichever comes first. The zero
// value is a clock with no offset.
type Shifted struct {
	mu     sync.Mutex
	offset time.Duration
	timers map[*shiftedTimer]struct{}
}

// Now implements Clock.
func (s *Shifted) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Shifted) now() time.Time { return System().Now().Add(s.offset) }

// AfterFunc implements Clock.
func (s *Shifted) AfterFunc(d time.Duration, f func()) Timer {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &shiftedTimer{clock: s, at: s.now().Add(d), f: f}
	t.real = time.AfterFunc(d, t.fire)
	if s.timers == nil {
		s.timers = map[*shiftedTimer]struct{}{}
	}
	s.timers[t] = struct{}{}
	return t
}

// Advance moves the clock forward by d and fires every timer due by then.
func (s *Shifted) Advance(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	now := s.now()
	var due []*shiftedTimer
	for t := range s.timers {
		if !t.at.After(now) {
			due = append(due, t)
		} else {
			t.real.Reset(t.at.Sub(now))
		}
	}
	s.mu.Unlock()
	for _, t := range due {
		t.fire()
	}
}

type shiftedTimer struct {
	clock *Shifted
	at    time.Time
	f     func()
	real  *time.Timer
	once  sync.Once
}

// fire runs f once, whether the real timer or an Advance got there first.
func (t *shiftedTimer) fire() {
	if t.forget() {
		t.once.Do(func() { go t.f() })
	}
}

// Stop implements Timer.
func (t *shiftedTimer) Stop() bool {
	t.real.Stop()
	return t.forget()
}

// forget removes t from its clock and reports whether it was pending.
func (t *shiftedTimer) forget() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	_, pending := t.clock.timers[t]
	delete(t.clock.timers, t)
	return pending
}

// Manual is the time of a unit test that stands still until the test moves
// it, so that it can check an instant exactly (refused at the expiry,
// accepted a millisecond before). Services take its Now; it has no timers.
type Manual struct {
	mu sync.Mutex
	t  time.Time
}

// NewManual returns a Manual clock at t.
func NewManual(t time.Time) *Manual { return &Manual{t: t} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.t
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.t = m.t.Add(d)
	m.mu.Unlock()
}

// Set moves the clock to t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.t = t
	m.mu.Unlock()
}
