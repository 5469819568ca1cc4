package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/storetest"
)

const (
	customerPassword = "tulip-lantern-orbit-42"
	customerEmail    = "casey.customer@example.com"
	newPassword      = "a brand new passphrase"
)

// storeKinds runs a test against a server on each store.
var storeKinds = []struct {
	name string
	edit func(t *testing.T) func(*config)
}{
	{"sqlite", func(*testing.T) func(*config) { return nil }},
	{"mongo", func(t *testing.T) func(*config) {
		uri := mongotest.URI(t)
		return func(c *config) { c.MongoURI = uri }
	}},
}

// accountFixture is a server with the demo domain and one customer with a
// known password and a device.
type accountFixture struct {
	*testInstance
	customer customers.Customer
	device   devices.Device
}

func newAccountFixture(t *testing.T, edit func(*config)) *accountFixture {
	t.Helper()
	s := startTest(t, edit)
	return addCustomer(t, s)
}

func addCustomer(t *testing.T, s *testInstance) *accountFixture {
	t.Helper()
	ctx := context.Background()
	if s.cfg.MongoURI != "" {
		copyMongoDemo(t, s)
	}
	if err := demo.Ensure(ctx, s.store, testPassword, now(), io.Discard); err != nil {
		t.Fatal(err)
	}
	d, err := s.store.DomainBySlug(ctx, demo.Slug)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.store.CustomerByEmail(ctx, d.ID, customerEmail)
	if err != nil { // the first instance of a shared store creates it
		c = storetest.NewCustomer(d, "Casey", "Customer", customerEmail, "+1 555 010 7777")
		c.PasswordHash = passwords.Encode(passwords.OWASP, customerPassword)
		dev := devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: c.ID, Name: "Hall", Model: "T-100",
			SerialNumber: "T100-2025-HALL", MACAddress: "02:10:C0:00:4A:11",
			Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto}, CreatedAt: now(), UpdatedAt: now()}
		c.SearchTokens = customers.SearchTokens(c, []devices.Device{dev}, d.DefaultRegion)
		if err := s.store.ImportCustomers(ctx, []customers.Customer{c}, []devices.Device{dev}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.store.DevicesByCustomer(ctx, c.ID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("devices: %v %v", ds, err)
	}
	return &accountFixture{testInstance: s, customer: c, device: ds[0]}
}

func (f *accountFixture) customerID() string { return globalIDForTest("Customer", f.customer.ID) }

const customerLoginMutation = `mutation($email: String!, $password: String!) {
  login(input: {domain: "demo", email: $email, password: $password}) {
    token mustChangePassword customer { email } userErrors { field message code }
  }
}`

// customerLogin returns the token, or "" and the first user error's code and message.
func (f *accountFixture) customerLogin(t *testing.T, password string) (token, code, message string) {
	t.Helper()
	resp := f.post(t, "", customerLoginMutation, map[string]any{"email": customerEmail, "password": password})
	if len(resp.Errors) > 0 {
		return "", resp.code(), resp.Errors[0].Message
	}
	if tok, _ := dig(resp.Data, "login", "token").(string); tok != "" {
		return tok, "", ""
	}
	errs, _ := dig(resp.Data, "login", "userErrors").([]any)
	if len(errs) == 0 {
		t.Fatalf("login: neither token nor error: %+v", resp)
	}
	return "", dig(errs[0], "code").(string), dig(errs[0], "message").(string)
}

const setStatusMutation = `mutation($id: ID!, $status: AccountStatus!, $reason: String) {
  setAccountStatus(input: {customerId: $id, status: $status, reason: $reason}) {
    changed customer { status } userErrors { field code }
  }
}`

const resetMutation = `mutation($id: ID!, $pw: String!, $confirm: String!, $require: Boolean) {
  resetPassword(input: {customerId: $id, newPassword: $pw, confirmPassword: $confirm, requireChangeOnNextLogin: $require}) {
    customer { id } userErrors { field code message }
  }
}`

const viewerQuery = `{ viewer { ... on Customer { email devices { name } } } }`

// wsMessage is one read from a socket and when it completed.
type wsMessage struct {
	msg map[string]any
	err error
	at  time.Time
}

