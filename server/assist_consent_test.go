package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
)

// Remote assistance a customer can trust (issue 22): modes, the domain's
// consent setting, PENDING assistance answered live, escalation in the same
// session, expiry, the customer ending it, and every action shown to the
// customer as it happens; on both stores.

// setAssistConsent sets the demo domain's assistConsent in the store (as a
// migration or an ADMIN would), when it is not already consent.
func (s *testInstance) setAssistConsent(t *testing.T, consent domains.AssistConsent) {
	t.Helper()
	ctx := context.Background()
	d, err := s.store.DomainBySlug(ctx, demo.Slug)
	if err != nil {
		t.Fatal(err)
	}
	if d.AssistConsent == consent {
		return
	}
	d.AssistConsent = consent
	rec := audit.Record{ID: ids.New(), DomainID: d.ID, At: now(), ActorType: audit.ActorSystem, ActorID: "test", Action: audit.ActionDomainUpdated,
		TargetType: audit.TargetDomain, TargetID: d.ID, Reason: "changed: assistConsent", Outcome: audit.OutcomeSuccess}
	if err := s.store.UpdateDomain(ctx, d, rec); err != nil {
		t.Fatal(err)
	}
}

const (
	startModeMutation = `mutation($id: ID!, $reason: String!, $mode: AssistMode) {
  startAssist(input: {customerId: $id, reason: $reason, mode: $mode}) {
    ticket dashboardUrl assistSession { id state mode request { mode state } } userErrors { field code message }
  }
}`
	respondMutation = `mutation($id: ID!, $approve: Boolean!) {
  respondToAssistRequest(input: {assistSessionId: $id, approve: $approve}) {
    assistSession { id state mode endedBy request { state answeredAt } } userErrors { field code }
  }
}`
	requestControlMutation = `mutation($id: ID!) {
  requestAssistControl(input: {assistSessionId: $id}) { assistSession { mode request { mode state } } userErrors { code } }
}`
	issueTicketMutation = `mutation($id: ID!) {
  issueAssistTicket(input: {assistSessionId: $id}) { ticket dashboardUrl assistSession { state } userErrors { code } }
}`
	endAssistMutation = `mutation($id: ID!) { endAssist(input: {assistSessionId: $id}) { assistSession { state endedBy } } }`
	// What the customer's app listens to.
	consentEventsSubscription = `subscription { accountEvents { type reason assistMode action byCustomer
  assistSession { id state mode operator { name } request { mode state expiresAt } } } }`
	assistChangedSubscription = `subscription($id: ID!) { assistSessionChanged(assistSessionId: $id) { id state mode request { mode state } } }`
)

// consentFixture is the demo domain with its customer signed in, its
// dashboard open (listening to accountEvents) and an operator.
type consentFixture struct {
	*accountFixture
	own, support, admin string
	customerEvents      <-chan wsMessage
}

func newConsentFixture(t *testing.T, edit func(*config)) *consentFixture {
	t.Helper()
	f := &consentFixture{accountFixture: newAccountFixture(t, edit)}
	f.own, _, _ = f.customerLogin(t, customerPassword)
	f.support, f.admin = f.login(t, demo.SupportEmail), f.login(t, demo.AdminEmail)
	ws := subscribe(t, f.testInstance, "graphql-transport-ws", f.own, consentEventsSubscription, nil)
	f.awaitAccountEventsRegistered(t, f.support, ws) // open: the customer can be asked
	f.customerEvents = ws.readAll()
	return f
}

// customerEvent waits for the customer's next account event of type typ
// and returns it.
func (f *consentFixture) customerEvent(t *testing.T, typ string) map[string]any {
	t.Helper()
	return nextEvent(t, f.customerEvents, "accountEvents", func(ev map[string]any) bool { return ev["type"] == typ }, typ)
}

// nextEvent waits up to 10 s for an event of field on c that match accepts.
func nextEvent(t *testing.T, c <-chan wsMessage, field string, match func(map[string]any) bool, what string) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-c:
			if !ok || m.err != nil {
				t.Fatalf("waiting for %s: socket ended: %v", what, m.err)
			}
			if ev, _ := dataOf(m)[field].(map[string]any); ev != nil && match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s within 10 s", what)
		}
	}
}

