package main

import (
	"context"
	"testing"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
)

// A request withdrawn before its time (the operator ends a PENDING
// assistance; a VIEW assistance ends while its request for control waits)
// is never rewritten as EXPIRED: not by the timer, not by the sweep; no
// audit record, no ASSIST_ANSWERED, request.state reads WITHDRAWN.
func TestAssistWithdrawnRequestNeverExpires(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newConsentFixture(t, kind.edit(t))
			requestOf := func(id string) (string, string) {
				t.Helper()
				resp := f.post(t, f.support, `query($id: ID!) { node(id: $id) { ... on AssistSession { state request { state } } } }`, map[string]any{"id": id})
				state, _ := dig(resp.Data, "node", "state").(string)
				request, _ := dig(resp.Data, "node", "request", "state").(string)
				return state, request
			}

			// The operator withdraws a PENDING assistance.
			pending, _ := dig(f.start(t, "CONTROL", "withdrawn"), "assistSession", "id").(string)
			f.customerEvent(t, "ASSIST_REQUESTED")
			if resp := f.post(t, f.support, endAssistMutation, map[string]any{"id": pending}); dig(resp.Data, "endAssist", "assistSession", "state") != "ENDED" {
				t.Fatalf("withdraw: %+v", resp)
			}
			f.customerEvent(t, "ASSIST_ENDED")

			// A VIEW assistance ends while its request for control waits.
			payload := f.start(t, "VIEW", "look first")
			view, _ := dig(payload, "assistSession", "id").(string)
			f.customerEvent(t, "ASSIST_STARTED")
			token, code := f.redeem(t, payload["ticket"].(string))
			if token == "" {
				t.Fatalf("redeem: %s", code)
			}
			if resp := f.post(t, token, requestControlMutation, map[string]any{"id": view}); dig(resp.Data, "requestAssistControl", "assistSession", "request", "state") != "PENDING" {
				t.Fatalf("requestAssistControl: %+v", resp)
			}
			f.customerEvent(t, "ASSIST_REQUESTED")
			if resp := f.post(t, f.support, endAssistMutation, map[string]any{"id": view}); dig(resp.Data, "endAssist", "assistSession", "state") != "ENDED" {
				t.Fatalf("end: %+v", resp)
			}
			f.customerEvent(t, "ASSIST_ENDED")

			// Past the requests' time: the timer fires, and the sweep runs too.
			f.clock.Advance(assist.RequestTTL + 1)
			if err := f.assist.ExpireRequests(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The next thing the customer hears is a new assistance, no ASSIST_ANSWERED.
			f.start(t, "VIEW", "sentinel")
			for {
				m, ok := <-f.customerEvents
				if !ok || m.err != nil {
					t.Fatalf("the customer's socket ended: %v", m.err)
				}
				ev, _ := dataOf(m)["accountEvents"].(map[string]any)
				if ev == nil {
					continue
				}
				if ev["type"] == "ASSIST_ANSWERED" {
					t.Fatalf("a withdrawn request was announced as answered: %+v", ev)
				}
				if ev["type"] == "ASSIST_STARTED" {
					break
				}
			}
			for _, id := range []string{pending, view} {
				if state, request := requestOf(id); state != "ENDED" || request != "WITHDRAWN" {
					t.Fatalf("assistance %s after its request's time: state %s, request %s; want ENDED, WITHDRAWN", id, state, request)
				}
			}
			wantActions(t, f.auditActions(t, pending), audit.ActionAssistRequested, audit.ActionAssistEnded)
			wantActions(t, f.auditActions(t, view), audit.ActionAssistStarted, audit.ActionAssistRedeemed, audit.ActionAssistEscalated, audit.ActionAssistEnded)
		})
	}
}