// readAll reads c in the background until it fails, timing every message.
func (c *wsClient) readAll() <-chan wsMessage {
	out := make(chan wsMessage, 16)
	go func() {
		defer close(out)
		for {
			msg, err := c.next()
			out <- wsMessage{msg, err, time.Now()}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// subscribeAccountEvents opens a socket as the customer and subscribes.
func (f *accountFixture) subscribeAccountEvents(t *testing.T, token string) *wsClient {
	t.Helper()
	c, _, err := dialWS(t, f.testInstance, "graphql-transport-ws", "")
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.init(map[string]any{"Authorization": "Bearer " + token}); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("init: %v %v", ack, err)
	}
	c.send(map[string]any{"id": "events", "type": "subscribe", "payload": map[string]any{"query": `subscription { accountEvents { type status previousStatus reason } }`}})
	time.Sleep(150 * time.Millisecond) // the subscription is registered when its resolver has run
	return c
}

// awaitAccountEventsRegistered proves that c's accountEvents subscription is
// registered on f's instance, whatever the load (a fixed sleep is not proof
// on a busy machine): support corrects the customer's phone there, and c must
// receive PROFILE_UPDATED within 10 s.
func (f *accountFixture) awaitAccountEventsRegistered(t *testing.T, support string, c *wsClient) {
	t.Helper()
	version := f.current(t, support)["version"]
	resp := f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version, map[string]any{"phone": fmt.Sprintf("+44 20 7946 %04d", time.Now().UnixNano()%10000)}))
	if dig(resp.Data, "updateCustomer", "changed") != true {
		t.Fatalf("probe update: %+v", resp)
	}
	for {
		msg, err := c.nextWithin(10 * time.Second)
		if err != nil {
			t.Fatalf("accountEvents never delivered the probe: %v", err)
		}
		if ev, _ := dataOf(wsMessage{msg: msg})["accountEvents"].(map[string]any); ev["type"] == "PROFILE_UPDATED" {
			return
		}
	}
}

func TestDisablingTakesEffectImmediately(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			token, _, _ := f.customerLogin(t, customerPassword)
			if token == "" {
				t.Fatal("the customer cannot sign in")
			}
			if resp := f.post(t, token, viewerQuery, nil); dig(resp.Data, "viewer", "email") != customerEmail {
				t.Fatalf("viewer before: %+v", resp)
			}
			admin := f.login(t, demo.AdminEmail)
			ws := f.subscribeAccountEvents(t, token).readAll()

			resp := f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "chargeback fraud"})
			returned := time.Now()
			if dig(resp.Data, "setAccountStatus", "changed") != true || dig(resp.Data, "setAccountStatus", "customer", "status") != "DISABLED" {
				t.Fatalf("disable: %+v", resp)
			}

			// The old token fails at once, with ACCOUNT_DISABLED.
			if resp := f.post(t, token, viewerQuery, nil); resp.code() != codeAccountDisabled {
				t.Fatalf("old token after disabling: %+v, want ACCOUNT_DISABLED", resp)
			}
			// Sign-in: generic for a wrong password, clear for the right one.
			if _, code, _ := f.customerLogin(t, "wrong password entirely"); code != "INVALID_CREDENTIALS" {
				t.Fatalf("wrong password of a disabled account: %s", code)
			}
			if _, code, msg := f.customerLogin(t, customerPassword); code != "ACCOUNT_DISABLED" || msg != "This account has been disabled. Please contact customer support." {
				t.Fatalf("right password of a disabled account: %s %q", code, msg)
			}
			// The open socket gets the event, then is closed with 4403.
			event, closed := <-ws, <-ws
			if event.err != nil || dig(event.msg, "payload", "data", "accountEvents", "type") != "STATUS_CHANGED" ||
				dig(event.msg, "payload", "data", "accountEvents", "status") != "DISABLED" {
				t.Fatalf("socket got %v, %v; want the STATUS_CHANGED event", event.msg, event.err)
			}
			if code := closeCode(closed.err); code != closeForbidden {
				t.Fatalf("socket after the event: %v, want close 4403", closed.err)
			}
			t.Logf("event %v and close %v after the mutation returned", event.at.Sub(returned).Round(time.Millisecond), closed.at.Sub(returned).Round(time.Millisecond))
			if waited := closed.at.Sub(returned); waited > 3*time.Second {
				t.Fatalf("socket closed only after %v", waited)
			}

			// Disabling again changes nothing and writes no event.
			before, _ := storetest.RecentEvents(context.Background(), f.store, f.customer.DomainID, 100)
			resp = f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "again"})
			if dig(resp.Data, "setAccountStatus", "changed") != false {
				t.Fatalf("second disable: %+v", resp)
			}
			if after, _ := storetest.RecentEvents(context.Background(), f.store, f.customer.DomainID, 100); len(after) != len(before) {
				t.Fatalf("a no-op disable wrote %d events", len(after)-len(before))
			}

			// Enabling lets the customer in again; the old session stays dead.
			resp = f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "ACTIVE"})
			if dig(resp.Data, "setAccountStatus", "changed") != true {
				t.Fatalf("enable: %+v", resp)
			}
			if tok, code, _ := f.customerLogin(t, customerPassword); tok == "" {
				t.Fatalf("sign-in after enabling: %s", code)
			}
			if resp := f.post(t, token, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("the session ended by disabling came back: %+v", resp)
			}

			records, _ := storetest.AuditRecords(context.Background(), f.store, f.customer.DomainID, 50)
			found := false
			for _, r := range records {
				found = found || (r.Action == "user_disabled" && r.TargetID == f.customer.ID && r.Reason == "chargeback fraud" && r.ActorType == "operator")
			}
			if !found {
				t.Fatalf("no audit record of the disabling: %+v", records)
			}
		})
	}
}

