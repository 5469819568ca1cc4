package events

import (
	"context"
	"sync"
	"sync/atomic"
)

// subscriberBuffer is how many events a channel subscriber may fall behind
// before it is dropped (its channel closed) rather than slowing everyone down.
// One GraphQL request emits at most MAX_ROOT_FIELDS (default 10) mutations,
// each at most a few events (an assisted updateDevice: DEVICE_UPDATED and
// ASSIST_ACTION); 256 holds several such bursts at once for a socket whose
// writes lag, at a pointer or small value each (about 2 KB a subscriber).
// A dropped subscriber is counted (Dropped) and reported (OnDrop); the
// pages subscribe again when the server completes their subscription.
const subscriberBuffer = 256

// Broker fans events out to the subscribers of this process. The store's
// tail feeds it, so events of every process sharing the store arrive here.
type Broker struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	dropped atomic.Uint64
	onDrop  func()
	number  atomic.Uint64 // of the event being published (see Publishing)
}

// Publishing returns the number of the event Publish is delivering (or last
// delivered): events are numbered from 1 in the order they are published,
// so a filter or deliver that Publish calls sees its event's own number.
func (b *Broker) Publishing() uint64 { return b.number.Load() }

// A Gate says whether a receiver of events (a WebSocket connection) may
// still be given the event numbered n (Broker.Publishing): once what it
// stands for has ended (its session, its account), it takes the event that
// ended it and none after, though it closes a moment later.
type Gate interface {
	Open(n uint64) bool
}

type gateKey struct{}

// WithGate returns ctx carrying g, the gate of the receiver that ctx's
// subscriptions deliver to.
func WithGate(ctx context.Context, g Gate) context.Context {
	return context.WithValue(ctx, gateKey{}, g)
}

// GateOf returns the gate ctx carries, or nil.
func GateOf(ctx context.Context) Gate {
	g, _ := ctx.Value(gateKey{}).(Gate)
	return g
}

// Subscription receives the events its filter accepts until it is
// cancelled or falls behind.
type Subscription struct {
	// C carries the events of a subscription made with Subscribe (nil for
	// Feed and SubscribeFunc); it is closed when the subscription ends.
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

// Subscribe returns a subscription whose channel C receives the events
// filter accepts, as Feed does.
func (b *Broker) Subscribe(filter func(Event) bool) *Subscription {
	s, c := Feed(b, filter, func(e Event) (Event, bool) { return e, true })
	s.C = c
	return s
}

// Feed subscribes to the events of b that filter accepts and returns the
// subscription and a channel of their mappings, skipping the events mapping
// refuses. The channel holds subscriberBuffer values: a subscriber that
// falls further behind is dropped rather than slowing everyone down. It is
// closed when the subscription ends, cancelled or dropped. mapping runs in
// the publishing goroutine, like SubscribeFunc's deliver; Feed needs no
// goroutine of its own.
func Feed[T any](b *Broker, filter func(Event) bool, mapping func(Event) (T, bool)) (*Subscription, <-chan T) {
	c := make(chan T, subscriberBuffer)
	s := b.SubscribeFunc(filter, func(e Event) bool {
		v, ok := mapping(e)
		if !ok {
			return true
		}
		select {
		case c <- v:
			return true
		default:
			return false
		}
	}, func() { close(c) })
	return s, c
}

// React calls handle, in order and in a goroutine of its own, with every
// event of b that filter accepts, until ctx ends. It subscribes before it
// returns, so no event published after the call is missed; if handle falls
// subscriberBuffer events behind, it subscribes again rather than slowing
// every other subscriber down (the events in between are lost to it).
func (b *Broker) React(ctx context.Context, filter func(Event) bool, handle func(Event)) {
	sub := b.Subscribe(filter)
	go func() {
		defer func() { sub.Cancel() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, open := <-sub.C:
				if !open {
					sub = b.Subscribe(filter)
					continue
				}
				handle(e)
			}
		}
	}()
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

// OnDrop sets f, called once for each subscriber dropped because it fell
// subscriberBuffer events behind (from the publishing goroutine; f must not
// block). Call it before the first Publish.
func (b *Broker) OnDrop(f func()) { b.onDrop = f }

// Dropped is how many subscribers were dropped for falling behind since b
// was made.
func (b *Broker) Dropped() uint64 { return b.dropped.Load() }

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
	b.number.Add(1)
	var slow []*Subscription
	for s := range b.subs {
		if s.filter(e) && !s.deliver(e) {
			slow = append(slow, s)
		}
	}
	b.mu.Unlock()
	for _, s := range slow {
		b.dropped.Add(1)
		if b.onDrop != nil {
			b.onDrop()
		}
		s.Cancel()
	}
}
