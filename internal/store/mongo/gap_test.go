package mongo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store/mongotest"
)

// A capped events collection small enough to overwrite itself shows when
// a reader's position is gone.
func TestEventsLostSinceAPositionOverwritten(t *testing.T) {
	ctx := context.Background()
	uri := mongotest.URI(t)
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	db := client.Database(databaseOf(t, uri))
	if err := db.CreateCollection(ctx, "events", options.CreateCollection().SetCapped(true).SetSizeInBytes(4096).SetMaxDocuments(20)); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)

	position := time.Now().UTC().Truncate(time.Millisecond)
	first := events.Event{ID: ids.New(), DomainID: "d", Type: events.StatusChanged, Data: map[string]string{}, OccurredAt: position}
	if err := s.AppendEvent(ctx, first); err != nil {
		t.Fatal(err)
	}
	if lost, err := s.eventsLostSince(ctx, position); err != nil || lost {
		t.Fatalf("nothing overwritten yet: lost = %v, %v", lost, err)
	}
	for i := range 200 { // far more than 4 KiB and 20 documents
		e := events.Event{ID: ids.New(), DomainID: "d", Type: events.StatusChanged, Data: map[string]string{"filler": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
			OccurredAt: position.Add(time.Duration(i+1) * time.Millisecond)}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.events.CountDocuments(ctx, bson.D{}); n >= 201 {
		// Embedded FerretDB v1.24 never trims capped collections (its cleanup
		// interval is 0): drop the oldest events the way MongoDB would have.
		if _, err := s.events.DeleteMany(ctx, bson.D{{Key: "occurredAt", Value: bson.D{{Key: "$lte", Value: position.Add(100 * time.Millisecond)}}}}); err != nil {
			t.Skipf("cannot simulate an overwritten capped collection here: %v", err)
		}
	}
	if lost, err := s.eventsLostSince(ctx, position); err != nil || !lost {
		t.Fatalf("position overwritten: lost = %v, %v", lost, err)
	}

	// Resuming from the lost position announces the gap before anything else.
	tailCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan events.Event, 300)
	go func() {
		_ = s.TailEvents(tailCtx, fmt.Sprintf("%d:%s", position.UnixMilli(), first.ID), func(e events.Event) { got <- e })
	}()
	select {
	case e := <-got:
		if e.Type != events.TailGap {
			t.Fatalf("first event after resuming from a lost position: %s, want %s", e.Type, events.TailGap)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("nothing from the tail")
	}
}

func databaseOf(t *testing.T, uri string) string {
	t.Helper()
	for i := len(uri) - 1; i >= 0; i-- {
		if uri[i] == '/' {
			name := uri[i+1:]
			for j := range name {
				if name[j] == '?' {
					return name[:j]
				}
			}
			return name
		}
	}
	t.Fatalf("no database in %s", uri)
	return ""
}
