package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// auditEntries returns the nodes of the domain's audit log with action.
func auditEntries(t *testing.T, f *accountFixture, admin, action string) []map[string]any {
	t.Helper()
	resp := f.post(t, admin, auditQuery, map[string]any{"action": action, "first": 100})
	edges, ok := dig(resp.Data, "auditLog", "edges").([]any)
	if !ok {
		t.Fatalf("auditLog: %+v", resp)
	}
	out := make([]map[string]any, len(edges))
	for i, e := range edges {
		out[i] = dig(e, "node").(map[string]any)
	}
	return out
}

// warned reports whether the logs hold a warn-level line with msg and a request id.
func warned(logs, msg string) bool {
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"warn"`) && strings.Contains(line, msg) && strings.Contains(line, `"req_id"`) {
			return true
		}
	}
	return false
}

func TestRefusalsLeaveATrace(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			ctx := context.Background()
			admin, support := f.login(t, demo.AdminEmail), f.login(t, demo.SupportEmail)
			supportID := dig(f.post(t, support, `{ viewer { ... on Operator { id } } }`, nil).Data, "viewer", "id")

			// A role refused: FORBIDDEN.
			if resp := f.post(t, support, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "x"}); resp.code() != codeForbidden {
				t.Fatalf("SUPPORT disabling: %+v", resp)
			}
			// Another domain's customer, by a valid id: answered as missing.
			other := storetest.NewDomain(t, f.store)
			stranger := storetest.NewCustomer(other, "Sam", "Stranger", "sam@other.test", "+1 555 010 9999")
			if err := f.store.ImportCustomers(ctx, []customers.Customer{stranger}, nil); err != nil {
				t.Fatal(err)
			}
			if resp := f.post(t, support, `query($id: ID!) { customer(id: $id) { email } }`, map[string]any{"id": globalIDForTest("Customer", stranger.ID)}); resp.code() != "" || dig(resp.Data, "customer") != nil {
				t.Fatalf("another domain's customer: %+v", resp)
			}
			// A customer asking for another customer's things: answered as
			// missing, recorded as refusals.
			customer, _, _ := f.customerLogin(t, customerPassword)
			d, _ := f.store.DomainBySlug(ctx, demo.Slug)
			olive := storetest.NewCustomer(d, "Olive", "Other", "olive@example.com", "")
			oliveDevice := devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: olive.ID, Name: "Theirs", SerialNumber: "T100-OLIVE-1",
				Settings: devices.Settings{Mode: devices.ModeOff}}
			if err := f.store.ImportCustomers(ctx, []customers.Customer{olive}, []devices.Device{oliveDevice}); err != nil {
				t.Fatal(err)
			}
			if resp := f.post(t, customer, renameDeviceMutation, map[string]any{"id": globalIDForTest("Device", oliveDevice.ID), "name": "Mine"}); resp.code() != codeNotFound {
				t.Fatalf("renaming another customer's device: %+v", resp)
			}
			for _, id := range []string{globalIDForTest("Device", oliveDevice.ID), globalIDForTest("Customer", olive.ID)} {
				if resp := f.post(t, customer, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}); len(resp.Errors) > 0 || dig(resp.Data, "node") != nil {
					t.Fatalf("node of another customer's object: %+v", resp)
				}
			}
			// Going too fast: RATE_LIMITED.
			for i := range assist.StartBurst {
				f.startAssist(t, admin, fmt.Sprint("call ", i))
			}
			if resp := f.post(t, admin, startAssistMutation, map[string]any{"id": f.customerID(), "reason": "again"}); resp.code() != codeRateLimited {
				t.Fatalf("start past the burst: %+v", resp)
			}

			refused := auditEntries(t, f, admin, "authz_fail")
			byOp := map[string]map[string]any{}
			for _, e := range refused {
				byOp[fmt.Sprint(e["targetId"])] = e
			}
			if e := byOp["setAccountStatus"]; e == nil || e["actorId"] != supportID || e["outcome"] != "failure" || e["requestId"] == nil {
				t.Errorf("the refused setAccountStatus: %v (all: %v)", e, refused)
			}
			if e := byOp["customer"]; e == nil || e["actorId"] != supportID || e["reason"] != "an object of another domain" {
				t.Errorf("the look-up of another domain's customer: %v (all: %v)", e, refused)
			}
			probes := map[string]int{}
			for _, e := range refused {
				if e["actorId"] == f.customerID() && e["reason"] == "an object of another customer" {
					probes[fmt.Sprint(e["targetId"])]++
				}
			}
			if probes["updateDevice"] != 1 || probes["node"] != 2 {
				t.Errorf("the customer's probes of another customer: %v (all: %v)", probes, refused)
			}
			if limited := auditEntries(t, f, admin, "excess_rate_limit_exceeded"); len(limited) != 1 || limited[0]["targetId"] != "startAssist" {
				t.Errorf("rate-limited startAssist: %v", limited)
			}
			logs := f.logs.String()
			if !warned(logs, `"refusal":"authz_fail"`) || !warned(logs, `"refusal":"excess_rate_limit_exceeded"`) {
				t.Errorf("no warn-level lines with request ids for the refusals:\n%s", logs)
			}
			for _, secret := range []string{"sam@other.test", "Stranger"} {
				if strings.Contains(logs, secret) {
					t.Errorf("the logs name %q", secret)
				}
			}
		})
	}
}

func TestFailedSignInsAndLockOutsAreAudited(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			admin := f.login(t, demo.AdminEmail)
			// An unknown email of the domain: the domain's ADMINs see it.
			resp := f.post(t, "", customerLoginMutation, map[string]any{"email": "nobody@example.com", "password": "whatever it is"})
			if dig(resp.Data, "login", "token") != nil {
				t.Fatalf("unknown email signed in: %+v", resp)
			}
			fails := auditEntries(t, f, admin, "authn_login_fail")
			if len(fails) != 1 || fails[0]["reason"] != "unknown account" || fails[0]["outcome"] != "failure" {
				t.Fatalf("failed sign-in of an unknown email: %v", fails)
			}
			// Wrong passwords until the account backs off (the fifth): one lock-out record.
			for range 5 {
				if _, code, _ := f.customerLogin(t, "not the password at all"); code != "INVALID_CREDENTIALS" {
					t.Fatalf("wrong password answered %s", code)
				}
			}
			locks := auditEntries(t, f, admin, "authn_login_lock")
			if len(locks) != 1 || locks[0]["targetId"] != f.customerID() || !strings.Contains(fmt.Sprint(locks[0]["reason"]), "next attempt in 1s") {
				t.Fatalf("lock-out records: %v", locks)
			}
			if _, code, _ := f.customerLogin(t, customerPassword); code != codeRateLimited {
				t.Fatalf("sign-in during the lock-out answered %q", code)
			}
			// A failed password change is audited too.
			own := ""
			for own == "" {
				if own, _, _ = f.customerLogin(t, customerPassword); own == "" {
					time.Sleep(time.Second) // the 1 s back-off
				}
			}
			f.post(t, own, `mutation { changePassword(input: {currentPassword: "not it at all", newPassword: "a brand new passphrase"}) { userErrors { code } } }`, nil)
			changes := auditEntries(t, f, admin, "authn_password_change")
			if len(changes) != 1 || changes[0]["outcome"] != "failure" || changes[0]["actorId"] == nil {
				t.Fatalf("failed password change: %v", changes)
			}
			logs := f.logs.String()
			for _, msg := range []string{"sign-in failed", "locked out after failed attempts", "refused: wrong current password", `"refusal":"excess_rate_limit_exceeded"`} {
				if !warned(logs, msg) {
					t.Errorf("no warn-level line %q with a request id", msg)
				}
			}
		})
	}
}
