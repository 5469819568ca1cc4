package mongo_test

import (
	"context"
	"testing"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/mongo"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	s, err := mongo.Open(context.Background(), mongotest.URI(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, open)
}

func TestPresence(t *testing.T) {
	storetest.RunPresence(t, open(t).(assist.PresenceStore))
}

func TestOpenIsIdempotent(t *testing.T) {
	uri := mongotest.URI(t)
	for range 2 {
		s, err := mongo.Open(context.Background(), uri)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		_ = s.Close(context.Background())
	}
}
