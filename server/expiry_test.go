package main

import (
	"context"
	"fmt"
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

// sessionExpiresAt returns what { sessionExpiresAt } answers with token.
func sessionExpiresAt(t *testing.T, f *accountFixture, token string) time.Time {
	t.Helper()
	resp := f.post(t, token, `{ sessionExpiresAt }`, nil)
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(resp.Data["sessionExpiresAt"]))
	if err != nil {
		t.Fatalf("sessionExpiresAt: %+v", resp)
	}
	return at
}

// sessionExpiresAt tells an app when its token stops working: the sign-in
// plus SESSION_TTL, not moved by using the token; an assist session's
// ends with its assistance.
func TestSessionExpiresAtSaysWhenATokenStops(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			const query = `{ sessionExpiresAt }`
			expiresAt := func(token string) time.Time { return sessionExpiresAt(t, f, token) }
			if resp := f.post(t, "", query, nil); resp.Data["sessionExpiresAt"] != nil || len(resp.Errors) != 0 {
				t.Fatalf("without a token: %+v, want null", resp)
			}
			signedIn := f.clock.Now()
			own, _, _ := f.customerLogin(t, customerPassword)
			want := signedIn.Add(f.cfg.SessionTTL)
			if at := expiresAt(own); at.Sub(want).Abs() > time.Second {
				t.Fatalf("the customer's session expires at %s, want %s (signed in at %s, SESSION_TTL %s)", at, want, signedIn, f.cfg.SessionTTL)
			}
			f.clock.Advance(f.cfg.SessionTTL / 2)
			f.post(t, own, viewerQuery, nil)
			if at := expiresAt(own); at.Sub(want).Abs() > time.Second {
				t.Fatalf("after using the token the session expires at %s, want still %s", at, want)
			}
			_, ticket := f.startAssist(t, f.login(t, demo.AdminEmail), "expiry")
			assisting, _ := f.redeem(t, ticket)
			if at, end := expiresAt(assisting), f.clock.Now().Add(f.cfg.AssistTTL); at.Sub(end).Abs() > time.Second {
				t.Fatalf("the assist session expires at %s, want its assistance's end %s", at, end)
			}
			f.clock.Advance(f.cfg.SessionTTL / 2)
			if resp := f.post(t, own, query, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("an expired token: %+v, want UNAUTHENTICATED", resp)
			}
		})
	}
}

// An assistance works while its operator is signed in: when the last of the
// operator's sessions of its start expires, the assist session ends with
// it, as a sign-out ends it, for good (signing in again does not bring it
// back), and the sweep records the end.
func TestAssistanceEndsWithItsOperatorsSession(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			signedIn := f.clock.Now()
			support := f.login(t, demo.SupportEmail)              // the operator's only sign-in
			f.clock.Advance(f.cfg.SessionTTL - f.cfg.AssistTTL/2) // the assistance would outlive the operator's session
			id, ticket := f.startAssist(t, support, "expiry")
			assisting, code := f.redeem(t, ticket)
			if assisting == "" {
				t.Fatalf("redeem: %s", code)
			}
			if at, want := sessionExpiresAt(t, f, assisting), signedIn.Add(f.cfg.SessionTTL); at.Sub(want).Abs() > time.Second {
				t.Fatalf("the assist session expires at %s, want its operator's session's end %s", at, want)
			}
			ctx := context.Background()
			assistState := func() assist.Session {
				t.Helper()
				if err := f.assist.SweepExpired(ctx); err != nil {
					t.Fatal(err)
				}
				a, err := f.store.AssistByID(ctx, rawIDForTest(t, id))
				if err != nil {
					t.Fatal(err)
				}
				return a
			}
			if a := assistState(); a.State != assist.StateActive {
				t.Fatalf("the sweep while its operator is signed in left the assistance %s, want ACTIVE", a.State)
			}
			f.clock.Advance(f.cfg.AssistTTL/2 + time.Second)
			if resp := f.post(t, assisting, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("the assist token after its operator's session expired: %+v, want UNAUTHENTICATED", resp)
			}
			// Signing in again does not bring it back (a tryout renamed the
			// customer's device with it after the operator's next sign-in).
			f.login(t, demo.SupportEmail)
			if resp := f.post(t, assisting, viewerQuery, nil); resp.code() != codeUnauthenticated {
				t.Fatalf("the assist token after its operator signed in again: %+v, want UNAUTHENTICATED", resp)
			}
			// The sweep records the end, as a sign-out does at once.
			if a := assistState(); a.State != assist.StateExpired || a.EndedBy != assist.SystemActor {
				t.Fatalf("after the sweep the assistance is %s ended by %q, want EXPIRED by the system", a.State, a.EndedBy)
			}
		})
	}
}

// A ticket redeemed after its operator's sign-ins of the assistance's start
// have all expired is refused: it gave a token that was dead at once (a
// tryout redeemed one 15 s after the operator's session ended).
func TestAssistTicketAfterItsOperatorsSessionIsRefused(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			support := f.login(t, demo.SupportEmail)
			f.clock.Advance(f.cfg.SessionTTL - 20*time.Second)
			_, ticket := f.startAssist(t, support, "late")
			f.clock.Advance(30 * time.Second) // the session is over, the ticket's minute is not
			if token, code := f.redeem(t, ticket); token != "" || code != "INVALID" {
				t.Fatalf("redeem after the operator's session expired: token %q, code %q; want INVALID", token, code)
			}
		})
	}
}