func TestResetPasswordTakesEffectImmediately(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			token, _, _ := f.customerLogin(t, customerPassword)
			support := f.login(t, demo.SupportEmail)

			refusals := []struct {
				pw, confirm, field, code string
			}{
				{newPassword, "something else", "confirmPassword", "MISMATCH"},
				{"short", "short", "newPassword", "TOO_SHORT"},
				{"1qaz2wsx3edc", "1qaz2wsx3edc", "newPassword", "COMMON_PASSWORD"},
				{customerEmail, customerEmail, "newPassword", "MATCHES_ACCOUNT"},
			}
			for _, r := range refusals {
				resp := f.post(t, support, resetMutation, map[string]any{"id": f.customerID(), "pw": r.pw, "confirm": r.confirm})
				errs, _ := dig(resp.Data, "resetPassword", "userErrors").([]any)
				if len(errs) != 1 || dig(errs[0], "code") != r.code || dig(errs[0], "field").([]any)[0] != r.field {
					t.Fatalf("reset to %q: %+v, want %s on %s", r.pw, resp, r.code, r.field)
				}
			}
			if resp := f.post(t, token, viewerQuery, nil); dig(resp.Data, "viewer", "email") != customerEmail {
				t.Fatalf("a refused reset changed something: %+v", resp)
			}

			resp := f.post(t, support, resetMutation, map[string]any{"id": f.customerID(), "pw": newPassword, "confirm": newPassword})
			if dig(resp.Data, "resetPassword", "customer", "id") != f.customerID() {
				t.Fatalf("reset: %+v", resp)
			}
			if resp := f.post(t, token, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("session after the reset: %+v, want UNAUTHENTICATED", resp)
			}
			if _, code, _ := f.customerLogin(t, customerPassword); code != "INVALID_CREDENTIALS" {
				t.Fatalf("old password after the reset: %s", code)
			}
			if tok, code, _ := f.customerLogin(t, newPassword); tok == "" {
				t.Fatalf("new password after the reset: %s", code)
			}
			evs, _ := storetest.RecentEvents(context.Background(), f.store, f.customer.DomainID, 10)
			if len(evs) == 0 || evs[0].Type != "PASSWORD_RESET" || evs[0].CustomerID != f.customer.ID {
				t.Fatalf("no PASSWORD_RESET event: %+v", evs)
			}

			// With requireChangeOnNextLogin the next session may only change the password.
			resp = f.post(t, support, resetMutation, map[string]any{"id": f.customerID(), "pw": customerPassword, "confirm": customerPassword, "require": true})
			if errs, _ := dig(resp.Data, "resetPassword", "userErrors").([]any); len(errs) != 0 {
				t.Fatalf("reset with change required: %+v", resp)
			}
			// The sign-in answers without an error, whatever it selects, so that a
			// client that fails on any error keeps the token (tryout 19).
			login := f.post(t, "", `mutation($email: String!, $password: String!) {
  login(input: {domain: "demo", email: $email, password: $password}) {
    token mustChangePassword customer { email devices { name } activity(first: 5) { edges { cursor } } } userErrors { code }
  }
}`, map[string]any{"email": customerEmail, "password": customerPassword})
			restricted, _ := dig(login.Data, "login", "token").(string)
			if restricted == "" || dig(login.Data, "login", "mustChangePassword") != true || len(login.Errors) != 0 || dig(login.Data, "login", "customer") != nil {
				t.Fatalf("login after a forced reset: %+v, want a token, mustChangePassword, no customer and no error", login)
			}
			if resp := f.post(t, restricted, viewerQuery, nil); resp.code() != codePasswordChangeRequired {
				t.Fatalf("restricted session reading: %+v", resp)
			}
			change := f.post(t, restricted, `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) {
				token customer { devices { name } } userErrors { code } } }`,
				map[string]any{"c": customerPassword, "n": "my very own secret"})
			full, _ := dig(change.Data, "changePassword", "token").(string)
			if devs, _ := dig(change.Data, "changePassword", "customer", "devices").([]any); full == "" || len(devs) == 0 || len(change.Errors) != 0 {
				t.Fatalf("changePassword: %+v, want a token and the customer's devices", change)
			}
			if resp := f.post(t, full, viewerQuery, nil); dig(resp.Data, "viewer", "email") != customerEmail {
				t.Fatalf("session after changing the password: %+v", resp)
			}
			if resp := f.post(t, restricted, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("the restricted session outlived the change: %+v", resp)
			}
		})
	}
}

