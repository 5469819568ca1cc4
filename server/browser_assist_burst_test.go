package main

import (
	"context"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
)

// The customer's dashboard keeps its live panel through a burst that makes
// the server drop its subscription: gql.js subscribes again after the
// unasked `complete` and re-reads, so the end of the assistance shows.
func TestBrowserDashboardShowsTheEndOfAnAssistanceAfterABurst(t *testing.T) {
	f := newAccountFixture(t, nil)
	b := newBrowser(t)
	customer := customerAtHome(t, b, f)
	console := b.newPage("console")
	console.consoleSignIn(f.URL(), "support@demo.test")
	console.selectCustomer("casey", caseyName)
	assisted := console.openedTab("start a view-only assistance", "assisted", startFromConsole(console, "VIEW", "burst"))
	assisted.do("assisting", visible("#devices form"))
	customer.do("support shows live", visible("#assist-live"))

	// More events at once than a subscriber may fall behind: the server
	// drops the dashboard's subscription and completes it.
	d, err := f.store.DomainBySlug(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; f.assist.Online(context.Background(), f.customer.ID); i++ {
		if i == 100000 {
			t.Fatal("the dashboard's subscription was never dropped: the burst proves nothing")
		}
		f.broker.Publish(events.Event{ID: ids.New(), DomainID: d.ID, CustomerID: f.customer.ID, Type: events.ProfileUpdated, OccurredAt: now()})
	}
	// The dashboard subscribes again (the server can reach Casey again).
	for deadline := time.Now().Add(10 * time.Second); !f.assist.Online(context.Background(), f.customer.ID); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the dashboard did not subscribe again after its subscription was completed")
		}
	}
	support := f.login(t, "support@demo.test")
	list := f.post(t, support, `{ assistSessions(state: ACTIVE) { edges { node { id } } } }`, nil)
	nodes, _ := dig(list.Data, "assistSessions", "edges").([]any)
	if len(nodes) != 1 {
		t.Fatalf("the active assistance: %+v", list)
	}
	if resp := f.post(t, support, endAssistMutation, map[string]any{"id": dig(nodes[0], "node", "id")}); dig(resp.Data, "endAssist", "assistSession", "state") != "ENDED" {
		t.Fatalf("endAssist: %+v", resp)
	}
	customer.do("the end shows live", waitFor(`document.querySelector('#assist-live').hidden`))
}
