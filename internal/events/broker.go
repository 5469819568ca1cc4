package events

import (
	"sync"
)

// subscriberBuffer is how many events a channel subscriber may fall behind
// before it is dropped (its channel closed) rather than slowing everyone down.
const subscriberBuffer = 16

// Broker fans events out to the subscribers of this process. The store's
// tail feeds it, so events of every process sharing the store arrive here.
type Broker struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives the events its filter accepts until it is
// cancelled or falls behind.
type Subscription struct {
	// C carries the events of a subscription made with Subscribe; it is
	// closed when the subscription ends.
	C <-chan Event

	filter  func(Event) bool
	deliver func(Event) bool // false: the subscriber cannot keep up
	onEnd   func()
	broker  *Broker
	once    sync.Once
}

// NewBroker returns a Broker without subscribers.
func NewBroker() *Broker {
	return &Broker{subs: map[*Subscription]struct{}{}}
}

// Subscribe returns a subscription whose channel C receives the events filter accepts.
func (b *Broker) Subscribe(filter func(Event) bool) *Subscription {
	c := make(chan Event, subscriberBuffer)
	s := b.SubscribeFunc(filter, func(e Event) bool {
		select {
		case c <- e:
			return true
		default:
			return false
		}
	}, func() { close(c) })
	s.C = c
	return s
}

// SubscribeFunc calls deliver, from the publishing goroutine, with every
// event filter accepts; deliver must not block and returns false when the
// subscriber cannot keep up, which ends the subscription. onEnd runs once
// when the subscription ends, after the last deliver has returned. It needs
// no goroutine of its own, which matters at tens of thousands of sockets.
func (b *Broker) SubscribeFunc(filter func(Event) bool, deliver func(Event) bool, onEnd func()) *Subscription {
	s := &Subscription{filter: filter, deliver: deliver, onEnd: onEnd, broker: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Cancel ends the subscription.
func (s *Subscription) Cancel() {
	s.once.Do(func() {
		s.broker.mu.Lock()
		delete(s.broker.subs, s)
		s.broker.mu.Unlock()
		if s.onEnd != nil {
			s.onEnd()
		}
	})
}

// Publish hands e to every subscriber that wants it, without waiting. It is
// called from one goroutine, the store's tail.
func (b *Broker) Publish(e Event) {
	b.mu.Lock()
	var slow []*Subscription
	for s := range b.subs {
		if s.filter(e) && !s.deliver(e) {
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
