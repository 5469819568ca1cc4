package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/storetest"
)

const updateCustomerMutation = `mutation($in: UpdateCustomerInput!) {
  updateCustomer(input: $in) {
    changed customer { id firstName lastName email phone version } userErrors { field code message }
  }
}`

const customerVersionQuery = `query($id: ID!) { customer(id: $id) { firstName lastName email phone version } }`

// profileInput returns updateCustomer's variables: customer id at version
// with the fields of change.
func profileInput(id string, version any, change map[string]any) map[string]any {
	in := map[string]any{"customerId": id, "version": version}
	for k, v := range change {
		in[k] = v
	}
	return map[string]any{"in": in}
}

// current returns the customer as an operator reads it.
func (f *accountFixture) current(t *testing.T, token string) map[string]any {
	t.Helper()
	resp := f.post(t, token, customerVersionQuery, map[string]any{"id": f.customerID()})
	c, ok := dig(resp.Data, "customer").(map[string]any)
	if !ok {
		t.Fatalf("customer: %+v", resp)
	}
	return c
}

// searchEmails returns the emails of the first page of customers matching query.
func searchEmails(t *testing.T, f *accountFixture, token, query string) []string {
	t.Helper()
	resp := f.post(t, token, `query($q: String) { customers(query: $q, first: 50) { edges { node { email } } } }`, map[string]any{"q": query})
	edges, ok := dig(resp.Data, "customers", "edges").([]any)
	if !ok {
		t.Fatalf("customers(%q): %+v", query, resp)
	}
	var out []string
	for _, e := range edges {
		out = append(out, fmt.Sprint(dig(e, "node", "email")))
	}
	return out
}

