package clock

import (
	"testing"
	"time"
)

func TestShiftedClockMovesAndFiresTimers(t *testing.T) {
	var c Shifted
	start := c.Now()
	fired := make(chan string, 3)
	c.AfterFunc(time.Hour, func() { fired <- "hour" })
	stopped := c.AfterFunc(time.Hour, func() { fired <- "stopped" })
	c.AfterFunc(3*time.Hour, func() { fired <- "three hours" })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop reports a pending timer once")
	}

	c.Advance(59 * time.Minute)
	select {
	case f := <-fired:
		t.Fatalf("%s fired a minute early", f)
	case <-time.After(20 * time.Millisecond):
	}
	c.Advance(time.Minute)
	select {
	case f := <-fired:
		if f != "hour" {
			t.Fatalf("fired %s", f)
		}
	case <-time.After(time.Second):
		t.Fatal("the hour's timer did not fire when the clock reached it")
	}
	if got := c.Now().Sub(start); got < time.Hour || got > time.Hour+time.Second {
		t.Fatalf("advanced by %s, want an hour", got)
	}
	select {
	case f := <-fired:
		t.Fatalf("%s fired", f)
	case <-time.After(20 * time.Millisecond):
	}
}

func TestShiftedTimersFireInRealTimeToo(t *testing.T) {
	var c Shifted
	fired := make(chan struct{})
	c.AfterFunc(10*time.Millisecond, func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(time.Second):
		t.Fatal("a timer did not fire as real time passed")
	}
	c.Advance(time.Hour) // firing again would close a closed channel
}

func TestSystemClockIsUTCMilliseconds(t *testing.T) {
	now := System().Now()
	if now.Location() != time.UTC || now.Nanosecond()%int(time.Millisecond) != 0 {
		t.Fatalf("System().Now() = %v", now)
	}
}

func TestManualClockStandsStillUntilMoved(t *testing.T) {
	start := time.Date(2031, 3, 14, 9, 26, 53, 0, time.UTC)
	m := NewManual(start)
	time.Sleep(2 * time.Millisecond)
	if !m.Now().Equal(start) {
		t.Fatalf("Now() = %v, want %v", m.Now(), start)
	}
	m.Advance(time.Hour)
	if !m.Now().Equal(start.Add(time.Hour)) {
		t.Fatalf("after Advance: %v", m.Now())
	}
	m.Set(start)
	if !m.Now().Equal(start) {
		t.Fatalf("after Set: %v", m.Now())
	}
}