// start starts an assistance in mode and returns the payload.
func (f *consentFixture) start(t *testing.T, mode, reason string) map[string]any {
	t.Helper()
	resp := f.post(t, f.support, startModeMutation, map[string]any{"id": f.customerID(), "reason": reason, "mode": mode})
	payload, _ := dig(resp.Data, "startAssist").(map[string]any)
	if payload == nil {
		t.Fatalf("startAssist: %+v", resp)
	}
	return payload
}

// auditActions returns the actions of the audit records of assistance id, oldest first.
func (f *consentFixture) auditActions(t *testing.T, assistID string) []string {
	t.Helper()
	id := rawIDForTest(t, assistID)
	records, err := f.store.AuditRecordsOfAssists(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range records[id] {
		out = append(out, r.Action)
	}
	return out
}

func TestAssistViewOnlyThenControlWithConsent(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newConsentFixture(t, kind.edit(t))
			// The demo domain shows the default of a new domain.
			if resp := f.post(t, f.admin, `{ domain { assistConsent } }`, nil); dig(resp.Data, "domain", "assistConsent") != "CONTROL" {
				t.Fatalf("the demo domain's assistConsent: %+v", resp)
			}

			// VIEW starts at once under CONTROL; the customer is told.
			payload := f.start(t, "VIEW", "thermostat offline")
			ticket, _ := payload["ticket"].(string)
			assistID, _ := dig(payload, "assistSession", "id").(string)
			if ticket == "" || dig(payload, "assistSession", "state") != "ACTIVE" || dig(payload, "assistSession", "mode") != "VIEW" {
				t.Fatalf("a VIEW start: %+v", payload)
			}
			if ev := f.customerEvent(t, "ASSIST_STARTED"); dig(ev, "assistSession", "operator", "name") != "Sam Support" || dig(ev, "assistSession", "mode") != "VIEW" {
				t.Fatalf("ASSIST_STARTED: %+v", ev)
			}
			token, code := f.redeem(t, ticket)
			if token == "" {
				t.Fatalf("redeem: %s", code)
			}
			changes := subscribe(t, f.testInstance, "graphql-transport-ws", f.support, assistChangedSubscription, map[string]any{"id": assistID}).readAll()
			tab := subscribe(t, f.testInstance, "graphql-transport-ws", token, assistChangedSubscription, map[string]any{"id": assistID}).readAll()

			// It reads as the customer and changes nothing.
			if resp := f.post(t, token, viewerQuery, nil); dig(resp.Data, "viewer", "email") != customerEmail {
				t.Fatalf("viewer in a VIEW assistance: %+v", resp)
			}
			device := globalIDForTest("Device", f.device.ID)
			resp := f.post(t, token, renameDeviceMutation, map[string]any{"id": device, "name": "Kitchen"})
			if resp.code() != codeForbidden || !strings.Contains(resp.Errors[0].Message, "view-only") {
				t.Fatalf("a rename in a VIEW assistance: %+v", resp)
			}
			// The refusal says where, as every field's error does (GraphQL spec, 7.1.2).
			if e := resp.Errors[0]; !slices.Equal(e.Path, []any{"updateDevice"}) || len(e.Locations) != 1 || e.Locations[0].Line < 1 {
				t.Fatalf("the refusal's path %v and locations %v, want [updateDevice] and its place", e.Path, e.Locations)
			}
			if resp := f.post(t, token, respondMutation, map[string]any{"id": assistID, "approve": true}); resp.code() != codeForbidden {
				t.Fatalf("the assisted tab answers for the customer: %+v", resp)
			}
			customersOwn(t, f.accountFixture, token, "VIEW")

			// Control is asked for from the same session, without a new ticket.
			resp = f.post(t, token, requestControlMutation, map[string]any{"id": assistID})
			if dig(resp.Data, "requestAssistControl", "assistSession", "request", "state") != "PENDING" ||
				dig(resp.Data, "requestAssistControl", "assistSession", "mode") != "VIEW" {
				t.Fatalf("requestAssistControl: %+v", resp)
			}
			if resp := f.post(t, token, requestControlMutation, map[string]any{"id": assistID}); userErrorCode(resp, "requestAssistControl") != "ALREADY_REQUESTED" {
				t.Fatalf("a second request: %+v", resp)
			}
			ev := f.customerEvent(t, "ASSIST_REQUESTED")
			if ev["assistMode"] != "CONTROL" || ev["reason"] != "thermostat offline" || dig(ev, "assistSession", "operator", "name") != "Sam Support" ||
				dig(ev, "assistSession", "id") != assistID {
				t.Fatalf("ASSIST_REQUESTED: %+v", ev)
			}
			nextEvent(t, changes, "assistSessionChanged", func(a map[string]any) bool { return dig(a, "request", "state") == "PENDING" }, "the request, live")

			// The customer agrees: the same tab gains control, at once.
			resp = f.post(t, f.own, respondMutation, map[string]any{"id": assistID, "approve": true})
			if dig(resp.Data, "respondToAssistRequest", "assistSession", "mode") != "CONTROL" ||
				dig(resp.Data, "respondToAssistRequest", "assistSession", "request", "state") != "APPROVED" {
				t.Fatalf("approve: %+v", resp)
			}
			if resp := f.post(t, f.own, respondMutation, map[string]any{"id": assistID, "approve": false}); userErrorCode(resp, "respondToAssistRequest") != "NOT_PENDING" {
				t.Fatalf("a second answer: %+v", resp)
			}
			nextEvent(t, changes, "assistSessionChanged", func(a map[string]any) bool { return a["mode"] == "CONTROL" }, "control, live, to the console")
			nextEvent(t, tab, "assistSessionChanged", func(a map[string]any) bool { return a["mode"] == "CONTROL" }, "control, live, to the assisted tab")
			resp = f.post(t, token, renameDeviceMutation, map[string]any{"id": device, "name": "Kitchen"})
			if dig(resp.Data, "updateDevice", "device", "name") != "Kitchen" {
				t.Fatalf("a rename with control: %+v", resp)
			}
			customersOwn(t, f.accountFixture, token, "CONTROL")
			// The customer sees it as it happens, in words.
			if ev := f.customerEvent(t, "ASSIST_ACTION"); ev["action"] != "renamed the device Hall to Kitchen" || dig(ev, "assistSession", "id") != assistID {
				t.Fatalf("ASSIST_ACTION: %+v", ev)
			}
			history := f.post(t, f.own, `{ viewer { ... on Customer { accessHistory { assistSession { id mode } changes { action } } } } }`, nil)
			entries, _ := dig(history.Data, "viewer", "accessHistory").([]any)
			if len(entries) != 1 || dig(entries[0], "assistSession", "mode") != "CONTROL" || len(dig(entries[0], "changes").([]any)) != 1 ||
				dig(entries[0], "changes").([]any)[0].(map[string]any)["action"] != "device_updated" {
				t.Fatalf("access history: %+v", history)
			}
			wantActions(t, f.auditActions(t, assistID), audit.ActionAssistStarted, audit.ActionAssistRedeemed, audit.ActionAssistEscalated,
				audit.ActionAssistApproved, audit.ActionDeviceUpdated)

			// The customer ends it: the assisted tab is signed out at once.
			if resp := f.post(t, f.admin, endAssistMutation, map[string]any{"id": globalIDForTest("AssistSession", ids.New())}); resp.code() != codeNotFound {
				t.Fatalf("ending an unknown assistance: %+v", resp)
			}
			end := f.post(t, f.own, endAssistMutation, map[string]any{"id": assistID})
			if dig(end.Data, "endAssist", "assistSession", "state") != "ENDED" || dig(end.Data, "endAssist", "assistSession", "endedBy") != "customer" {
				t.Fatalf("endAssist by the customer: %+v", end)
			}
			if resp := f.post(t, token, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("the assist token after the customer ended it: %+v", resp)
			}
			// Its other apps and tabs say the customer ended it, not support
			// (tryout 19: byCustomer was false).
			if ev := f.customerEvent(t, "ASSIST_ENDED"); ev["byCustomer"] != true {
				t.Errorf("ASSIST_ENDED of the customer's own end: %+v, want byCustomer", ev)
			}
		})
	}
}