// A sign-in with blank fields says which (REQUIRED on each), as sign-up
// does, instead of INVALID_CREDENTIALS for no field (tryout 19); a password
// of spaces is a password.
func TestSignInNamesItsBlankFields(t *testing.T) {
	f := newAccountFixture(t, nil)
	for _, mutation := range []string{"login", "operatorLogin"} {
		for _, tc := range []struct {
			domain, email, password string
			want                    string
		}{
			{"", "", "", "[domain:REQUIRED email:REQUIRED password:REQUIRED]"},
			{"demo", " ", "", "[email:REQUIRED password:REQUIRED]"},
			{"demo", customerEmail, "   ", "[:INVALID_CREDENTIALS]"},
		} {
			resp := f.post(t, "", `mutation($d: String!, $e: String!, $p: String!) { `+mutation+`(input: {domain: $d, email: $e, password: $p}) {
				token userErrors { field code } } }`, map[string]any{"d": tc.domain, "e": tc.email, "p": tc.password})
			var got []string
			errs, _ := dig(resp.Data, mutation, "userErrors").([]any)
			for _, e := range errs {
				field, _ := dig(e, "field").([]any)
				got = append(got, fmt.Sprintf("%s:%s", strings.Trim(fmt.Sprint(field), "[]"), dig(e, "code")))
			}
			if fmt.Sprint(got) != tc.want || dig(resp.Data, mutation, "token") != nil {
				t.Errorf("%s(%q, %q, %q): %v (%+v), want %s", mutation, tc.domain, tc.email, tc.password, got, resp, tc.want)
			}
		}
	}
}

