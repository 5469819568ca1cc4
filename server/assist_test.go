package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store/storetest"
	"github.com/iotconsole/bff/internal/tokens"
)

const startAssistMutation = `mutation($id: ID!, $reason: String!) {
  startAssist(input: {customerId: $id, reason: $reason}) {
    ticket dashboardUrl assistSession { id state reason operator { name } customer { email } } userErrors { field code }
  }
}`

const redeemMutation = `mutation($t: String!) {
  redeemAssistTicket(input: {ticket: $t}) { token assistSession { id state } userErrors { field code message } }
}`

// startAssist starts an assistance as the operator and returns its id and
// ticket. It sets the demo domain's assistConsent to NONE first: the tests
// that use it are about what an assistance does once it runs, not about
// how the customer agrees to it (assist_consent_test.go).
func (f *accountFixture) startAssist(t *testing.T, operator, reason string) (string, string) {
	t.Helper()
	f.setAssistConsent(t, domains.AssistConsentNone)
	resp := f.post(t, operator, startAssistMutation, map[string]any{"id": f.customerID(), "reason": reason})
	ticket, _ := dig(resp.Data, "startAssist", "ticket").(string)
	id, _ := dig(resp.Data, "startAssist", "assistSession", "id").(string)
	if ticket == "" || id == "" {
		t.Fatalf("startAssist: %+v", resp)
	}
	return id, ticket
}

// redeem returns the assist token, or "" and the user error code.
func (f *accountFixture) redeem(t *testing.T, ticket string) (string, string) {
	t.Helper()
	resp := f.post(t, "", redeemMutation, map[string]any{"t": ticket})
	if token, _ := dig(resp.Data, "redeemAssistTicket", "token").(string); token != "" {
		return token, ""
	}
	errs, _ := dig(resp.Data, "redeemAssistTicket", "userErrors").([]any)
	if len(errs) == 0 {
		t.Fatalf("redeem: %+v", resp)
	}
	return "", dig(errs[0], "code").(string)
}

func TestRemoteAssistanceEndToEnd(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			f.setAssistConsent(t, domains.AssistConsentNone) // full control at once, the customer told
			own, _, _ := f.customerLogin(t, customerPassword)
			support := f.login(t, demo.SupportEmail)
			events := f.subscribeAccountEvents(t, own).readAll()

			resp := f.post(t, support, startAssistMutation, map[string]any{"id": f.customerID(), "reason": "thermostat offline"})
			ticket, _ := dig(resp.Data, "startAssist", "ticket").(string)
			url, _ := dig(resp.Data, "startAssist", "dashboardUrl").(string)
			assistID, _ := dig(resp.Data, "startAssist", "assistSession", "id").(string)
			if ticket == "" || url != "/dashboard#assist="+ticket || dig(resp.Data, "startAssist", "assistSession", "state") != "ACTIVE" ||
				dig(resp.Data, "startAssist", "assistSession", "operator", "name") != "Sam Support" {
				t.Fatalf("startAssist: %+v", resp)
			}
			if got := <-events; dig(got.msg, "payload", "data", "accountEvents", "type") != "ASSIST_STARTED" {
				t.Fatalf("the customer was not told: %v %v", got.msg, got.err)
			}

			token, code := f.redeem(t, ticket)
			if token == "" {
				t.Fatalf("redeem: %s", code)
			}
			if _, code := f.redeem(t, ticket); code != "INVALID" {
				t.Fatalf("second redeem of one ticket: %q, want INVALID", code)
			}

			// Acting as the customer.
			if resp := f.post(t, token, viewerQuery, nil); dig(resp.Data, "viewer", "email") != customerEmail {
				t.Fatalf("viewer while assisting: %+v", resp)
			}
			if resp := f.post(t, token, `{ assistance { reason operator { name } } }`, nil); dig(resp.Data, "assistance", "reason") != "thermostat offline" {
				t.Fatalf("assistance: %+v", resp)
			}
			rename := `mutation($id: ID!) { updateDevice(input: {deviceId: $id, name: "Renamed by support"}) { device { name } } }`
			if resp := f.post(t, token, rename, map[string]any{"id": globalIDForTest("Device", f.device.ID)}); dig(resp.Data, "updateDevice", "device", "name") != "Renamed by support" {
				t.Fatalf("rename while assisting: %+v", resp)
			}
			records, _ := storetest.AuditRecords(context.Background(), f.store, f.customer.DomainID, 50)
			var rec audit.Record
			for _, r := range records {
				if r.Action == audit.ActionDeviceUpdated {
					rec = r
				}
			}
			op, _ := f.store.OperatorByEmail(context.Background(), f.customer.DomainID, demo.SupportEmail)
			if rec.ActorID != op.ID || rec.ActorType != audit.ActorOperator || rec.ActingFor != f.customer.ID || rec.AssistID == "" {
				t.Fatalf("audit of the rename: %+v, want the operator acting for the customer", rec)
			}

			// What assistance may not do.
			forbidden := map[string]string{
				"changePassword": `mutation { changePassword(input: {currentPassword: "x", newPassword: "yyyyyyyyyyyyyy"}) { token } }`,
				"startAssist":    `mutation { startAssist(input: {customerId: "` + f.customerID() + `", reason: "again"}) { ticket } }`,
				"customers":      `{ customers(query: "") { totalCount } }`,
				"assistSessions": `{ assistSessions { edges { cursor } } }`,
			}
			for name, q := range forbidden {
				if resp := f.post(t, token, q, nil); resp.code() != codeForbidden {
					t.Errorf("%s while assisting: %+v, want FORBIDDEN", name, resp)
				}
			}

			// The customer sees who, when, why and what.
			history := f.post(t, own, `{ viewer { ... on Customer { accessHistory { assistSession { reason operator { name } } changes { action } } } } }`, nil)
			entries, _ := dig(history.Data, "viewer", "accessHistory").([]any)
			if len(entries) != 1 || dig(entries[0], "assistSession", "reason") != "thermostat offline" ||
				dig(entries[0], "changes").([]any)[0].(map[string]any)["action"] != "device_updated" {
				t.Fatalf("access history: %+v", history)
			}

			// The operator ends it: the token stops working, the customer is told.
			end := f.post(t, support, `mutation($id: ID!) { endAssist(input: {assistSessionId: $id}) { assistSession { state endedBy } } }`, map[string]any{"id": assistID})
			if dig(end.Data, "endAssist", "assistSession", "state") != "ENDED" || dig(end.Data, "endAssist", "assistSession", "endedBy") != "Sam Support" {
				t.Fatalf("endAssist: %+v", end)
			}
			if resp := f.post(t, token, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("assist token after the end: %+v", resp)
			}
			deadline := time.After(3 * time.Second)
			for ended := false; !ended; {
				select {
				case got := <-events:
					ended = dig(got.msg, "payload", "data", "accountEvents", "type") == "ASSIST_ENDED"
				case <-deadline:
					t.Fatal("no ASSIST_ENDED event")
				}
			}
		})
	}
}

