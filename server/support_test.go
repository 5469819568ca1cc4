package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/demo"
)

// What the console needs to help a customer on a call: a temporary password
// to read out, who disabled an account and why, and the details following
// what happens to the customer.

const temporaryPasswordQuery = `{ temporaryPassword }`

// passphraseShape is four or more lower-case words joined by '-'.
var passphraseShape = regexp.MustCompile(`^[a-z]+(-[a-z]+){3,}$`)

func TestTemporaryPasswordMeetsTheDomainsPolicy(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			admin, support := f.login(t, demo.AdminEmail), f.login(t, demo.SupportEmail)
			// Operators with RESET_PASSWORD only: not the customer, not anyone signed out.
			customer, _, _ := f.customerLogin(t, customerPassword)
			if resp := f.post(t, customer, temporaryPasswordQuery, nil); resp.code() != codeForbidden {
				t.Errorf("a customer's temporaryPassword: %+v, want FORBIDDEN", resp)
			}
			if resp := f.post(t, "", temporaryPasswordQuery, nil); resp.code() != codeUnauthenticated {
				t.Errorf("anonymous temporaryPassword: %+v, want UNAUTHENTICATED", resp)
			}
			seen := map[string]bool{}
			for _, token := range []string{admin, support, support} {
				resp := f.post(t, token, temporaryPasswordQuery, nil)
				phrase, _ := resp.Data["temporaryPassword"].(string)
				if !passphraseShape.MatchString(phrase) || len(phrase) < 12 || seen[phrase] {
					t.Fatalf("temporaryPassword = %+v, want a new passphrase of four or more words, at least 12 characters", resp)
				}
				seen[phrase] = true
			}

			// The domain's own minimum: the passphrase grows to meet it.
			if resp := f.post(t, admin, `mutation { updateDomainSettings(input: {passwordMinLength: 40}) { changed } }`, nil); dig(resp.Data, "updateDomainSettings", "changed") != true {
				t.Fatalf("updateDomainSettings: %+v", resp)
			}
			phrase, _ := f.post(t, support, temporaryPasswordQuery, nil).Data["temporaryPassword"].(string)
			if !passphraseShape.MatchString(phrase) || len(phrase) < 40 {
				t.Fatalf("temporaryPassword with a minimum of 40 = %q", phrase)
			}

			// It is a password only once a reset sets it: then the customer signs in with it.
			if tok, _, _ := f.customerLogin(t, phrase); tok != "" {
				t.Fatal("a generated password works before any reset")
			}
			resp := f.post(t, support, resetMutation, map[string]any{"id": f.customerID(), "pw": phrase, "confirm": phrase, "require": true})
			if errs, _ := dig(resp.Data, "resetPassword", "userErrors").([]any); len(errs) != 0 || len(resp.Errors) != 0 {
				t.Fatalf("reset with the generated password: %+v", resp)
			}
			login := f.post(t, "", customerLoginMutation, map[string]any{"email": customerEmail, "password": phrase})
			if dig(login.Data, "login", "token") == nil || dig(login.Data, "login", "mustChangePassword") != true {
				t.Fatalf("sign-in with the temporary password: %+v", login)
			}
			if strings.Contains(f.logs.String(), phrase) {
				t.Error("the generated password is in the logs")
			}
		})
	}
}

const disablingQuery = `query($id: ID!) { customer(id: $id) { status disabling { at by reason operator { name } } } }`

func TestDisabledCustomersSayWhoDisabledThemAndWhy(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			admin, support := f.login(t, demo.AdminEmail), f.login(t, demo.SupportEmail)
			if resp := f.post(t, support, disablingQuery, map[string]any{"id": f.customerID()}); dig(resp.Data, "customer", "status") != "ACTIVE" ||
				dig(resp.Data, "customer", "disabling") != nil || len(resp.Errors) != 0 {
				t.Fatalf("an active customer's disabling: %+v, want null", resp)
			}
			// Disabled twice: the latest record speaks.
			for _, reason := range []string{"first look", "chargeback under review"} {
				f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": reason})
				f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "ACTIVE"})
			}
			f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "chargeback under review"})

			// An ADMIN (VIEW_AUDIT_LOG) sees who, when and why.
			resp := f.post(t, admin, disablingQuery, map[string]any{"id": f.customerID()})
			d := dig(resp.Data, "customer", "disabling")
			if dig(d, "by") != "ADMIN" || dig(d, "operator", "name") != adminName || dig(d, "reason") != "chargeback under review" || dig(d, "at") == nil {
				t.Fatalf("the ADMIN's view of the disabling: %+v", resp)
			}
			if at, err := time.Parse(time.RFC3339Nano, dig(d, "at").(string)); err != nil || time.Since(at) > time.Minute {
				t.Errorf("disabled at %v (%v), want just now", dig(d, "at"), err)
			}
			// SUPPORT sees who and when, not the internal reason.
			resp = f.post(t, support, disablingQuery, map[string]any{"id": f.customerID()})
			d = dig(resp.Data, "customer", "disabling")
			if dig(d, "by") != "ADMIN" || dig(d, "operator", "name") != adminName || dig(d, "reason") != nil {
				t.Fatalf("SUPPORT's view of the disabling: %+v, want who and when without the reason", resp)
			}

			// Enabled again: nothing to explain; the customer never sees it.
			f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "ACTIVE"})
			if resp := f.post(t, admin, disablingQuery, map[string]any{"id": f.customerID()}); dig(resp.Data, "customer", "disabling") != nil {
				t.Fatalf("an enabled customer's disabling: %+v, want null", resp)
			}
			token, _, _ := f.customerLogin(t, customerPassword)
			if resp := f.post(t, token, `{ viewer { ... on Customer { disabling { reason } } } }`, nil); len(resp.Errors) != 0 || dig(resp.Data, "viewer", "disabling") != nil {
				t.Fatalf("the customer's own disabling: %+v, want null", resp)
			}
		})
	}
}