func TestCustomerSelfService(t *testing.T) {
	f := newAccountFixture(t, nil)
	token, _, _ := f.customerLogin(t, customerPassword)
	changeQ := `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { token userErrors { field code } } }`
	resp := f.post(t, token, changeQ, map[string]any{"c": "not my password", "n": newPassword})
	if errs, _ := dig(resp.Data, "changePassword", "userErrors").([]any); len(errs) != 1 || dig(errs[0], "code") != "INVALID_CREDENTIALS" {
		t.Fatalf("wrong current password: %+v", resp)
	}
	resp = f.post(t, token, changeQ, map[string]any{"c": customerPassword, "n": "Casey"})
	if errs, _ := dig(resp.Data, "changePassword", "userErrors").([]any); len(errs) != 1 || dig(errs[0], "code") != "TOO_SHORT" {
		t.Fatalf("weak new password: %+v", resp)
	}

	deviceID := globalIDForTest("Device", f.device.ID)
	update := `mutation($id: ID!, $name: String, $t: Float) { updateDevice(input: {deviceId: $id, name: $name, settings: {targetTemperature: $t, mode: ECO}}) {
	  device { name settings { targetTemperature mode } } userErrors { field code } } }`
	resp = f.post(t, token, update, map[string]any{"id": deviceID, "name": "  Living room  ", "t": 21.5})
	if dig(resp.Data, "updateDevice", "device", "name") != "Living room" || dig(resp.Data, "updateDevice", "device", "settings", "mode") != "ECO" {
		t.Fatalf("updateDevice: %+v", resp)
	}
	resp = f.post(t, token, update, map[string]any{"id": deviceID, "t": 99.0})
	errs, _ := dig(resp.Data, "updateDevice", "userErrors").([]any)
	if len(errs) != 1 || strings.Join([]string{dig(errs[0], "field").([]any)[0].(string), dig(errs[0], "field").([]any)[1].(string)}, ".") != "settings.targetTemperature" {
		t.Fatalf("out-of-range temperature: %+v", resp)
	}
	if d, _ := f.store.DeviceByID(context.Background(), f.device.ID); d.Settings.TargetTemperature != 21.5 {
		t.Fatalf("a refused update changed the device: %+v", d)
	}
	// Another customer's device does not exist for this one.
	d, _ := f.store.DomainBySlug(context.Background(), demo.Slug)
	other := storetest.NewCustomer(d, "Olive", "Other", "olive@example.com", "")
	_ = f.store.ImportCustomers(context.Background(), []customers.Customer{other}, nil)
	foreign := devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: other.ID, Name: "Theirs", Settings: devices.Settings{Mode: devices.ModeOff}}
	foreign.SerialNumber = "T100-" + strings.ToUpper(foreign.ID)
	_ = f.store.InsertDevices(context.Background(), []devices.Device{foreign})
	if resp := f.post(t, token, update, map[string]any{"id": globalIDForTest("Device", foreign.ID), "name": "Mine now"}); resp.code() != codeNotFound {
		t.Fatalf("renaming another customer's device: %+v", resp)
	}
	nodeQ := `query($id: ID!) { node(id: $id) { ... on Device { name serialNumber macAddress } } }`
	if resp := f.post(t, token, nodeQ, map[string]any{"id": deviceID}); dig(resp.Data, "node", "name") != "Living room" ||
		dig(resp.Data, "node", "serialNumber") != f.device.SerialNumber || dig(resp.Data, "node", "macAddress") != f.device.MACAddress {
		t.Fatalf("node of the customer's own device (%s, %s): %+v", f.device.SerialNumber, f.device.MACAddress, resp)
	}
	if resp := f.post(t, token, nodeQ, map[string]any{"id": globalIDForTest("Device", foreign.ID)}); resp.Data["node"] != nil {
		t.Fatalf("node of another customer's device: %+v", resp)
	}
}

func TestAccountActionsAreAuthorized(t *testing.T) {
	f := newAccountFixture(t, nil)
	customer, _, _ := f.customerLogin(t, customerPassword)
	support := f.login(t, demo.SupportEmail)
	vars := map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "x"}
	if resp := f.post(t, support, setStatusMutation, vars); resp.code() != codeForbidden {
		t.Errorf("SUPPORT disabling: %+v", resp)
	}
	if resp := f.post(t, customer, setStatusMutation, vars); resp.code() != codeForbidden {
		t.Errorf("a customer disabling: %+v", resp)
	}
	if resp := f.post(t, customer, resetMutation, map[string]any{"id": f.customerID(), "pw": newPassword, "confirm": newPassword}); resp.code() != codeForbidden {
		t.Errorf("a customer resetting: %+v", resp)
	}
	if resp := f.post(t, support, `{ customers(query: "") { totalCount } }`, nil); resp.code() != "" {
		t.Errorf("SUPPORT searching: %+v", resp)
	}
	if resp := f.post(t, customer, `{ customers(query: "") { totalCount } }`, nil); resp.code() != codeForbidden {
		t.Errorf("a customer searching: %+v", resp)
	}
	// An operator of another domain finds no such customer.
	other := storetest.NewDomain(t, f.store)
	addOperator(t, f, other.ID, "admin@other.test")
	stranger := f.post(t, "", loginMutation, map[string]any{"domain": other.Slug, "email": "admin@other.test", "password": testPassword})
	tok, _ := dig(stranger.Data, "operatorLogin", "token").(string)
	if resp := f.post(t, tok, setStatusMutation, vars); resp.code() != codeNotFound {
		t.Errorf("another domain's admin disabling: %+v", resp)
	}
	if resp := f.post(t, tok, resetMutation, map[string]any{"id": f.customerID(), "pw": newPassword, "confirm": newPassword}); resp.code() != codeNotFound {
		t.Errorf("another domain's admin resetting: %+v", resp)
	}
	if c, _ := f.store.CustomerByID(context.Background(), f.customer.ID); c.Status != customers.StatusActive || c.PasswordHash != f.customer.PasswordHash {
		t.Errorf("a refused action changed the customer")
	}
}

