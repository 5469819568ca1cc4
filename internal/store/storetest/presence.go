package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/ids"
)

// RunPresence checks a store that shares which customers have an app or
// dashboard open across instances (assist.PresenceStore): records of
// several instances, their end, their lapse and their sweep.
func RunPresence(t *testing.T, s assist.PresenceStore) {
	ctx := context.Background()
	base := now()
	casey, dana := ids.New(), ids.New()
	present := func(customer string, at time.Time) bool {
		t.Helper()
		ok, err := s.Present(ctx, customer, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if present(casey, base) {
		t.Fatal("present before any record")
	}
	for _, inst := range []string{"a", "b"} {
		if err := s.SetPresence(ctx, casey, inst, base.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if !present(casey, base) || present(dana, base) {
		t.Fatal("presence is per customer")
	}
	// One instance's connection closes: the other's still counts.
	if err := s.SetPresence(ctx, casey, "a", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !present(casey, base) {
		t.Fatal("instance b's record was lost with a's")
	}
	// A renewal moves the end; a record lapses at its end.
	if err := s.SetPresence(ctx, casey, "b", base.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !present(casey, base.Add(90*time.Second)) || present(casey, base.Add(2*time.Minute)) {
		t.Fatal("the renewed record's end")
	}
	// The sweep deletes what lapsed, and only that.
	if err := s.SetPresence(ctx, dana, "b", base.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePresenceBefore(ctx, base.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if present(casey, base) || !present(dana, base) {
		t.Fatal("the sweep of lapsed records")
	}
}
