package main

import (
	"context"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/assist"
)

// waitClose returns the close code of the first error on socket, skipping
// data messages, and when it came; it fails the test after timeout.
func waitClose(t *testing.T, socket <-chan wsMessage, timeout time.Duration) (int, time.Time) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-socket:
			if m.err != nil {
				return closeCode(m.err), m.at
			}
		case <-deadline:
			t.Fatalf("the socket is still open after %s", timeout)
		}
	}
}

func TestSocketsEndWhenTheirSessionExpires(t *testing.T) {
	const ttl = 3 * time.Second
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			edit := kind.edit(t)
			f := newAccountFixture(t, func(c *config) {
				if edit != nil {
					edit(c)
				}
				c.SessionTTL, c.AssistTTL, c.WSPing = ttl, ttl, 300*time.Millisecond // pings keep the sockets busy
			})
			signedIn := time.Now()
			operator := subscribe(t, f.testInstance, "graphql-transport-ws", f.login(t, demoSupportEmail), statusSubscription, nil).readAll()
			own, _, _ := f.customerLogin(t, customerPassword)
			customer := f.subscribeAccountEvents(t, own).readAll()
			_, ticket := f.startAssist(t, f.login(t, demoAdminEmail), "expiry")
			assisting, _ := f.redeem(t, ticket)
			assisted := f.subscribeAccountEvents(t, assisting).readAll()

			for name, socket := range map[string]<-chan wsMessage{"operator": operator, "customer": customer, "assist": assisted} {
				code, at := waitClose(t, socket, ttl+5*time.Second)
				after := at.Sub(signedIn)
				t.Logf("%s socket closed %s after sign-in (session lifetime %s)", name, after.Round(10*time.Millisecond), ttl)
				if code != closeUnauthorized || after < ttl-time.Second || after > ttl+2*time.Second {
					t.Fatalf("%s socket: close %d after %s, want 4401 at the session's expiry", name, code, after)
				}
			}
		})
	}
}

func TestAssistSocketEndsAtTheAssistanceExpiry(t *testing.T) {
	const ttl = 2 * time.Second
	f := newAccountFixture(t, func(c *config) { c.AssistTTL, c.WSPing = ttl, 300*time.Millisecond })
	started := time.Now()
	_, ticket := f.startAssist(t, f.login(t, demoSupportEmail), "short")
	token, _ := f.redeem(t, ticket)
	socket := f.subscribeAccountEvents(t, token).readAll()
	code, at := waitClose(t, socket, ttl+5*time.Second)
	// The sweeper records the expiry once a minute; the socket must not wait for it.
	if after := at.Sub(started); code != closeUnauthorized || after > ttl+2*time.Second {
		t.Fatalf("assist socket: close %d after %s, want 4401 at %s", code, after, ttl)
	}
}

func TestCustomersOwnPasswordChangeRevokesItsAssistance(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			id, ticket := f.startAssist(t, f.login(t, demoSupportEmail), "help with the thermostat")
			assisting, _ := f.redeem(t, ticket)
			assisted := f.subscribeAccountEvents(t, assisting).readAll()
			own, _, _ := f.customerLogin(t, customerPassword)
			resp := f.post(t, own, `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { token } }`,
				map[string]any{"c": customerPassword, "n": newPassword})
			if dig(resp.Data, "changePassword", "token") == nil {
				t.Fatalf("changePassword: %+v", resp)
			}
			if code, _ := waitClose(t, assisted, 5*time.Second); code != closeUnauthorized {
				t.Fatalf("the assist socket closed with %d, want 4401", code)
			}
			a, err := f.store.AssistByID(context.Background(), rawIDForTest(t, id))
			if err != nil || a.State != assist.StateRevoked {
				t.Fatalf("the assistance after the customer's password change: %+v %v, want REVOKED", a, err)
			}
		})
	}
}