func TestAssistRefusals(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) { testAssistRefusals(t, kind.edit(t)) })
	}
}

func testAssistRefusals(t *testing.T, edit func(*config)) {
	f := newAccountFixture(t, edit)
	support := f.login(t, demo.SupportEmail)
	ctx := context.Background()
	for name, reason := range map[string]string{"blank reason": "   ", "long reason": strings.Repeat("x", 501)} {
		resp := f.post(t, support, startAssistMutation, map[string]any{"id": f.customerID(), "reason": reason})
		if errs, _ := dig(resp.Data, "startAssist", "userErrors").([]any); len(errs) != 1 {
			t.Errorf("%s: %+v", name, resp)
		}
	}
	// A customer of another domain does not exist for this operator.
	other := globalIDForTest("Customer", ids.New())
	if resp := f.post(t, support, startAssistMutation, map[string]any{"id": other, "reason": "x"}); resp.code() != codeNotFound {
		t.Errorf("unknown customer: %+v", resp)
	}
	// An expired ticket.
	d, _ := f.store.DomainBySlug(ctx, demo.Slug)
	op, _ := f.store.OperatorByEmail(ctx, d.ID, demo.SupportEmail)
	ticket := tokens.New()
	stale := assist.Session{ID: ids.New(), DomainID: d.ID, CustomerID: f.customer.ID, OperatorID: op.ID, Reason: "old",
		StartedAt: now().Add(-2 * time.Minute), ExpiresAt: now().Add(time.Hour), State: assist.StateActive,
		TicketHash: tokens.Hash(ticket), TicketExpiresAt: now().Add(-time.Minute)}
	if err := f.store.CreateAssist(ctx, stale, audit.Record{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, code := f.redeem(t, ticket); code != "INVALID" {
		t.Errorf("expired ticket: %q", code)
	}
	if _, code := f.redeem(t, "made-up-ticket"); code != "INVALID" {
		t.Errorf("unknown ticket: %q", code)
	}
	// A disabled operator's session is refused before anything starts.
	disabled := operators.Operator{ID: ids.New(), DomainID: d.ID, Name: "Gone", Email: "gone@demo.test", Role: operators.RoleSupport,
		Status: operators.StatusDisabled, CreatedAt: now(), UpdatedAt: now()}
	_ = f.store.CreateOperator(ctx, disabled)
	token := tokens.New()
	_ = f.store.CreateSession(ctx, sessions.Session{TokenHash: tokens.Hash(token), Kind: sessions.KindOperator, DomainID: d.ID,
		SubjectID: disabled.ID, CreatedAt: now(), ExpiresAt: now().Add(time.Hour)})
	if resp := f.post(t, token, startAssistMutation, map[string]any{"id": f.customerID(), "reason": "x"}); resp.code() != codeAccountDisabled {
		t.Errorf("a disabled operator starting: %+v", resp)
	}
	// A disabled customer cannot be assisted.
	admin := f.login(t, demo.AdminEmail)
	f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "test"})
	resp := f.post(t, support, startAssistMutation, map[string]any{"id": f.customerID(), "reason": "help"})
	if errs, _ := dig(resp.Data, "startAssist", "userErrors").([]any); len(errs) != 1 || dig(errs[0], "code") != "ACCOUNT_DISABLED" {
		t.Errorf("assisting a disabled customer: %+v", resp)
	}
}

