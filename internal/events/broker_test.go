package events

import (
	"context"
	"runtime"
	"testing"
)

func TestBrokerFiltersAndDropsSlowSubscribers(t *testing.T) {
	b := NewBroker()
	reported := 0
	b.OnDrop(func() { reported++ })
	mine := b.Subscribe(func(e Event) bool { return e.CustomerID == "me" })
	slow := b.Subscribe(func(Event) bool { return true })
	b.Publish(Event{ID: "1", CustomerID: "other"})
	b.Publish(Event{ID: "2", CustomerID: "me"})
	if e := <-mine.C; e.ID != "2" {
		t.Fatalf("got %s, want only event 2", e.ID)
	}
	for i := range subscriberBuffer + 1 {
		b.Publish(Event{ID: string(rune('a' + i%26)), CustomerID: "x"})
	}
	n := 0
	for range slow.C {
		n++
	}
	if n != subscriberBuffer {
		t.Fatalf("slow subscriber got %d events before being dropped, want %d", n, subscriberBuffer)
	}
	if subscribers(b) != 1 {
		t.Fatalf("subscribers = %d, want 1", subscribers(b))
	}
	if b.Dropped() != 1 || reported != 1 {
		t.Fatalf("a dropped subscriber: Dropped() = %d, OnDrop called %d times; want 1 and 1", b.Dropped(), reported)
	}
	mine.Cancel()
	mine.Cancel() // twice is harmless
	if _, open := <-mine.C; open || subscribers(b) != 0 {
		t.Fatal("cancelled subscription still open")
	}
}

func TestFeedMapsSkipsAndDropsSlowSubscribers(t *testing.T) {
	b := NewBroker()
	sub, c := Feed(b, func(e Event) bool { return e.CustomerID == "me" }, func(e Event) (string, bool) {
		return "mapped " + e.ID, e.Type != "skip"
	})
	b.Publish(Event{ID: "1", CustomerID: "other"})
	b.Publish(Event{ID: "2", CustomerID: "me", Type: "skip"})
	b.Publish(Event{ID: "3", CustomerID: "me"})
	if v := <-c; v != "mapped 3" {
		t.Fatalf("got %q, want only event 3, mapped", v)
	}
	for i := range subscriberBuffer + 1 {
		b.Publish(Event{ID: string(rune('a' + i)), CustomerID: "me"})
	}
	n := 0
	for range c {
		n++
	}
	if n != subscriberBuffer || subscribers(b) != 0 {
		t.Fatalf("slow feed got %d values before being dropped (want %d); %d subscribers left", n, subscriberBuffer, subscribers(b))
	}
	sub.Cancel() // after being dropped: harmless
}

func TestReactHandlesEventsInOrderUntilCancelled(t *testing.T) {
	b := NewBroker()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 8)
	b.React(ctx, func(e Event) bool { return e.CustomerID == "me" }, func(e Event) { got <- e.ID })
	for _, e := range []Event{{ID: "1", CustomerID: "me"}, {ID: "2", CustomerID: "other"}, {ID: "3", CustomerID: "me"}} {
		b.Publish(e) // subscribed before React returned: none is missed
	}
	for _, want := range []string{"1", "3"} {
		if id := <-got; id != want {
			t.Fatalf("handled %s, want %s", id, want)
		}
	}
	cancel()
	for subscribers(b) > 0 { // the goroutine cancels its subscription on its way out
		runtime.Gosched()
	}
}

func subscribers(b *Broker) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Publishing numbers the events in the order they are published, and a
// deliver sees its own event's number (what a Gate compares).
func TestPublishingNumbersEventsInOrder(t *testing.T) {
	b := NewBroker()
	var seen []uint64
	s := b.SubscribeFunc(func(Event) bool { return true }, func(Event) bool { seen = append(seen, b.Publishing()); return true }, nil)
	defer s.Cancel()
	for range 3 {
		b.Publish(Event{ID: "e"})
	}
	if len(seen) != 3 || seen[0] != 1 || seen[1] != 2 || seen[2] != 3 {
		t.Errorf("numbers seen %v, want [1 2 3]", seen)
	}
}