func TestAssistPendingUntilTheCustomerAnswers(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newConsentFixture(t, kind.edit(t))

			// CONTROL under CONTROL waits for the customer: no ticket yet.
			payload := f.start(t, "CONTROL", "router setup")
			assistID, _ := dig(payload, "assistSession", "id").(string)
			if payload["ticket"] != nil || payload["dashboardUrl"] != nil || dig(payload, "assistSession", "state") != "PENDING" ||
				dig(payload, "assistSession", "request", "state") != "PENDING" {
				t.Fatalf("a start that needs consent: %+v", payload)
			}
			changes := subscribe(t, f.testInstance, "graphql-transport-ws", f.support, assistChangedSubscription, map[string]any{"id": assistID}).readAll()
			if ev := f.customerEvent(t, "ASSIST_REQUESTED"); ev["assistMode"] != "CONTROL" || ev["reason"] != "router setup" {
				t.Fatalf("ASSIST_REQUESTED: %+v", ev)
			}
			if resp := f.post(t, f.support, issueTicketMutation, map[string]any{"id": assistID}); userErrorCode(resp, "issueAssistTicket") != "NOT_ACTIVE" {
				t.Fatalf("a ticket before the answer: %+v", resp)
			}
			// The customer declines: the console sees it, live.
			resp := f.post(t, f.own, respondMutation, map[string]any{"id": assistID, "approve": false})
			if dig(resp.Data, "respondToAssistRequest", "assistSession", "state") != "DECLINED" ||
				dig(resp.Data, "respondToAssistRequest", "assistSession", "endedBy") != "customer" {
				t.Fatalf("decline: %+v", resp)
			}
			nextEvent(t, changes, "assistSessionChanged", func(a map[string]any) bool { return a["state"] == "DECLINED" }, "the decline, live")
			wantActions(t, f.auditActions(t, assistID), audit.ActionAssistRequested, audit.ActionAssistDeclined)

			// Asked again, the customer agrees: the operator gets the ticket then.
			payload = f.start(t, "CONTROL", "router setup, again")
			assistID, _ = dig(payload, "assistSession", "id").(string)
			changes = subscribe(t, f.testInstance, "graphql-transport-ws", f.support, assistChangedSubscription, map[string]any{"id": assistID}).readAll()
			f.customerEvent(t, "ASSIST_REQUESTED")
			if resp := f.post(t, f.own, respondMutation, map[string]any{"id": assistID, "approve": true}); dig(resp.Data, "respondToAssistRequest", "assistSession", "state") != "ACTIVE" {
				t.Fatalf("approve: %+v", resp)
			}
			nextEvent(t, changes, "assistSessionChanged", func(a map[string]any) bool { return a["state"] == "ACTIVE" && a["mode"] == "CONTROL" }, "the approval, live")
			if resp := f.post(t, f.admin, issueTicketMutation, map[string]any{"id": assistID}); resp.code() != codeForbidden {
				t.Fatalf("another operator's ticket: %+v", resp)
			}
			resp = f.post(t, f.support, issueTicketMutation, map[string]any{"id": assistID})
			ticket, _ := dig(resp.Data, "issueAssistTicket", "ticket").(string)
			if ticket == "" || !strings.HasSuffix(dig(resp.Data, "issueAssistTicket", "dashboardUrl").(string), "#assist="+ticket) {
				t.Fatalf("issueAssistTicket: %+v", resp)
			}
			token, code := f.redeem(t, ticket)
			if token == "" {
				t.Fatalf("redeem: %s", code)
			}
			if resp := f.post(t, f.support, issueTicketMutation, map[string]any{"id": assistID}); userErrorCode(resp, "issueAssistTicket") != "ALREADY_OPENED" {
				t.Fatalf("a ticket once the tab is open: %+v", resp)
			}
			if resp := f.post(t, token, renameDeviceMutation, map[string]any{"id": globalIDForTest("Device", f.device.ID), "name": "Study"}); dig(resp.Data, "updateDevice", "device", "name") != "Study" {
				t.Fatalf("a rename in an approved assistance: %+v", resp)
			}
			wantActions(t, f.auditActions(t, assistID), audit.ActionAssistRequested, audit.ActionAssistApproved, audit.ActionAssistRedeemed, audit.ActionDeviceUpdated)
			// Another customer's session cannot answer, nor the operator.
			if resp := f.post(t, f.support, respondMutation, map[string]any{"id": assistID, "approve": true}); resp.code() != codeForbidden {
				t.Fatalf("an operator answers for the customer: %+v", resp)
			}
		})
	}
}