func TestUpdateCustomer(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			ctx := context.Background()
			support := f.login(t, demo.SupportEmail)
			start := f.current(t, support)
			if start["email"] != customerEmail || start["version"] == nil {
				t.Fatalf("before: %+v", start)
			}

			// Each field on its own; only it changes, and the version moves.
			version := start["version"]
			want := map[string]any{"firstName": "Casey", "lastName": "Customer", "email": customerEmail, "phone": "+1 555 010 7777"}
			for _, step := range []struct{ field, value, stored string }{
				{"firstName", "  Cassandra ", "Cassandra"},
				{"lastName", "Quintero-Núñez", "Quintero-Núñez"},
				{"email", " Cass.Q@Example.ORG ", "cass.q@example.org"},
				{"phone", "+1 (555) 010-9898", "+1 (555) 010-9898"},
			} {
				resp := f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version, map[string]any{step.field: step.value}))
				got, _ := dig(resp.Data, "updateCustomer", "customer").(map[string]any)
				if dig(resp.Data, "updateCustomer", "changed") != true || got == nil {
					t.Fatalf("update %s: %+v", step.field, resp)
				}
				want[step.field] = step.stored
				for k, v := range want {
					if got[k] != v {
						t.Fatalf("after updating %s: %s = %v, want %v", step.field, k, got[k], v)
					}
				}
				if got["version"].(float64) != version.(float64)+1 {
					t.Fatalf("after updating %s: version %v, was %v", step.field, got["version"], version)
				}
				version = got["version"]
			}

			// Search finds the new values at once, and the old ones no more.
			for query, wantHit := range map[string]bool{
				"cass.q@example.org": true, "Cassandra Quintero": true, "quintero nunez": true, "010 9898": true,
				customerEmail: false, "casey customer": false, "010 7777": false,
			} {
				got := searchEmails(t, f, support, query)
				if hit := strings.Contains(strings.Join(got, " "), "cass.q@example.org"); hit != wantHit {
					t.Errorf("search %q = %v, want a hit: %v", query, got, wantHit)
				}
			}
			// The customer signs in with its new email.
			login := f.post(t, "", `mutation { login(input: {domain: "demo", email: "cass.q@example.org", password: "`+customerPassword+`"}) { token } }`, nil)
			if dig(login.Data, "login", "token") == nil {
				t.Fatalf("sign-in with the new email: %+v", login)
			}

			// Several fields at once, some of them unchanged.
			resp := f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version,
				map[string]any{"firstName": "Casey", "lastName": "Quintero-Núñez", "phone": ""}))
			if dig(resp.Data, "updateCustomer", "customer", "firstName") != "Casey" || dig(resp.Data, "updateCustomer", "customer", "phone") != "" {
				t.Fatalf("several fields: %+v", resp)
			}
			version = dig(resp.Data, "updateCustomer", "customer", "version")
			// The values it has: nothing written.
			resp = f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version, map[string]any{"firstName": "Casey"}))
			if dig(resp.Data, "updateCustomer", "changed") != false || dig(resp.Data, "updateCustomer", "customer", "version") != version {
				t.Fatalf("the same values: %+v", resp)
			}

			d, _ := f.store.DomainBySlug(ctx, demo.Slug)
			records := func() int {
				rs, _ := storetest.AuditRecords(ctx, f.store, d.ID, 100)
				n := 0
				for _, r := range rs {
					if r.Action == "user_updated" {
						n++
					}
				}
				return n
			}
			updates := records()
			if updates != 5 {
				t.Fatalf("%d user_updated records, want 5", updates)
			}
			before := f.current(t, support)

			// A stale version: CONFLICT, and nothing written.
			resp = f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), start["version"], map[string]any{"firstName": "Stale"}))
			if code, on := firstUserError(resp, "updateCustomer"); code != "CONFLICT" || on != "version" || dig(resp.Data, "updateCustomer", "customer") != nil {
				t.Fatalf("a stale version: %s on %q (%+v)", code, on, resp)
			}

			// Another customer's email of the domain: EMAIL_TAKEN.
			olive := storetest.NewCustomer(d, "Olive", "Other", "olive@example.com", "")
			other := storetest.NewDomain(t, f.store)
			stranger := storetest.NewCustomer(other, "Stan", "Stranger", "stan@other.test", "")
			if err := f.store.ImportCustomers(ctx, []customers.Customer{olive}, nil); err != nil {
				t.Fatal(err)
			}
			if err := f.store.ImportCustomers(ctx, []customers.Customer{stranger}, nil); err != nil {
				t.Fatal(err)
			}
			in := func(change map[string]any) map[string]any { return profileInput(f.customerID(), version, change) }
			for _, c := range []struct {
				name, field, code string
				in                map[string]any
			}{
				{"a taken email, written otherwise", "email", "EMAIL_TAKEN", in(map[string]any{"email": " OLIVE@example.com"})},
				{"a malformed email", "email", "INVALID", in(map[string]any{"email": "not-an-email"})},
				{"an email with a display name", "email", "INVALID", in(map[string]any{"email": "Cass <cass@example.com>"})},
				{"a 10,000-character name", "firstName", "TOO_LONG", in(map[string]any{"firstName": strings.Repeat("a", 10_000)})},
				{"a blank last name", "lastName", "REQUIRED", in(map[string]any{"lastName": " "})},
				{"a control character", "firstName", "INVALID", in(map[string]any{"firstName": "Cas\x00ey"})},
				{"a new line", "lastName", "INVALID", in(map[string]any{"lastName": "Quin\ntero"})},
				{"a bidi override", "lastName", "INVALID", in(map[string]any{"lastName": "\u202eorenitnuQ"})},
				{"an isolate", "firstName", "INVALID", in(map[string]any{"firstName": "Casey\u2066"})},
				{"invalid UTF-8", "firstName", "INVALID", in(map[string]any{"firstName": "Casey\xff"})},
				{"a phone without digits", "phone", "INVALID", in(map[string]any{"phone": "call me"})},
				{"a bad field with a good one", "email", "INVALID", in(map[string]any{"firstName": "Good", "email": "bad@"})},
			} {
				resp := f.post(t, support, updateCustomerMutation, c.in)
				if code, on := firstUserError(resp, "updateCustomer"); code != c.code || on != c.field || dig(resp.Data, "updateCustomer", "customer") != nil {
					t.Errorf("%s: %s on %q, want %s on %s (%+v)", c.name, code, on, c.code, c.field, resp)
				}
				if s := fmt.Sprint(resp); strings.Contains(s, "\u202e") || strings.Contains(s, "not-an-email") {
					t.Errorf("%s: the answer echoes the input: %+v", c.name, resp)
				}
			}
			// Unknown and foreign customers answer alike; customers may not.
			for name, id := range map[string]string{
				"an unknown customer":               globalIDForTest("Customer", "01a0000000000000000000000000000"),
				"another domain's customer":         globalIDForTest("Customer", stranger.ID),
				"a device's id":                     globalIDForTest("Device", f.device.ID),
				"an id that is no global id at all": "%%%",
			} {
				resp := f.post(t, support, updateCustomerMutation, profileInput(id, 1, map[string]any{"firstName": "Mallory"}))
				if resp.code() != codeNotFound || dig(resp.Data, "updateCustomer") != nil {
					t.Errorf("%s: %+v, want NOT_FOUND", name, resp)
				}
			}
			if got, _ := f.store.CustomerByID(ctx, stranger.ID); got.FirstName != "Stan" || got.Version != stranger.Version {
				t.Fatalf("another domain's customer changed: %+v", got)
			}
			own := f.loginAs(t, "cass.q@example.org")
			if own == "" {
				t.Fatal("the customer cannot sign in")
			}
			if resp := f.post(t, own, updateCustomerMutation, profileInput(f.customerID(), version, map[string]any{"firstName": "Me"})); resp.code() != codeForbidden {
				t.Fatalf("a customer's token: %+v, want FORBIDDEN", resp)
			}

			// Nothing of the refusals was written.
			if after := f.current(t, support); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("refused updates changed the customer:\n%v\n%v", before, after)
			}
			if n := records(); n != updates {
				t.Fatalf("refused updates wrote %d user_updated records", n-updates)
			}
			if got := searchEmails(t, f, support, "stale"); len(got) != 0 {
				t.Fatalf("a refused name is searchable: %v", got)
			}
		})
	}
}

