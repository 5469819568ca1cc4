package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store/sqlite"
)

func event(domainID string) events.Event {
	return events.Event{ID: ids.New(), DomainID: domainID, Type: events.PasswordReset, CustomerID: "c",
		Data: map[string]string{}, OccurredAt: time.Now().UTC().Truncate(time.Millisecond)}
}

// receive returns the IDs of the next n events on sub, failing after 5 s.
func receive(t *testing.T, sub *events.Subscription, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		select {
		case e := <-sub.C:
			got = append(got, e.ID)
		case <-time.After(5 * time.Second):
			t.Fatalf("received %d events, want %d", len(got), n)
		}
	}
	return got
}

func TestRelayFeedsTheBrokerAndResumesAfterARestart(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	broker := events.NewBroker()
	sub := broker.Subscribe(func(events.Event) bool { return true })
	run := func() context.CancelFunc {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		relay := &events.Relay{Store: st, Broker: broker, Instance: "a", Log: zerolog.Nop()}
		go func() { relay.Run(ctx); close(done) }()
		return func() { cancel(); <-done }
	}

	stop := run()
	time.Sleep(200 * time.Millisecond) // the tail is open: it starts from now on a first run
	first := event("d")
	if err := st.AppendEvent(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, sub, 1); got[0] != first.ID {
		t.Fatalf("relayed %v, want %s", got, first.ID)
	}
	stop() // saves how far it read

	// Written while the instance is down: relayed after its restart.
	missed := []events.Event{event("d"), event("d")}
	for _, e := range missed {
		if err := st.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	stop = run()
	defer stop()
	if got := receive(t, sub, 2); got[0] != missed[0].ID || got[1] != missed[1].ID {
		t.Fatalf("after the restart relayed %v, want %s, %s", got, missed[0].ID, missed[1].ID)
	}
}

// gappyStore is a TailStore whose events were overwritten before anyone
// read them: its tail starts with a gap.
type gappyStore struct{ saved string }

func (s *gappyStore) TailEvents(ctx context.Context, _ string, handle func(events.Event)) error {
	handle(events.Event{Type: events.TailGap})
	handle(events.Event{ID: "after-the-gap", Type: events.PasswordReset, Position: "7"})
	<-ctx.Done()
	return ctx.Err()
}
func (s *gappyStore) SaveTailPosition(_ context.Context, _, p string) error { s.saved = p; return nil }
func (s *gappyStore) TailPosition(context.Context, string) (string, error) {
	return "", errors.New("never saved")
}

func TestRelayReportsAGap(t *testing.T) {
	st := &gappyStore{}
	broker := events.NewBroker()
	sub := broker.Subscribe(func(events.Event) bool { return true })
	gaps := make(chan struct{}, 1)
	relay := &events.Relay{Store: st, Broker: broker, Instance: "a", Log: zerolog.Nop(), OnGap: func() { gaps <- struct{}{} }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()
	select {
	case <-gaps:
	case <-time.After(5 * time.Second):
		t.Fatal("no gap reported")
	}
	if got := receive(t, sub, 1); got[0] != "after-the-gap" {
		t.Fatalf("relayed %v; the gap itself must not reach subscribers", got)
	}
	cancel()
	<-done
	if st.saved != "7" {
		t.Fatalf("saved position %q, want 7", st.saved)
	}
}
