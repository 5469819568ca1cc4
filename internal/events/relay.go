package events

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// TailStore is what a Relay needs from storage.
type TailStore interface {
	TailEvents(ctx context.Context, after string, handle func(Event)) error
	SaveTailPosition(ctx context.Context, instance, position string) error
	TailPosition(ctx context.Context, instance string) (string, error)
}

// Relay timing: how often it saves how far it has read, and how long it
// waits before reopening a tail the store ended with an error.
const (
	SavePositionEvery = 5 * time.Second
	RetryTailAfter    = time.Second
)

// Relay feeds a Broker with the events of every process sharing a store, so
// that subscriptions and reactions on this instance hear of changes made on
// any instance.
type Relay struct {
	Store  TailStore
	Broker *Broker
	// Instance names this instance's saved position: after a restart it
	// resumes from there, so that events written while it was down still
	// reach its reactions.
	Instance string
	// OnGap is called when the store lost events before this instance read
	// them (a capped collection overwrote them): whatever this instance
	// derived from the stream can no longer be trusted.
	OnGap func()
	Log   zerolog.Logger
}

// Run relays events until ctx ends, then saves its position and returns.
// It saves the position every SavePositionEvery too, and reopens the tail
// RetryTailAfter after the store fails.
func (r *Relay) Run(ctx context.Context) {
	start, err := r.Store.TailPosition(ctx, r.Instance)
	if err != nil {
		r.Log.Warn().Err(err).Msg("read the saved event position; starting from now")
	}
	p := &position{read: start, saved: start}
	tailCtx, stopTail := context.WithCancel(ctx)
	tailDone := make(chan struct{})
	go func() {
		defer close(tailDone)
		for tailCtx.Err() == nil {
			if err := r.Store.TailEvents(tailCtx, p.current(), r.handle(p)); err != nil && tailCtx.Err() == nil {
				r.Log.Warn().Err(err).Msg("event tail stopped; restarting")
				select {
				case <-tailCtx.Done():
				case <-time.After(RetryTailAfter):
				}
			}
		}
	}()
	ticker := time.NewTicker(SavePositionEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			r.save(ctx, p)
		case <-ctx.Done():
			stopTail()
			<-tailDone
			r.save(context.WithoutCancel(ctx), p)
			return
		}
	}
}

func (r *Relay) handle(p *position) func(Event) {
	return func(e Event) {
		if e.Type == TailGap {
			r.Log.Warn().Msg("events were lost before this instance read them")
			if r.OnGap != nil {
				r.OnGap()
			}
			return
		}
		r.Broker.Publish(e)
		p.advance(e.Position)
	}
}

func (r *Relay) save(ctx context.Context, p *position) {
	at := p.current()
	if at == p.saved {
		return
	}
	if err := r.Store.SaveTailPosition(ctx, r.Instance, at); err != nil {
		r.Log.Warn().Err(err).Msg("save the event position")
		return
	}
	p.saved = at // only the Run goroutine touches saved
}

// position is how far a Relay has read (written by the tail goroutine) and
// saved (by Run's goroutine).
type position struct {
	mu    sync.Mutex
	read  string
	saved string
}

func (p *position) advance(to string) {
	p.mu.Lock()
	p.read = to
	p.mu.Unlock()
}

func (p *position) current() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.read
}