// loginAs signs a customer of the demo domain with customerPassword in
// under email and returns the token, or "".
func (f *accountFixture) loginAs(t *testing.T, email string) string {
	t.Helper()
	resp := f.post(t, "", customerLoginMutation, map[string]any{"email": email, "password": customerPassword})
	token, _ := dig(resp.Data, "login", "token").(string)
	return token
}

const auditDetailsQuery = `query($customer: ID) {
  auditLog(customerId: $customer, action: "user_updated", first: 10) { edges { node { action actorType reason details } } }
}`

// profileRecords returns the user_updated entries of the customer's audit log, newest first.
func profileRecords(t *testing.T, f *accountFixture, admin string) []map[string]any {
	t.Helper()
	resp := f.post(t, admin, auditDetailsQuery, map[string]any{"customer": f.customerID()})
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

func TestProfileUpdatesAreAuditedAndErasable(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			ctx := context.Background()
			support, admin := f.login(t, demo.SupportEmail), f.login(t, demo.AdminEmail)
			version := f.current(t, support)["version"]
			resp := f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version,
				map[string]any{"email": "casey.new@example.org", "phone": "+1 555 010 1212", "lastName": "Newname"}))
			if dig(resp.Data, "updateCustomer", "changed") != true {
				t.Fatalf("update: %+v", resp)
			}

			records := profileRecords(t, f, admin)
			if len(records) != 1 || records[0]["reason"] != "changed: lastName, email, phone" || records[0]["actorType"] != "operator" {
				t.Fatalf("the record: %+v", records)
			}
			var details map[string]map[string]string
			if err := json.Unmarshal([]byte(fmt.Sprint(records[0]["details"])), &details); err != nil {
				t.Fatalf("details %v: %v", records[0]["details"], err)
			}
			wantDetails := map[string]map[string]string{
				"email": {"old": customerEmail, "new": "casey.new@example.org"},
				"phone": {"old": "+1 555 010 7777", "new": "+1 555 010 1212"},
			}
			if fmt.Sprint(details) != fmt.Sprint(wantDetails) {
				t.Fatalf("details = %v, want %v", details, wantDetails)
			}
			// Stored, the details are sealed: no address or number in clear.
			d, _ := f.store.DomainBySlug(ctx, demo.Slug)
			stored, _ := storetest.AuditRecords(ctx, f.store, d.ID, 20)
			for _, r := range stored {
				if r.Action != "user_updated" {
					continue
				}
				if !strings.HasPrefix(r.Details, "enc:v1:") || strings.Contains(r.Details, "casey") || strings.Contains(r.Details, "1212") {
					t.Fatalf("stored details: %q", r.Details)
				}
			}
			// The customer's own activity shows the change, by support, without details.
			token := f.loginAs(t, "casey.new@example.org")
			activity := f.post(t, token, `{ viewer { ... on Customer { activity(first: 5) { edges { node { action by } } } } } }`, nil)
			if !strings.Contains(fmt.Sprint(activity.Data), "action:user_updated by:SUPPORT") {
				t.Fatalf("the customer's activity: %+v", activity)
			}

			// Deleting the customer's key erases the details wherever they are.
			if err := f.store.DeleteCustomerKey(ctx, f.customer.ID); err != nil {
				t.Fatal(err)
			}
			records = profileRecords(t, f, admin)
			if len(records) != 1 || records[0]["details"] != "[erased]" || records[0]["reason"] != "changed: lastName, email, phone" {
				t.Fatalf("after deleting the key: %+v", records)
			}
			// A later change is sealed under a new key; the erased stay erased.
			version = f.current(t, support)["version"]
			f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version, map[string]any{"email": "casey.third@example.org"}))
			records = profileRecords(t, f, admin)
			if len(records) != 2 || !strings.Contains(fmt.Sprint(records[0]["details"]), "casey.third@example.org") || records[1]["details"] != "[erased]" {
				t.Fatalf("after a change with a new key: %+v", records)
			}
			// A name change alone has no details.
			version = f.current(t, support)["version"]
			f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version, map[string]any{"firstName": "Kasey"}))
			if records = profileRecords(t, f, admin); records[0]["details"] != nil || records[0]["reason"] != "changed: firstName" {
				t.Fatalf("a change of name: %+v", records[0])
			}
		})
	}
}