func TestAssistRequestExpires(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newConsentFixture(t, kind.edit(t))
			payload := f.start(t, "CONTROL", "nobody answers")
			assistID, _ := dig(payload, "assistSession", "id").(string)
			changes := subscribe(t, f.testInstance, "graphql-transport-ws", f.support, assistChangedSubscription, map[string]any{"id": assistID}).readAll()
			f.customerEvent(t, "ASSIST_REQUESTED")
			f.clock.Advance(assist.RequestTTL) // the one timer fires: no sweep is waited for
			nextEvent(t, changes, "assistSessionChanged", func(a map[string]any) bool {
				return a["state"] == "EXPIRED" && dig(a, "request", "state") == "EXPIRED"
			}, "the expiry, live")
			if ev := f.customerEvent(t, "ASSIST_ANSWERED"); dig(ev, "assistSession", "request", "state") != "EXPIRED" {
				t.Fatalf("the customer's prompt is withdrawn: %+v", ev)
			}
			if resp := f.post(t, f.own, respondMutation, map[string]any{"id": assistID, "approve": true}); userErrorCode(resp, "respondToAssistRequest") != "NOT_PENDING" {
				t.Fatalf("an answer after the expiry: %+v", resp)
			}
			wantActions(t, f.auditActions(t, assistID), audit.ActionAssistRequested, audit.ActionAssistRequestExpired)
		})
	}
}

