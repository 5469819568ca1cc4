package main

import (
	"context"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/demo"
)

// waitClose returns the close code of the first error on socket, skipping
// data messages; it fails the test after timeout.
func waitClose(t *testing.T, socket <-chan wsMessage, timeout time.Duration) int {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-socket:
			if m.err != nil {
				return closeCode(m.err)
			}
		case <-deadline:
			t.Fatalf("the socket is still open after %s", timeout)
		}
	}
}

// stillOpen fails the test if socket closes within a moment.
func stillOpen(t *testing.T, name string, socket <-chan wsMessage) {
	t.Helper()
	select {
	case m := <-socket:
		if m.err != nil {
			t.Fatalf("the %s socket closed: %v", name, m.err)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

func TestSocketsEndWhenTheirSessionExpires(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			edit := kind.edit(t)
			f := newAccountFixture(t, func(c *config) {
				if edit != nil {
					edit(c)
				}
				c.WSPing = 100 * time.Millisecond // traffic on a socket must not keep it alive
			})
			operatorToken := f.login(t, demo.SupportEmail)
			operator := subscribe(t, f.testInstance, "graphql-transport-ws", operatorToken, statusSubscription, nil).readAll()
			own, _, _ := f.customerLogin(t, customerPassword)
			customer := f.subscribeAccountEvents(t, own).readAll()
			_, ticket := f.startAssist(t, f.login(t, demo.AdminEmail), "expiry")
			assisting, _ := f.redeem(t, ticket)
			assisted := f.subscribeAccountEvents(t, assisting).readAll()

			// The assistance ends first (ASSIST_TTL, 30 min), its socket at once.
			f.clock.Advance(f.cfg.AssistTTL)
			if code := waitClose(t, assisted, 2*time.Second); code != closeUnauthorized {
				t.Fatalf("the assist socket closed with %d at the assistance's expiry, want 4401", code)
			}
			if resp := f.post(t, assisting, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("the assist token after its expiry: %+v", resp)
			}
			stillOpen(t, "operator", operator)
			stillOpen(t, "customer", customer)

			// Then the sessions (SESSION_TTL, 1 h): a minute before (the
			// seconds this test has taken included), they live.
			f.clock.Advance(f.cfg.SessionTTL - f.cfg.AssistTTL - time.Minute)
			stillOpen(t, "operator", operator)
			f.clock.Advance(time.Minute)
			for name, socket := range map[string]<-chan wsMessage{"operator": operator, "customer": customer} {
				if code := waitClose(t, socket, 2*time.Second); code != closeUnauthorized {
					t.Fatalf("the %s socket closed with %d at the session's expiry, want 4401", name, code)
				}
			}
			for _, token := range []string{operatorToken, own} {
				if resp := f.post(t, token, viewerQuery, nil); resp.code() != codeUnauthenticated {
					t.Fatalf("a token after its session's expiry: %+v", resp)
				}
			}
		})
	}
}

func TestCustomersOwnPasswordChangeRevokesItsAssistance(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			id, ticket := f.startAssist(t, f.login(t, demo.SupportEmail), "help with the thermostat")
			assisting, _ := f.redeem(t, ticket)
			assisted := f.subscribeAccountEvents(t, assisting).readAll()
			own, _, _ := f.customerLogin(t, customerPassword)
			resp := f.post(t, own, `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { token } }`,
				map[string]any{"c": customerPassword, "n": newPassword})
			if dig(resp.Data, "changePassword", "token") == nil {
				t.Fatalf("changePassword: %+v", resp)
			}
			if code := waitClose(t, assisted, 5*time.Second); code != closeUnauthorized {
				t.Fatalf("the assist socket closed with %d, want 4401", code)
			}
			a, err := f.store.AssistByID(context.Background(), rawIDForTest(t, id))
			if err != nil || a.State != assist.StateRevoked {
				t.Fatalf("the assistance after the customer's password change: %+v %v, want REVOKED", a, err)
			}
		})
	}
}