const profileSubscription = `subscription($id: ID) {
  customerProfileChanged(customerId: $id) { customer { email lastName } fields changedBy { name } }
}`

func TestProfileUpdatesArriveLive(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			token, _, _ := f.customerLogin(t, customerPassword)
			support := f.login(t, demo.SupportEmail)
			own := f.subscribeAccountEvents(t, token).readAll()
			console := subscribe(t, f.testInstance, "graphql-transport-ws", support, profileSubscription, map[string]any{"id": f.customerID()}).readAll()
			status := subscribe(t, f.testInstance, "graphql-transport-ws", support, statusSubscription, nil).readAll()

			version := f.current(t, support)["version"]
			resp := f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version, map[string]any{"email": "casey.live@example.org", "lastName": "Live"}))
			if dig(resp.Data, "updateCustomer", "changed") != true {
				t.Fatalf("update: %+v", resp)
			}
			select {
			case m := <-own:
				if dig(m.msg, "payload", "data", "accountEvents", "type") != "PROFILE_UPDATED" {
					t.Fatalf("accountEvents got %v %v, want PROFILE_UPDATED", m.msg, m.err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("accountEvents got nothing")
			}
			select {
			case m := <-console:
				change, _ := dataOf(m)["customerProfileChanged"].(map[string]any)
				if dig(change, "customer", "email") != "casey.live@example.org" || fmt.Sprint(change["fields"]) != "[lastName email]" ||
					dig(change, "changedBy", "name") == nil {
					t.Fatalf("customerProfileChanged got %v %v", m.msg, m.err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("customerProfileChanged got nothing")
			}
			select {
			case m := <-status:
				t.Fatalf("customerStatusChanged got a profile change: %v", m.msg)
			case <-time.After(300 * time.Millisecond):
			}
		})
	}
}

