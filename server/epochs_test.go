package main

import (
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/mongotest"
)

// epochTopologies are the ways the tests below run: the change and the new
// session on one instance (either store), or the change on instance B and
// the sessions on instance A sharing a MongoDB store (A learns of the change
// from the store's event stream, later).
var epochTopologies = []struct {
	name  string
	start func(t *testing.T) (sessions, changes *accountFixture)
}{
	{"sqlite", func(t *testing.T) (*accountFixture, *accountFixture) { f := newAccountFixture(t, nil); return f, f }},
	{"mongo", func(t *testing.T) (*accountFixture, *accountFixture) {
		uri := mongotest.URI(t)
		f := newAccountFixture(t, func(c *config) { c.MongoURI = uri })
		return f, f
	}},
	{"mongo, two instances", func(t *testing.T) (*accountFixture, *accountFixture) {
		uri := mongotest.URI(t)
		edit := func(c *config) { c.MongoURI = uri }
		return newAccountFixture(t, edit), addCustomer(t, startTest(t, edit))
	}},
}

// deliversLater checks, a second and a half after a change (longer than the
// SQLite poll, a Mongo tail's delay and the socket close delay), that c is
// open and still delivers the customer's events: support corrects the
// phone, and c must get PROFILE_UPDATED and nothing else first.
func deliversLater(t *testing.T, f *accountFixture, support string, c *wsClient, what string) {
	t.Helper()
	time.Sleep(1500 * time.Millisecond)
	version := f.current(t, support)["version"]
	if resp := f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version, map[string]any{"phone": "+44 20 7946 0123"})); dig(resp.Data, "updateCustomer", "changed") == nil {
		t.Fatalf("probe: %+v", resp)
	}
	for {
		msg, err := c.nextWithin(10 * time.Second)
		if err != nil {
			t.Fatalf("%s: the new session's socket: %v", what, err)
		}
		ev, _ := dataOf(wsMessage{msg: msg})["accountEvents"].(map[string]any)
		if ev["type"] == "PROFILE_UPDATED" {
			return
		}
		// The enabling that made the new session possible may reach the broker after the
		// subscription (events are relayed from the store): it ends nothing and may come first.
		// Anything else of the change (what ended the old sessions) must not.
		if ev["type"] != "STATUS_CHANGED" || ev["status"] != "ACTIVE" {
			t.Fatalf("%s: the new session's socket got %v before the later PROFILE_UPDATED", what, msg)
		}
	}
}

// ended checks that c, a socket of a session opened before the change, is
// closed with code.
func ended(t *testing.T, c *wsClient, code int, what string) {
	t.Helper()
	for {
		_, err := c.nextWithin(10 * time.Second)
		if err != nil {
			if closeCode(err) != code {
				t.Errorf("%s: the old session's socket closed with %v, want %d", what, err, code)
			}
			return
		}
	}
}

// An event ends only the sessions, sockets and assistances that existed
// before the change it describes, however late it arrives: a customer who
// signs in right after the change keeps the new session and its socket.
func TestEventsEndOnlyWhatCameBefore(t *testing.T) {
	changes := []struct {
		name     string
		code     int // the old socket's close
		newToken func(t *testing.T, sessions, changes *accountFixture, support, oldToken string) string
	}{
		{"password reset", closeUnauthorized, func(t *testing.T, a, b *accountFixture, support, _ string) string {
			resp := b.post(t, support, resetMutation, map[string]any{"id": b.customerID(), "pw": "a brand new passphrase", "confirm": "a brand new passphrase", "require": false})
			if dig(resp.Data, "resetPassword", "customer") == nil {
				t.Fatalf("reset: %+v", resp)
			}
			token, code, _ := a.customerLogin(t, "a brand new passphrase")
			if token == "" {
				t.Fatalf("sign in right after the reset: %s", code)
			}
			return token
		}},
		{"disable and enable", closeForbidden, func(t *testing.T, a, b *accountFixture, _, _ string) string {
			admin := b.login(t, demo.AdminEmail)
			for _, status := range []string{"DISABLED", "ACTIVE"} {
				if resp := b.post(t, admin, setStatusMutation, map[string]any{"id": b.customerID(), "status": status, "reason": "x"}); dig(resp.Data, "setAccountStatus", "changed") != true {
					t.Fatalf("%s: %+v", status, resp)
				}
			}
			token, code, _ := a.customerLogin(t, customerPassword)
			if token == "" {
				t.Fatalf("sign in right after enabling: %s", code)
			}
			return token
		}},
		{"password change elsewhere", closeUnauthorized, func(t *testing.T, a, b *accountFixture, _, oldToken string) string {
			q := `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { token userErrors { code } } }`
			if resp := b.post(t, oldToken, q, map[string]any{"c": customerPassword, "n": "changed on the phone"}); dig(resp.Data, "changePassword", "token") == nil {
				t.Fatalf("change: %+v", resp)
			}
			token, code, _ := a.customerLogin(t, "changed on the phone")
			if token == "" {
				t.Fatalf("sign in right after the change: %s", code)
			}
			return token
		}},
	}
	// Every change on the embedded store; on MongoDB (where FerretDB makes
	// each case take 15 to 50 s) one change per topology, the others'
	// mechanism being the same event epoch.
	onMongo := map[string]string{"mongo": "password change elsewhere", "mongo, two instances": "password reset"}
	for _, topology := range epochTopologies {
		for _, change := range changes {
			if only, ok := onMongo[topology.name]; ok && only != change.name {
				continue
			}
			t.Run(topology.name+"/"+change.name, func(t *testing.T) {
				a, b := topology.start(t)
				support := a.login(t, demo.SupportEmail)
				oldToken, _, _ := a.customerLogin(t, customerPassword)
				old := a.subscribeAccountEvents(t, oldToken)
				a.awaitAccountEventsRegistered(t, support, old)

				newToken := change.newToken(t, a, b, b.login(t, demo.SupportEmail), oldToken)
				fresh := a.subscribeAccountEvents(t, newToken) // at once: before the change's event reaches A

				deliversLater(t, a, support, fresh, change.name)
				if resp := a.post(t, newToken, viewerQuery, nil); len(resp.Errors) > 0 {
					t.Errorf("the new session after the change: %+v", resp)
				}
				ended(t, old, change.code, change.name)
				if resp := a.post(t, oldToken, viewerQuery, nil); resp.code() == "" {
					t.Errorf("the old session still works after the %s", change.name)
				}
			})
		}
	}
}