func TestBruteForceBacksOffBeforeHashing(t *testing.T) {
	f := newAccountFixture(t, nil)
	for i := range 4 {
		if _, code, _ := f.customerLogin(t, "guess number "+string(rune('a'+i))); code != "INVALID_CREDENTIALS" {
			t.Fatalf("guess %d: %s", i, code)
		}
	}
	// The fifth failure starts the back-off; from then on even the right password waits.
	f.customerLogin(t, "guess number e")
	start := time.Now()
	if _, code, _ := f.customerLogin(t, customerPassword); code != codeRateLimited {
		t.Fatalf("during back-off: %s, want RATE_LIMITED", code)
	}
	if took := time.Since(start); took > 20*time.Millisecond {
		t.Logf("a refused attempt took %v (no hash should run)", took)
	}
	// Another account from the same client is not blocked yet.
	resp := f.post(t, "", loginMutation, map[string]any{"domain": "demo", "email": demo.AdminEmail, "password": testPassword})
	if dig(resp.Data, "operatorLogin", "token") == nil {
		t.Fatalf("another account was blocked too: %+v", resp)
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	f := newAccountFixture(t, nil)
	token, _, _ := f.customerLogin(t, customerPassword)
	admin := f.login(t, demo.AdminEmail)
	f.post(t, admin, resetMutation, map[string]any{"id": f.customerID(), "pw": newPassword, "confirm": newPassword})
	f.customerLogin(t, "a wrong password here")
	f.post(t, token, viewerQuery, nil)
	logs := f.logs.String()
	for _, secret := range []string{customerPassword, newPassword, token, admin, testPassword, "a wrong password here"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain a secret: %q", secret)
		}
	}
	if !strings.Contains(logs, "req_id") {
		t.Error("the logs were not captured")
	}
}

func TestTwoInstancesShareOneMongoStore(t *testing.T) {
	uri := mongotest.URI(t)
	edit := func(c *config) { c.MongoURI = uri }
	a := newAccountFixture(t, edit)
	b := addCustomer(t, startTest(t, edit))
	token, _, _ := a.customerLogin(t, customerPassword)
	admin := b.login(t, demo.AdminEmail)
	ws := a.subscribeAccountEvents(t, token).readAll()

	resp := b.post(t, admin, setStatusMutation, map[string]any{"id": b.customerID(), "status": "DISABLED", "reason": "disabled on B"})
	returned := time.Now()
	if dig(resp.Data, "setAccountStatus", "changed") != true {
		t.Fatalf("disable on B: %+v", resp)
	}
	if resp := a.post(t, token, viewerQuery, nil); resp.code() != codeAccountDisabled {
		t.Fatalf("request on A after disabling on B: %+v", resp)
	}
	event, closed := <-ws, <-ws
	got := dig(event.msg, "payload", "data", "accountEvents")
	if event.err != nil || dig(got, "status") != "DISABLED" || dig(got, "previousStatus") != "ACTIVE" {
		t.Fatalf("socket on A got %v, %v; want the event from B", event.msg, event.err)
	}
	// The operator's reason is an internal note: the customer is not told it.
	if reason, ok := got.(map[string]any)["reason"]; !ok || reason != nil {
		t.Fatalf("the customer was sent the operator's reason: %v", got)
	}
	if closeCode(closed.err) != closeForbidden {
		t.Fatalf("socket on A: %v, want close 4403", closed.err)
	}
	t.Logf("on A: event %v and close %v after the mutation on B returned", event.at.Sub(returned).Round(time.Millisecond), closed.at.Sub(returned).Round(time.Millisecond))
}

// addOperator adds an ADMIN with testPassword to the domain.
func addOperator(t *testing.T, f *accountFixture, domainID, email string) {
	t.Helper()
	op := operators.Operator{ID: ids.New(), DomainID: domainID, Name: "Other Admin", Email: email, Role: operators.RoleAdmin,
		Status: operators.StatusActive, PasswordHash: passwords.Encode(passwords.OWASP, testPassword), CreatedAt: now(), UpdatedAt: now()}
	if err := f.store.CreateOperator(context.Background(), op); err != nil {
		t.Fatal(err)
	}
}