const exportQuery = `query($id: ID!) { node(id: $id) { ... on Customer { dataExport } } }`

func TestDataExport(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			ctx := context.Background()
			token, _, _ := f.customerLogin(t, customerPassword)
			if token == "" {
				t.Fatal("the customer cannot sign in")
			}
			resp := f.post(t, token, `{ viewer { ... on Customer { dataExport } } }`, nil)
			raw, _ := dig(resp.Data, "viewer", "dataExport").(string)
			var doc struct {
				Format   string         `json:"format"`
				Customer map[string]any `json:"customer"`
				Devices  []struct {
					ID, Name, SerialNumber string
					Settings               map[string]any
				} `json:"devices"`
				Activity []struct {
					At                  time.Time
					Action, By, Outcome string
				} `json:"activity"`
				ActivityComplete bool `json:"activityComplete"`
			}
			if err := json.Unmarshal([]byte(raw), &doc); err != nil {
				t.Fatalf("the customer's export %q: %v (%+v)", raw, err, resp)
			}
			if doc.Format != "iotconsole.customer-export.v1" || doc.Customer["email"] != customerEmail || doc.Customer["id"] != f.customerID() ||
				doc.Customer["phone"] != "+1 555 010 7777" || !doc.ActivityComplete {
				t.Fatalf("export: %s", raw)
			}
			if len(doc.Devices) != 1 || doc.Devices[0].SerialNumber != f.device.SerialNumber || doc.Devices[0].ID != globalIDForTest("Device", f.device.ID) ||
				doc.Devices[0].Settings["mode"] != "AUTO" {
				t.Fatalf("export's devices: %s", raw)
			}
			if len(doc.Activity) == 0 || doc.Activity[0].Action != "authn_login_success" || doc.Activity[0].By != "CUSTOMER" {
				t.Fatalf("export's activity: %s", raw)
			}
			for _, secret := range []string{"password", "argon2", "hash", f.customer.PasswordHash, "requestId", "reason"} {
				if strings.Contains(strings.ToLower(raw), strings.ToLower(secret)) {
					t.Fatalf("the export holds %q: %s", secret, raw)
				}
			}

			// An operator reads the same export.
			support := f.login(t, demo.SupportEmail)
			resp = f.post(t, support, exportQuery, map[string]any{"id": f.customerID()})
			if got, _ := dig(resp.Data, "node", "dataExport").(string); !strings.Contains(got, customerEmail) {
				t.Fatalf("an operator's export: %+v", resp)
			}
			// Each export is audited, the operator's and the customer's own,
			// and shows in the customer's activity.
			supportID := dig(f.post(t, support, `{ viewer { ... on Operator { id } } }`, nil).Data, "viewer", "id")
			exports := auditEntries(t, f, f.login(t, demo.AdminEmail), "user_data_exported")
			if len(exports) != 2 || exports[0]["actorId"] != supportID || exports[1]["actorId"] != f.customerID() ||
				exports[0]["targetId"] != f.customerID() || exports[0]["outcome"] != "success" {
				t.Fatalf("the exports' records: %v", exports)
			}

			// An export is costly: an operation holds a few, never one per customer of a page.
			resp = f.post(t, support, `{ customers(first: 20) { edges { node { dataExport } } } }`, nil)
			if resp.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
				t.Fatalf("an export of every customer of a page: %v", resp.Errors)
			}

			// Another customer cannot; nor can an operator of another domain.
			d, _ := f.store.DomainBySlug(ctx, demo.Slug)
			olive := storetest.NewCustomer(d, "Olive", "Other", "olive@example.com", "")
			olive.PasswordHash = f.customer.PasswordHash
			if err := f.store.ImportCustomers(ctx, []customers.Customer{olive}, nil); err != nil {
				t.Fatal(err)
			}
			oliveToken := f.loginAs(t, "olive@example.com")
			if oliveToken == "" {
				t.Fatal("Olive cannot sign in")
			}
			resp = f.post(t, oliveToken, exportQuery, map[string]any{"id": f.customerID()})
			if dig(resp.Data, "node") != nil || strings.Contains(fmt.Sprint(resp), customerEmail) {
				t.Fatalf("another customer's export: %+v", resp)
			}
			resp = f.post(t, oliveToken, `query($id: ID!) { customer(id: $id) { dataExport } }`, map[string]any{"id": f.customerID()})
			if resp.code() != codeForbidden || strings.Contains(fmt.Sprint(resp), customerEmail) {
				t.Fatalf("another customer's export through customer(id): %+v", resp)
			}
			other := storetest.NewDomain(t, f.store)
			addOperator(t, f, other.ID, "admin@other.test")
			login := f.post(t, "", loginMutation, map[string]any{"domain": other.Slug, "email": "admin@other.test", "password": testPassword})
			foreign, _ := dig(login.Data, "operatorLogin", "token").(string)
			if foreign == "" {
				t.Fatalf("the other domain's admin: %+v", login)
			}
			for _, q := range []string{exportQuery, `query($id: ID!) { customer(id: $id) { dataExport } }`} {
				resp = f.post(t, foreign, q, map[string]any{"id": f.customerID()})
				if len(resp.Errors) != 0 || strings.Contains(fmt.Sprint(resp), customerEmail) || fmt.Sprint(resp.Data) != "map[customer:<nil>]" && fmt.Sprint(resp.Data) != "map[node:<nil>]" {
					t.Fatalf("another domain's operator: %+v", resp)
				}
			}
		})
	}
}

