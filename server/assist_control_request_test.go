package main

import (
	"testing"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/domains"
)

// viewAssistToken starts a VIEW assistance of f's customer as support and
// returns its id and the assisted tab's token.
func viewAssistToken(t *testing.T, f *accountFixture, support string) (string, string) {
	t.Helper()
	resp := f.post(t, support, startModeMutation, map[string]any{"id": f.customerID(), "reason": "look first", "mode": "VIEW"})
	id, _ := dig(resp.Data, "startAssist", "assistSession", "id").(string)
	ticket, _ := dig(resp.Data, "startAssist", "ticket").(string)
	if id == "" || ticket == "" {
		t.Fatalf("a VIEW start: %+v", resp)
	}
	token, code := f.redeem(t, ticket)
	if token == "" {
		t.Fatalf("redeem: %s", code)
	}
	return id, token
}

// requestAssistControl asks only a customer who can be asked, as
// startAssist does: CUSTOMER_OFFLINE otherwise, nothing recorded.
func TestAssistControlRequestNeedsTheCustomerOnline(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t)) // the customer has nothing open
			id, token := viewAssistToken(t, f, f.login(t, demo.SupportEmail))
			resp := f.post(t, token, requestControlMutation, map[string]any{"id": id})
			if userErrorCode(resp, "requestAssistControl") != "CUSTOMER_OFFLINE" {
				t.Fatalf("requestAssistControl of an offline customer: %+v", resp)
			}
			read := f.post(t, f.login(t, demo.SupportEmail), `query($id: ID!) { node(id: $id) { ... on AssistSession { mode request { state } } } }`, map[string]any{"id": id})
			if dig(read.Data, "node", "mode") != "VIEW" || dig(read.Data, "node", "request") != nil {
				t.Fatalf("the assistance after a refused request: %+v", read)
			}
		})
	}
}

// Each request for control is a modal prompt for the customer: they take
// from the operator's start allowance (StartBurst, then one per
// StartInterval), RATE_LIMITED beyond.
func TestAssistControlRequestsAreRateLimited(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newConsentFixture(t, kind.edit(t))
			id, token := viewAssistToken(t, f.accountFixture, f.support) // one start
			asked := 0
			for round := range assist.StartBurst + 5 {
				resp := f.post(t, token, requestControlMutation, map[string]any{"id": id})
				if resp.code() == codeRateLimited {
					break
				}
				if dig(resp.Data, "requestAssistControl", "assistSession", "request", "state") != "PENDING" {
					t.Fatalf("round %d: %+v", round, resp)
				}
				asked++
				f.customerEvent(t, "ASSIST_REQUESTED")
				if resp := f.post(t, f.own, respondMutation, map[string]any{"id": id, "approve": false}); dig(resp.Data, "respondToAssistRequest", "assistSession", "request", "state") != "DECLINED" {
					t.Fatalf("decline: %+v", resp)
				}
			}
			if asked != assist.StartBurst-1 {
				t.Fatalf("the customer was asked %d times before RATE_LIMITED; want %d (the start took one)", asked, assist.StartBurst-1)
			}
			f.clock.Advance(assist.StartInterval)
			if resp := f.post(t, token, requestControlMutation, map[string]any{"id": id}); dig(resp.Data, "requestAssistControl", "assistSession", "request", "state") != "PENDING" {
				t.Fatalf("after StartInterval: %+v", resp)
			}
		})
	}
}

// Under NONE control is given with no request: an earlier decline does not
// stay as if it were the answer (request is null, nobody was asked).
func TestAssistControlUnderNoneAfterADeclineRecordsNoRequest(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newConsentFixture(t, kind.edit(t))
			id, token := viewAssistToken(t, f.accountFixture, f.support)
			if resp := f.post(t, token, requestControlMutation, map[string]any{"id": id}); dig(resp.Data, "requestAssistControl", "assistSession", "request", "state") != "PENDING" {
				t.Fatalf("requestAssistControl: %+v", resp)
			}
			f.customerEvent(t, "ASSIST_REQUESTED")
			if resp := f.post(t, f.own, respondMutation, map[string]any{"id": id, "approve": false}); dig(resp.Data, "respondToAssistRequest", "assistSession", "request", "state") != "DECLINED" {
				t.Fatalf("decline: %+v", resp)
			}
			f.setAssistConsent(t, domains.AssistConsentNone)
			resp := f.post(t, token, requestControlMutation, map[string]any{"id": id})
			if dig(resp.Data, "requestAssistControl", "assistSession", "mode") != "CONTROL" || dig(resp.Data, "requestAssistControl", "assistSession", "request") != nil {
				t.Fatalf("control under NONE after a decline: %+v", resp)
			}
			read := f.post(t, f.support, `query($id: ID!) { node(id: $id) { ... on AssistSession { mode request { state } } } }`, map[string]any{"id": id})
			if dig(read.Data, "node", "mode") != "CONTROL" || dig(read.Data, "node", "request") != nil {
				t.Fatalf("the assistance read back: %+v", read)
			}
		})
	}
}
