package events

import (
	"sync"
)

// subscriberBuffer is how many events a subscriber may fall behind before it
// is dropped (its channel closed) rather than slowing everyone down.
const subscriberBuffer = 16

// Broker fans events out to the subscribers of this process. The store's
// tail feeds it, so events of every process sharing the store arrive here.
type Broker struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives the events its filter accepts on C, until it is
// cancelled or falls behind; then C is closed.
type Subscription struct {
	C      <-chan Event
	c      chan Event
	filter func(Event) bool
	broker *Broker
	once   sync.Once
}

// NewBroker returns a Broker without subscribers.
func NewBroker() *Broker {
	return &Broker{subs: map[*Subscription]struct{}{}}
}

// Subscribe returns a subscription to the events filter accepts.
func (b *Broker) Subscribe(filter func(Event) bool) *Subscription {
	c := make(chan Event, subscriberBuffer)
	s := &Subscription{C: c, c: c, filter: filter, broker: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Cancel ends the subscription and closes C.
func (s *Subscription) Cancel() {
	s.once.Do(func() {
		s.broker.mu.Lock()
		delete(s.broker.subs, s)
		s.broker.mu.Unlock()
		close(s.c)
	})
}

// Publish hands e to every subscriber that wants it, without waiting.
func (b *Broker) Publish(e Event) {
	b.mu.Lock()
	var slow []*Subscription
	for s := range b.subs {
		if !s.filter(e) {
			continue
		}
		select {
		case s.c <- e:
		default:
			slow = append(slow, s)
		}
	}
	b.mu.Unlock()
	for _, s := range slow {
		s.Cancel()
	}
}

// Subscribers returns how many subscriptions are open.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
