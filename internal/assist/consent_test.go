package assist_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// A request nobody answers expires at its RequestTTL by the one timer of
// the process, without a sweep; a customer who cannot be asked is refused.
func TestRequestsExpireOnTime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	d := storetest.NewDomainConsent(t, st, domains.AssistConsentControl)
	ada := storetest.NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "")
	if err := st.ImportCustomers(ctx, []customers.Customer{ada}, nil); err != nil {
		t.Fatal(err)
	}
	ann := audit.Actor{Type: audit.ActorOperator, ID: storetest.NewOperator(t, st, d, "ann@ops.example").ID, DomainID: d.ID}
	clk := &clock.Shifted{}
	svc := assist.NewService(st, clk.Now, time.Hour)
	broker := events.NewBroker()
	svc.ExpireRequestsOnTime(ctx, broker, clk)

	var ve *apperr.ValidationError
	if _, _, err := svc.StartIn(ctx, ann, ada.ID, "help", assist.ModeControl); !errors.As(err, &ve) || ve.Code != "CUSTOMER_OFFLINE" {
		t.Fatalf("asking a customer with nothing open: %v", err)
	}
	if a, ticket, err := svc.StartIn(ctx, ann, ada.ID, "look", assist.ModeView); err != nil || a.State != assist.StateActive || ticket == "" {
		t.Fatalf("a VIEW assistance needs no agreement under CONTROL: %+v %v", a, err)
	}
	leave := svc.Present(ada.ID)
	defer leave()
	a, ticket, err := svc.StartIn(ctx, ann, ada.ID, "help", assist.ModeControl)
	if err != nil || a.State != assist.StatePending || ticket != "" || a.Request.State != assist.RequestPending {
		t.Fatalf("a CONTROL assistance under CONTROL: %+v %q %v", a, ticket, err)
	}
	// The relay hands every instance the request's event.
	broker.Publish(events.Event{ID: "e1", DomainID: d.ID, Type: events.AssistRequested, CustomerID: ada.ID,
		Data: map[string]string{events.KeyAssistID: a.ID, events.KeyExpiresAt: a.Request.ExpiresAt.Format(time.RFC3339)}})
	time.Sleep(50 * time.Millisecond) // the reaction runs in the broker's goroutine
	clk.Advance(assist.RequestTTL + time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := st.AssistByID(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == assist.StateExpired {
			// at its expiry, not a second later when the clock was read
			if got.Request.State != assist.RequestExpired || got.EndedBy != assist.SystemActor ||
				!got.EndedAt.Equal(a.Request.ExpiresAt) || !got.Request.AnsweredAt.Equal(a.Request.ExpiresAt) {
				t.Fatalf("expired request: %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not expired on time: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := svc.Respond(ctx, audit.Actor{Type: audit.ActorCustomer, ID: ada.ID, DomainID: d.ID}, a.ID, true); !errors.As(err, &ve) || ve.Code != "NOT_PENDING" {
		t.Fatalf("an answer after the expiry: %v", err)
	}
}