const updateProfileMutation = `mutation($in: UpdateProfileInput!) {
  updateProfile(input: $in) { changed customer { firstName lastName email phone version } userErrors { field code message } }
}`

// A customer corrects its own name and phone: with its own session only,
// under the rules and the version operators' corrections follow.
func TestCustomerCorrectsItsOwnProfile(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			support, admin := f.login(t, demo.SupportEmail), f.login(t, demo.AdminEmail)
			own, _, _ := f.customerLogin(t, customerPassword)
			_, ticket := f.startAssist(t, support, "thermostat offline")
			assisting, _ := f.redeem(t, ticket)
			version := f.current(t, support)["version"]
			change := map[string]any{"in": map[string]any{"version": version, "firstName": "Cassiopeia", "phone": "+1 555 010 8888"}}

			// Refused, and nothing changes.
			for who, token := range map[string]string{"SUPPORT": support, "the assist session": assisting} {
				if resp := f.post(t, token, updateProfileMutation, change); resp.code() != codeForbidden {
					t.Errorf("%s correcting the customer's own profile: %+v, want FORBIDDEN", who, resp)
				}
			}
			for field, bad := range map[string]any{"phone": "call me maybe", "firstName": "  ", "lastName": "Cus\u202etomer"} {
				resp := f.post(t, own, updateProfileMutation, map[string]any{"in": map[string]any{"version": version, field: bad}})
				if code, at := firstUserError(resp, "updateProfile"); code == "" || at != field {
					t.Errorf("%s %q: %+v, want a user error on %s", field, bad, resp, field)
				}
			}
			if now := f.current(t, support); now["version"] != version || now["firstName"] != "Casey" {
				t.Fatalf("the customer after the refusals: %v", now)
			}

			// The correction: search finds the new values at once, and not the old.
			resp := f.post(t, own, updateProfileMutation, change)
			if dig(resp.Data, "updateProfile", "changed") != true || dig(resp.Data, "updateProfile", "customer", "firstName") != "Cassiopeia" ||
				dig(resp.Data, "updateProfile", "customer", "email") != customerEmail {
				t.Fatalf("updateProfile: %+v", resp)
			}
			if hits := searchEmails(t, f, support, "cassiopeia"); len(hits) != 1 || hits[0] != customerEmail {
				t.Errorf("search for the new name: %v", hits)
			}
			if hits := searchEmails(t, f, support, "5550108888"); len(hits) != 1 {
				t.Errorf("search for the new phone: %v", hits)
			}
			if hits := searchEmails(t, f, support, "5550107777"); len(hits) != 0 {
				t.Errorf("search for the old phone: %v", hits)
			}
			updates := auditEntries(t, f, admin, "user_updated")
			if len(updates) != 1 || updates[0]["actorType"] != "customer" || updates[0]["actorId"] != f.customerID() ||
				updates[0]["reason"] != "changed: firstName, phone" {
				t.Errorf("the correction's audit record: %v", updates)
			}

			// The same values write nothing; the old version is a conflict.
			same := map[string]any{"in": map[string]any{"version": dig(resp.Data, "updateProfile", "customer", "version"), "firstName": "Cassiopeia"}}
			if resp := f.post(t, own, updateProfileMutation, same); dig(resp.Data, "updateProfile", "changed") != false {
				t.Errorf("the same name again: %+v, want changed false", resp)
			}
			stale := map[string]any{"in": map[string]any{"version": version, "lastName": "Stale"}}
			if code, field := firstUserError(f.post(t, own, updateProfileMutation, stale), "updateProfile"); code != "CONFLICT" || field != "version" {
				t.Errorf("a stale version: %s on %s, want CONFLICT on version", code, field)
			}
		})
	}
}

