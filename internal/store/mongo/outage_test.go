package mongo

import (
	"context"
	"testing"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// While the server is down every call answers apperr.ErrUnavailable (the
// API's UNAVAILABLE, not INTERNAL): the writes behind setAccountStatus,
// resetPassword, startAssist and endAssist, the outbox relay, and the reads;
// and all of them work again once the server is back.
func TestOutage(t *testing.T) {
	ctx := context.Background()
	db := mongotest.Private(t)
	s, err := Open(ctx, db.URI())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	relay := storetest.Op{Name: "relay (the outbox of a change)", Call: func(ctx context.Context) error {
		rec := audit.Record{ID: ids.New(), DomainID: "d", Action: audit.ActionUserDisabled, Outcome: audit.OutcomeSuccess}
		ev := events.Event{ID: ids.New(), DomainID: "d", Type: events.StatusChanged, Data: map[string]string{}}
		return s.relay(ctx, s.customers, ids.New(), outboxItems(rec, []events.Event{ev}))
	}}
	relayAll := storetest.Op{Name: "RelayOutboxes", Call: s.RelayOutboxes}
	storetest.RunOutage(t, s, storetest.Outage{Begin: db.Stop, End: db.Start, Reads: true}, relay, relayAll)
}