func TestAssistConsentSettings(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			admin, support := f.login(t, demo.AdminEmail), f.login(t, demo.SupportEmail)
			set := func(consent string) {
				t.Helper()
				resp := f.post(t, admin, `mutation($c: AssistConsent!) { updateDomainSettings(input: {assistConsent: $c}) { changed domain { assistConsent } } }`,
					map[string]any{"c": consent})
				if dig(resp.Data, "updateDomainSettings", "domain", "assistConsent") != consent {
					t.Fatalf("assistConsent %s: %+v", consent, resp)
				}
			}
			if resp := f.post(t, support, `mutation { updateDomainSettings(input: {assistConsent: NONE}) { changed } }`, nil); resp.code() != codeForbidden {
				t.Fatalf("SUPPORT changes assistConsent: %+v", resp)
			}
			// ALL: nothing without the customer, who must be online to be asked.
			set("ALL")
			resp := f.post(t, support, startModeMutation, map[string]any{"id": f.customerID(), "reason": "look", "mode": "VIEW"})
			if userErrorCode(resp, "startAssist") != "CUSTOMER_OFFLINE" {
				t.Fatalf("ALL with the customer offline: %+v", resp)
			}
			own, _, _ := f.customerLogin(t, customerPassword)
			ws := subscribe(t, f.testInstance, "graphql-transport-ws", own, consentEventsSubscription, nil)
			f.awaitAccountEventsRegistered(t, support, ws)
			resp = f.post(t, support, startModeMutation, map[string]any{"id": f.customerID(), "reason": "look", "mode": "VIEW"})
			if dig(resp.Data, "startAssist", "assistSession", "state") != "PENDING" || dig(resp.Data, "startAssist", "ticket") != nil {
				t.Fatalf("VIEW under ALL: %+v", resp)
			}
			// NONE: everything at once, control too.
			set("NONE")
			resp = f.post(t, support, startModeMutation, map[string]any{"id": f.customerID(), "reason": "look", "mode": "VIEW"})
			ticket, _ := dig(resp.Data, "startAssist", "ticket").(string)
			assistID, _ := dig(resp.Data, "startAssist", "assistSession", "id").(string)
			token, _ := f.redeem(t, ticket)
			resp = f.post(t, token, requestControlMutation, map[string]any{"id": assistID})
			if dig(resp.Data, "requestAssistControl", "assistSession", "mode") != "CONTROL" {
				t.Fatalf("requestAssistControl under NONE: %+v", resp)
			}
			if resp := f.post(t, token, requestControlMutation, map[string]any{"id": assistID}); userErrorCode(resp, "requestAssistControl") != "ALREADY_CONTROL" {
				t.Fatalf("control twice: %+v", resp)
			}
			if resp := f.post(t, own, requestControlMutation, map[string]any{"id": assistID}); resp.code() != codeForbidden {
				t.Fatalf("the customer requests control: %+v", resp)
			}
			wantActions(t, (&consentFixture{accountFixture: f}).auditActions(t, assistID), audit.ActionAssistStarted, audit.ActionAssistRedeemed, audit.ActionAssistEscalated)
		})
	}
}

