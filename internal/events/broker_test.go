package events

import "testing"

func TestBrokerFiltersAndDropsSlowSubscribers(t *testing.T) {
	b := NewBroker()
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
	if b.Subscribers() != 1 {
		t.Fatalf("subscribers = %d, want 1", b.Subscribers())
	}
	mine.Cancel()
	mine.Cancel() // twice is harmless
	if _, open := <-mine.C; open || b.Subscribers() != 0 {
		t.Fatal("cancelled subscription still open")
	}
}