// A customer's own corrections are a budget of ten, then one a minute: each
// is an audit record and an event every console reads (a tryout wrote 150
// in a quarter of a second). The budget is in the customers service, the
// same over either store.
func TestCustomerCorrectionsAreRateLimited(t *testing.T) {
	f := newAccountFixture(t, nil)
	own, _, _ := f.customerLogin(t, customerPassword)
	support := f.login(t, demo.SupportEmail)
	version := f.current(t, support)["version"]
	correct := func(lastName string) gqlResponse {
		t.Helper()
		resp := f.post(t, own, updateProfileMutation, map[string]any{"in": map[string]any{"version": version, "lastName": lastName}})
		if v := dig(resp.Data, "updateProfile", "customer", "version"); v != nil {
			version = v
		}
		return resp
	}
	// Only corrections written count: saves that change nothing, and refused ones, do not
	// (a tryout's ten unchanged saves used up the budget).
	for range 10 {
		if resp := correct("Customer"); dig(resp.Data, "updateProfile", "changed") != false {
			t.Fatalf("an unchanged save: %+v", resp)
		}
		stale := f.post(t, own, updateProfileMutation, map[string]any{"in": map[string]any{"version": 1000, "lastName": "Stale"}})
		if code, _ := firstUserError(stale, "updateProfile"); code != "CONFLICT" {
			t.Fatalf("a stale save: %+v", stale)
		}
	}
	for i := range 10 {
		if resp := correct(fmt.Sprint("Customer", "abcdefghij"[i:i+1])); dig(resp.Data, "updateProfile", "changed") != true {
			t.Fatalf("correction %d: %+v", i+1, resp)
		}
	}
	if resp := correct("Eleventh"); resp.code() != codeRateLimited {
		t.Fatalf("the eleventh correction at once: %+v, want RATE_LIMITED", resp)
	}
	if now := f.current(t, support); now["lastName"] != "Customerj" {
		t.Fatalf("the refused correction changed the customer: %v", now)
	}
	f.clock.Advance(time.Minute)
	if resp := correct("Later"); dig(resp.Data, "updateProfile", "changed") != true {
		t.Fatalf("a correction a minute later: %+v", resp)
	}
}