func TestAssistanceEnds(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) { testAssistanceEnds(t, kind.edit) })
	}
}

// testAssistanceEnds gives every case a store of its own (newStore).
func testAssistanceEnds(t *testing.T, newStore func(*testing.T) func(*config)) {
	t.Run("when it expires", func(t *testing.T) {
		f := newAccountFixture(t, newStore(t))
		support := f.login(t, demo.SupportEmail)
		id, ticket := f.startAssist(t, support, "short")
		token, _ := f.redeem(t, ticket)
		// A minute before its expiry (the seconds this test has taken
		// included) it works; the exact instant is the services' unit tests'.
		f.clock.Advance(f.cfg.AssistTTL - time.Minute)
		if resp := f.post(t, token, viewerQuery, nil); resp.code() != "" {
			t.Fatalf("a minute before expiry: %+v", resp)
		}
		f.clock.Advance(time.Minute)
		if resp := f.post(t, token, viewerQuery, nil); resp.code() != codeUnauthenticated {
			t.Fatalf("after expiry: %+v", resp)
		}
		if resp := f.post(t, support, `query($id: ID!) { node(id: $id) { ... on AssistSession { state } } }`, map[string]any{"id": id}); dig(resp.Data, "node", "state") != "EXPIRED" {
			t.Fatalf("state after expiry: %+v", resp)
		}
	})
	endings := map[string]func(t *testing.T, f *accountFixture, support string){
		"when the operator signs out": func(t *testing.T, f *accountFixture, support string) {
			f.post(t, support, `mutation { logout { success } }`, nil)
		},
		"when the customer is disabled": func(t *testing.T, f *accountFixture, _ string) {
			f.post(t, f.login(t, demo.AdminEmail), setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "x"})
		},
		"when the password is reset": func(t *testing.T, f *accountFixture, _ string) {
			f.post(t, f.login(t, demo.AdminEmail), resetMutation, map[string]any{"id": f.customerID(), "pw": newPassword, "confirm": newPassword})
		},
	}
	for name, end := range endings {
		t.Run(name, func(t *testing.T) {
			f := newAccountFixture(t, newStore(t))
			support := f.login(t, demo.SupportEmail)
			_, ticket := f.startAssist(t, support, "help")
			token, _ := f.redeem(t, ticket)
			end(t, f, support)
			if resp := f.post(t, token, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("assist token: %+v, want UNAUTHENTICATED", resp)
			}
		})
	}
}

// A ticket redeemed in a request without a token opens the assist session
// for its own payload only: a root field after it in the same document runs
// as the request's session (none here) and is refused, so that nothing is
// done in an assistance outside its rules (view-only, announced to the
// customer, audited as the assistance's). (A tryout renamed a device of a
// view-only assistance this way, unannounced, after sign-ins' payloads began
// to be read as the sessions they open.)
func TestRedeemedTicketDoesNotServeTheFieldsAfterIt(t *testing.T) {
	f := newAccountFixture(t, nil)
	support := f.login(t, demo.SupportEmail)
	_, ticket := f.startAssist(t, support, "device offline")
	resp := f.post(t, "", `mutation($t: String!, $id: ID!) {
  redeemAssistTicket(input: {ticket: $t}) { token assistSession { state customer { email } } }
  updateDevice(input: {deviceId: $id, name: "Renamed in the same request"}) { device { name } }
}`, map[string]any{"t": ticket, "id": globalIDForTest("Device", f.device.ID)})
	if resp.code() != codeUnauthenticated {
		t.Errorf("updateDevice after redeemAssistTicket in a request without a token: %+v, want UNAUTHENTICATED", resp)
	}
	if d, err := f.store.DeviceByID(context.Background(), f.device.ID); err != nil || d.Name != f.device.Name {
		t.Fatalf("the device is now %q (%v), want it unchanged (%q)", d.Name, err, f.device.Name)
	}
}