// An assistance started right after a password reset is not revoked by the
// reset's event when it arrives; the one started before is.
func TestLateResetEventSparesANewAssistance(t *testing.T) {
	for _, topology := range epochTopologies[:2] {
		t.Run(topology.name, func(t *testing.T) {
			f, _ := topology.start(t)
			support := f.login(t, demo.SupportEmail)
			before, _ := f.startAssist(t, support, "before the reset")
			resp := f.post(t, support, resetMutation, map[string]any{"id": f.customerID(), "pw": "a brand new passphrase", "confirm": "a brand new passphrase", "require": false})
			if dig(resp.Data, "resetPassword", "customer") == nil {
				t.Fatalf("reset: %+v", resp)
			}
			after, _ := f.startAssist(t, support, "right after the reset")
			time.Sleep(1500 * time.Millisecond)
			state := func(id string) string {
				s, _ := dig(f.post(t, support, `query($id: ID!) { node(id: $id) { ... on AssistSession { state } } }`, map[string]any{"id": id}).Data, "node", "state").(string)
				return s
			}
			if got := state(after); got != "ACTIVE" {
				t.Errorf("the assistance started after the reset is %s, want ACTIVE", got)
			}
			if got := state(before); got != "REVOKED" {
				t.Errorf("the assistance started before the reset is %s, want REVOKED", got)
			}
		})
	}
}

// An operator who signs out and signs in again at once keeps the new
// session's socket: the sign-out's event names the session it ends.
func TestSignOutEndsOnlyThatSession(t *testing.T) {
	for _, topology := range epochTopologies[:2] {
		t.Run(topology.name, func(t *testing.T) {
			f, _ := topology.start(t)
			old := f.login(t, demo.SupportEmail)
			oldSocket := subscribe(t, f.testInstance, "graphql-transport-ws", old, statusSubscription, nil)
			if resp := f.post(t, old, `mutation { logout { success } }`, nil); dig(resp.Data, "logout", "success") != true {
				t.Fatalf("logout: %+v", resp)
			}
			fresh := subscribe(t, f.testInstance, "graphql-transport-ws", f.login(t, demo.SupportEmail), statusSubscription, nil)
			ended(t, oldSocket, closeUnauthorized, "sign-out")
			time.Sleep(1500 * time.Millisecond)
			f.post(t, f.login(t, demo.AdminEmail), setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "probe"})
			msg, err := fresh.nextWithin(10 * time.Second)
			if err != nil || dataOf(wsMessage{msg: msg})["customerStatusChanged"] == nil {
				t.Fatalf("the new session's socket after the sign-out of the old one: %v %v", msg, err)
			}
		})
	}
}

// An assistance an operator starts right after being disabled and enabled
// again is not revoked by the disabling's event when it arrives.
func TestLateOperatorEventSparesANewAssistance(t *testing.T) {
	for _, topology := range epochTopologies[:2] {
		t.Run(topology.name, func(t *testing.T) {
			f, _ := topology.start(t)
			admin := f.login(t, demo.AdminEmail)
			support := f.login(t, demo.SupportEmail)
			before, _ := f.startAssist(t, support, "before the disabling")
			supportID := dig(f.post(t, support, `{ viewer { ... on Operator { id } } }`, nil).Data, "viewer", "id")
			for _, status := range []string{"DISABLED", "ACTIVE"} {
				if resp := f.post(t, admin, operatorStatusMutation, map[string]any{"id": supportID, "status": status, "reason": "x"}); dig(resp.Data, "setOperatorStatus", "changed") != true {
					t.Fatalf("%s: %+v", status, resp)
				}
			}
			after, _ := f.startAssist(t, f.login(t, demo.SupportEmail), "right after")
			time.Sleep(1500 * time.Millisecond)
			state := func(id string) string {
				s, _ := dig(f.post(t, admin, `query($id: ID!) { node(id: $id) { ... on AssistSession { state } } }`, map[string]any{"id": id}).Data, "node", "state").(string)
				return s
			}
			if got := state(after); got != "ACTIVE" {
				t.Errorf("the assistance started after the operator was enabled again is %s, want ACTIVE", got)
			}
			if got := state(before); got != "REVOKED" {
				t.Errorf("the assistance started before the disabling is %s, want REVOKED", got)
			}
		})
	}
}