const detailsSubscription = `subscription($id: ID) { customerDetailsChanged(customerId: $id) { type customer { email } assistSessionId deviceId occurredAt } }`

func TestCustomerDetailsChangesArriveLive(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			support, admin := f.login(t, demo.SupportEmail), f.login(t, demo.AdminEmail)
			one := subscribe(t, f.testInstance, "graphql-transport-ws", support, detailsSubscription, map[string]any{"id": f.customerID()}).readAll()
			customer, _, _ := f.customerLogin(t, customerPassword)
			own := f.subscribeAccountEvents(t, customer).readAll()
			next := func(want string) map[string]any {
				t.Helper()
				select {
				case m := <-one:
					change, _ := dataOf(m)["customerDetailsChanged"].(map[string]any)
					if change["type"] != want || dig(change, "customer", "email") != customerEmail || change["occurredAt"] == nil {
						t.Fatalf("customerDetailsChanged got %v %v, want %s", m.msg, m.err, want)
					}
					return change
				case <-time.After(5 * time.Second):
					t.Fatalf("customerDetailsChanged: no %s", want)
				}
				return nil
			}

			// The customer renames a device: the console hears of it; the
			// customer's own accountEvents carry no such type.
			deviceID := globalIDForTest("Device", f.device.ID)
			rename := `mutation($id: ID!, $name: String!) { updateDevice(input: {deviceId: $id, name: $name}) { device { name } } }`
			if resp := f.post(t, customer, rename, map[string]any{"id": deviceID, "name": "Landing"}); dig(resp.Data, "updateDevice", "device", "name") != "Landing" {
				t.Fatalf("rename: %+v", resp)
			}
			if change := next("DEVICE_UPDATED"); change["deviceId"] != deviceID || change["assistSessionId"] != nil {
				t.Fatalf("the rename's change: %v", change)
			}

			// An assistance started, a rename while assisting, ended by an ADMIN.
			assistID, ticket := f.startAssist(t, support, "thermostat offline")
			if change := next("ASSIST_STARTED"); change["assistSessionId"] != assistID {
				t.Fatalf("the start's change: %v, want assist %s", change, assistID)
			}
			assisting, _ := f.redeem(t, ticket)
			if resp := f.post(t, assisting, rename, map[string]any{"id": deviceID, "name": "Hallway"}); dig(resp.Data, "updateDevice", "device", "name") != "Hallway" {
				t.Fatalf("rename while assisting: %+v", resp)
			}
			next("DEVICE_UPDATED")
			if resp := f.post(t, admin, `mutation($id: ID!) { endAssist(input: {assistSessionId: $id}) { assistSession { state } } }`, map[string]any{"id": assistID}); dig(resp.Data, "endAssist", "assistSession", "state") != "ENDED" {
				t.Fatalf("endAssist: %+v", resp)
			}
			if change := next("ASSIST_ENDED"); change["assistSessionId"] != assistID {
				t.Fatalf("the end's change: %v", change)
			}

			// The customer's own events: the assistance's and what it did, in
			// words (ASSIST_ACTION), never a device change (accountEvents has no
			// such type: it would fail to answer).
			var got []string
		drain:
			for {
				select {
				case m := <-own:
					if m.err != nil || dig(m.msg, "payload", "errors") != nil {
						t.Fatalf("accountEvents: %v %v", m.msg, m.err)
					}
					got = append(got, fmt.Sprint(dig(m.msg, "payload", "data", "accountEvents", "type")))
				case <-time.After(500 * time.Millisecond):
					break drain
				}
			}
			if fmt.Sprint(got) != "[ASSIST_STARTED ASSIST_ACTION ASSIST_ENDED]" {
				t.Errorf("the customer's accountEvents: %v, want [ASSIST_STARTED ASSIST_ACTION ASSIST_ENDED]", got)
			}

			// A reset, last: it ends the customer's sessions.
			resp := f.post(t, support, resetMutation, map[string]any{"id": f.customerID(), "pw": newPassword, "confirm": newPassword})
			if errs, _ := dig(resp.Data, "resetPassword", "userErrors").([]any); len(errs) != 0 {
				t.Fatalf("reset: %+v", resp)
			}
			next("PASSWORD_RESET")

			// VIEW_CUSTOMER only: a customer cannot subscribe.
			other, _, _ := f.customerLogin(t, newPassword)
			refused := subscribe(t, f.testInstance, "graphql-transport-ws", other, detailsSubscription, nil)
			if msg, err := refused.nextWithin(5 * time.Second); err != nil || msg["type"] != "error" && dig(msg, "payload", "errors") == nil {
				t.Errorf("a customer's customerDetailsChanged: %v %v, want an error", msg, err)
			}
		})
	}
}