// userErrorCode returns the code of the first user error of field's payload, or "".
func userErrorCode(resp gqlResponse, field string) string {
	errs, _ := dig(resp.Data, field, "userErrors").([]any)
	if len(errs) == 0 {
		return ""
	}
	code, _ := dig(errs[0], "code").(string)
	return code
}

// wantActions fails unless got holds want, in that order (other records may come between).
func wantActions(t *testing.T, got []string, want ...string) {
	t.Helper()
	i := 0
	for _, a := range got {
		if i < len(want) && a == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("audit records %v, want %v in this order", got, want)
	}
}

// With several instances on one MongoDB, the instance an operator reaches
// asks a customer whose dashboard is open on another one, and knows when it
// closed.
func TestAssistAsksACustomerOnAnotherInstance(t *testing.T) {
	edit := storeKinds[1].edit(t) // one MongoDB database for both instances
	here := newAccountFixture(t, edit)
	there := addCustomer(t, startTest(t, edit))
	here.setAssistConsent(t, domains.AssistConsentAll)
	own, _, _ := here.customerLogin(t, customerPassword)
	ws := subscribe(t, here.testInstance, "graphql-transport-ws", own, consentEventsSubscription, nil)
	here.awaitAccountEventsRegistered(t, here.login(t, demo.SupportEmail), ws)
	events := ws.readAll()

	support := there.login(t, demo.SupportEmail)
	resp := there.post(t, support, startModeMutation, map[string]any{"id": there.customerID(), "reason": "look", "mode": "VIEW"})
	if dig(resp.Data, "startAssist", "assistSession", "state") != "PENDING" {
		t.Fatalf("asking a customer online on another instance: %+v", resp)
	}
	nextEvent(t, events, "accountEvents", func(ev map[string]any) bool { return ev["type"] == "ASSIST_REQUESTED" }, "the request, across instances")

	// The dashboard closes: the other instance no longer asks.
	ws.conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := there.post(t, support, startModeMutation, map[string]any{"id": there.customerID(), "reason": "look again", "mode": "VIEW"})
		if userErrorCode(resp, "startAssist") == "CUSTOMER_OFFLINE" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still asked after the dashboard closed: %+v", resp)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// An answer given before the console subscribed is not missed: the
// subscription's first message is the session as it is (a console slower
// than its customer, seen under load in the browser test, waited forever).
func TestAssistSessionChangedStartsWithTheSessionAsItIs(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newConsentFixture(t, kind.edit(t))
			payload := f.start(t, "CONTROL", "router setup")
			assistID, _ := dig(payload, "assistSession", "id").(string)
			f.customerEvent(t, "ASSIST_REQUESTED")
			if resp := f.post(t, f.own, respondMutation, map[string]any{"id": assistID, "approve": false}); dig(resp.Data, "respondToAssistRequest", "assistSession", "state") != "DECLINED" {
				t.Fatalf("decline: %+v", resp)
			}
			changes := subscribe(t, f.testInstance, "graphql-transport-ws", f.support, assistChangedSubscription, map[string]any{"id": assistID}).readAll()
			select {
			case m := <-changes:
				if a, _ := dataOf(m)["assistSessionChanged"].(map[string]any); a == nil || a["state"] != "DECLINED" {
					t.Fatalf("first message: %+v", m)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no first message within 10 s")
			}
		})
	}
}

// customersOwn checks that an assistance (token, of mode) is refused the
// customer's own mutations, saying they are the customer's own whatever the
// mode (a tryout read the VIEW refusal as promising them with control).
func customersOwn(t *testing.T, f *accountFixture, token, mode string) {
	t.Helper()
	for name, call := range map[string]struct {
		doc  string
		vars map[string]any
	}{
		"updateProfile": {updateProfileMutation, map[string]any{"in": map[string]any{"version": 1, "firstName": "Assisted"}}},
		"deleteAccount": {deleteAccountMutation, map[string]any{"pw": customerPassword}},
		"changePassword": {`mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { token } }`,
			map[string]any{"c": customerPassword, "n": "an assisted new passphrase 9"}},
	} {
		resp := f.post(t, token, call.doc, call.vars)
		if resp.code() != codeForbidden || !strings.Contains(resp.Errors[0].Message, "Only the customer can do this") {
			t.Errorf("%s in a %s assistance: %+v, want FORBIDDEN saying it is the customer's own", name, mode, resp)
		}
	}
}