func TestCustomersSeeTheirAccountActivity(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			if _, code, _ := f.customerLogin(t, "not the password"); code != "INVALID_CREDENTIALS" {
				t.Fatalf("a wrong password: %s", code)
			}
			first, _, _ := f.customerLogin(t, customerPassword)
			admin := f.login(t, demo.AdminEmail)
			f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "internal: chargeback"})
			f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "ACTIVE"})
			// SUPPORT's action reads SUPPORT, an ADMIN's ADMIN (the ActivityActor added for them).
			support := f.login(t, demo.SupportEmail)
			f.setAssistConsent(t, "NONE") // started at once: the customer is not online to be asked
			if resp := f.post(t, support, `mutation($id: ID!) { startAssist(input: {customerId: $id, reason: "router"}) { userErrors { code } } }`,
				map[string]any{"id": f.customerID()}); len(resp.Errors) > 0 || len(dig(resp.Data, "startAssist", "userErrors").([]any)) > 0 {
				t.Fatalf("startAssist by support: %+v", resp)
			}
			token, _, _ := f.customerLogin(t, customerPassword)
			if token == "" || first == "" {
				t.Fatal("the customer cannot sign in")
			}

			const activity = `query($after: String) { viewer { ... on Customer {
			  activity(first: 2, after: $after) { edges { node { action by outcome at } } pageInfo { hasNextPage endCursor } } } } }`
			var got []string
			for after := any(nil); ; {
				resp := f.post(t, token, activity, map[string]any{"after": after})
				page := dig(resp.Data, "viewer", "activity")
				if page == nil {
					t.Fatalf("activity: %+v", resp)
				}
				for _, e := range dig(page, "edges").([]any) {
					got = append(got, fmt.Sprintf("%v by %v: %v", dig(e, "node", "action"), dig(e, "node", "by"), dig(e, "node", "outcome")))
				}
				if dig(page, "pageInfo", "hasNextPage") != true {
					break
				}
				after = dig(page, "pageInfo", "endCursor")
			}
			want := []string{
				"authn_login_success by CUSTOMER: success",
				"assist_started by SUPPORT: success",
				"user_enabled by ADMIN: success",
				"user_disabled by ADMIN: success",
				"authn_login_success by CUSTOMER: success",
				"authn_login_fail by UNKNOWN: failure",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("activity, newest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			// Operators who may view the customer see the same; nobody else does.
			byID := `query($id: ID!) { customer(id: $id) { activity(first: 100) { edges { node { action } } } } }`
			if resp := f.post(t, f.login(t, demo.SupportEmail), byID, map[string]any{"id": f.customerID()}); len(dig(resp.Data, "customer", "activity", "edges").([]any)) < len(want) {
				t.Errorf("SUPPORT's view of the activity: %+v", resp)
			}
			if resp := f.post(t, token, byID, map[string]any{"id": f.customerID()}); resp.code() != codeForbidden {
				t.Errorf("a customer through customer(id): %+v, want FORBIDDEN", resp)
			}
			if resp := f.post(t, token, activity, map[string]any{"after": "not-a-cursor"}); resp.code() != codeBadUserInput {
				t.Errorf("a forged cursor: %+v, want BAD_USER_INPUT", resp)
			}
		})
	}
}

// A new password must differ from the current one, a temporary one set by
// support (the forced change) included; nothing changes otherwise.
func TestNewPasswordMustDifferFromTheCurrent(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			const temporary = "a temporary passphrase"
			if resp := f.post(t, f.login(t, demo.SupportEmail), resetMutation, map[string]any{"id": f.customerID(), "pw": temporary, "confirm": temporary, "require": true}); dig(resp.Data, "resetPassword", "customer") == nil {
				t.Fatalf("reset: %+v", resp)
			}
			restricted, _, _ := f.customerLogin(t, temporary)
			change := `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { token userErrors { field code } } }`
			resp := f.post(t, restricted, change, map[string]any{"c": temporary, "n": temporary})
			if errs, _ := dig(resp.Data, "changePassword", "userErrors").([]any); len(errs) == 0 || dig(errs[0], "code") != "SAME_PASSWORD" {
				t.Fatalf("the temporary password as the new one: %+v", resp)
			}
			if token, _, _ := f.customerLogin(t, temporary); token == "" {
				t.Fatal("the refused change changed something: the temporary password no longer signs in")
			}
			if resp := f.post(t, restricted, change, map[string]any{"c": temporary, "n": "the customer's own choice"}); dig(resp.Data, "changePassword", "token") == nil {
				t.Errorf("a different password: %+v", resp)
			}
			admin := f.login(t, demo.AdminEmail)
			opChange := `mutation($c: String!, $n: String!) { changeOperatorPassword(input: {currentPassword: $c, newPassword: $n}) { token userErrors { code } } }`
			if resp := f.post(t, admin, opChange, map[string]any{"c": testPassword, "n": testPassword}); userError(resp, "changeOperatorPassword") != "SAME_PASSWORD" {
				t.Errorf("an operator's current password as the new one: %+v", resp)
			}
		})
	}
}

