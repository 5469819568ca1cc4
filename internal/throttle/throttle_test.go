package throttle

import (
	"testing"
	"time"
)

func TestBackOffDoublesAndResets(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(3, time.Second, time.Minute, func() time.Time { return now })
	for range 3 {
		l.Fail("acct")
		if w := l.Wait("acct"); w != 0 {
			t.Fatalf("blocked after a free failure: %v", w)
		}
	}
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		l.Fail("acct")
		if w := l.Wait("acct"); w != want {
			t.Fatalf("wait = %v, want %v", w, want)
		}
	}
	for range 20 {
		l.Fail("acct")
	}
	if w := l.Wait("acct"); w != time.Minute {
		t.Fatalf("wait = %v, want the cap of a minute", w)
	}
	if w := l.Wait("other"); w != 0 {
		t.Fatalf("another key waits %v", w)
	}
	now = now.Add(time.Minute)
	if w := l.Wait("acct"); w != 0 {
		t.Fatalf("still blocked after the back-off: %v", w)
	}
	l.Reset("acct")
	l.Fail("acct")
	if w := l.Wait("acct"); w != 0 {
		t.Fatalf("blocked right after a reset: %v", w)
	}
}