// A sign-in's payload is read as the session it opens: login's customer
// with its devices (a field only the customer's own session, or an operator,
// may read) answers without an error, as does the customer that
// changePassword returns with the session that replaces the old one. (A
// tryout's login { customer { devices } } issued a token and answered
// "sign in first" with customer null.)
func TestSignInPayloadsAreReadAsTheSessionTheyOpen(t *testing.T) {
	f := newAccountFixture(t, nil)
	resp := f.post(t, "", `mutation($email: String!, $password: String!) {
  login(input: {domain: "demo", email: $email, password: $password}) { token customer { email devices { serialNumber } } }
}`, map[string]any{"email": customerEmail, "password": customerPassword})
	token, _ := dig(resp.Data, "login", "token").(string)
	devs, _ := dig(resp.Data, "login", "customer", "devices").([]any)
	if len(resp.Errors) != 0 || token == "" || len(devs) != 1 || dig(devs[0], "serialNumber") != f.device.SerialNumber {
		t.Fatalf("login with the customer's devices: %+v, want a token and the device", resp)
	}
	const newPassword = "quartz-meadow-lantern-57"
	resp = f.post(t, token, `mutation($old: String!, $new: String!) {
  changePassword(input: {currentPassword: $old, newPassword: $new}) { token customer { devices { serialNumber } } userErrors { code } }
}`, map[string]any{"old": customerPassword, "new": newPassword})
	if devs, _ := dig(resp.Data, "changePassword", "customer", "devices").([]any); len(resp.Errors) != 0 || len(devs) != 1 {
		t.Fatalf("changePassword with the customer's devices: %+v, want the device", resp)
	}
}

// A list's filter by customer (auditLog, assistSessions) takes the
// customer's id as the API gives it or bare, as the audit log shows it, with
// the same records; a string that is neither, or another type's id, is
// refused (BAD_USER_INPUT naming the argument) instead of answered with an
// empty list; a well-formed id of no customer of the domain lists nothing.
// (A tryout's pasted ids listed nothing, whatever they were.)
func TestListFiltersTakeIDsAsTheyArePasted(t *testing.T) {
	f := newAccountFixture(t, nil)
	admin := f.login(t, demo.AdminEmail)
	if resp := f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "filter test"}); len(resp.Errors) != 0 {
		t.Fatalf("disable: %+v", resp)
	}
	const auditQ = `query($id: ID) { auditLog(customerId: $id, first: 100) { edges { node { action } } } }`
	const assistQ = `query($id: ID) { assistSessions(customerId: $id) { edges { node { id } } } }`
	count := func(resp gqlResponse, list string) int {
		edges, _ := dig(resp.Data, list, "edges").([]any)
		return len(edges)
	}
	byGlobal := count(f.post(t, admin, auditQ, map[string]any{"id": f.customerID()}), "auditLog")
	if byGlobal == 0 {
		t.Fatal("no audit records of the disabled customer")
	}
	for _, same := range []string{f.customer.ID, " " + f.customer.ID + "\n", " " + f.customerID()} {
		if n := count(f.post(t, admin, auditQ, map[string]any{"id": same}), "auditLog"); n != byGlobal {
			t.Errorf("customerId %q lists %d records, the global id %d", same, n, byGlobal)
		}
	}
	for _, q := range []struct{ query, list string }{{auditQ, "auditLog"}, {assistQ, "assistSessions"}} {
		for _, bad := range []string{"garbage", "x" + f.customerID(), globalIDForTest("Device", f.device.ID), f.customer.ID[1:]} {
			if resp := f.post(t, admin, q.query, map[string]any{"id": bad}); resp.code() != codeBadUserInput || !strings.Contains(resp.Errors[0].Message, "customerId") {
				t.Errorf("%s(customerId: %q): %+v, want BAD_USER_INPUT naming customerId", q.list, bad, resp)
			}
		}
		if resp := f.post(t, admin, q.query, map[string]any{"id": globalIDForTest("Customer", ids.New())}); len(resp.Errors) != 0 || count(resp, q.list) != 0 {
			t.Errorf("%s of a customer no one is: %+v, want an empty list", q.list, resp)
		}
	}
}
