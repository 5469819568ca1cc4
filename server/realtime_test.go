package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/loadgen"
	"github.com/iotconsole/bff/internal/store/mongo"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

const statusSubscription = `subscription($id: ID) {
  customerStatusChanged(customerId: $id) { customer { email status } previousStatus status reason changedBy { name } }
}`

// subscribe opens a socket with token over protocol and starts query.
func subscribe(t *testing.T, s *testInstance, protocol, token, query string, vars map[string]any) *wsClient {
	t.Helper()
	c, _, err := dialWS(t, s, protocol, "")
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.init(map[string]any{"Authorization": "Bearer " + token}); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("init: %v %v", ack, err)
	}
	start := "subscribe"
	if protocol == "graphql-ws" {
		start = "start"
	}
	c.send(map[string]any{"id": "1", "type": start, "payload": map[string]any{"query": query, "variables": vars}})
	time.Sleep(150 * time.Millisecond) // registered once its resolver ran
	return c
}

func dataOf(m wsMessage) map[string]any {
	d, _ := dig(m.msg, "payload", "data").(map[string]any)
	return d
}

func TestOperatorsSeeStatusChangesLive(t *testing.T) {
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(protocol, func(t *testing.T) {
			f := newAccountFixture(t, nil)
			support := f.login(t, demo.SupportEmail)
			all := subscribe(t, f.testInstance, protocol, support, statusSubscription, nil).readAll()
			one := subscribe(t, f.testInstance, protocol, support, statusSubscription, map[string]any{"id": f.customerID()}).readAll()
			admin := f.login(t, demo.AdminEmail)
			admins := subscribe(t, f.testInstance, protocol, admin, statusSubscription, nil).readAll()
			f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "lost phone"})
			// The reason only to those with VIEW_AUDIT_LOG, as Customer.disabling gives it.
			for name, tc := range map[string]struct {
				ch     <-chan wsMessage
				reason any
			}{"support, domain": {all, nil}, "support, customer": {one, nil}, "admin": {admins, "lost phone"}} {
				select {
				case m := <-tc.ch:
					ev, _ := dataOf(m)["customerStatusChanged"].(map[string]any)
					if dig(ev, "customer", "email") != customerEmail || ev["previousStatus"] != "ACTIVE" || ev["status"] != "DISABLED" ||
						ev["reason"] != tc.reason || dig(ev, "changedBy", "name") != "Ada Admin" {
						t.Fatalf("%s subscription got %v %v", name, m.msg, m.err)
					}
				case <-time.After(3 * time.Second):
					t.Fatalf("%s subscription got nothing", name)
				}
			}
		})
	}
}

func TestEventsStayInTheirDomain(t *testing.T) {
	for _, protocol := range subprotocols {
		t.Run(protocol, func(t *testing.T) { testEventsStayInTheirDomain(t, protocol) })
	}
}

func testEventsStayInTheirDomain(t *testing.T, protocol string) {
	f := newAccountFixture(t, nil)
	other := storetest.NewDomain(t, f.store)
	addOperator(t, f, other.ID, "admin@other.test")
	stranger := f.post(t, "", loginMutation, map[string]any{"domain": other.Slug, "email": "admin@other.test", "password": testPassword})
	strangerToken, _ := dig(stranger.Data, "operatorLogin", "token").(string)
	theirs := subscribe(t, f.testInstance, protocol, strangerToken, statusSubscription, nil).readAll()
	ours := subscribe(t, f.testInstance, protocol, f.login(t, demo.SupportEmail), statusSubscription, nil).readAll()
	// The other domain's operator cannot even name our customer.
	pinned := subscribe(t, f.testInstance, protocol, strangerToken, statusSubscription, map[string]any{"id": f.customerID()}).readAll()

	f.post(t, f.login(t, demo.AdminEmail), setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "x"})
	select {
	case <-ours:
	case <-time.After(3 * time.Second):
		t.Fatal("our operator got nothing")
	}
	select {
	case m := <-theirs:
		t.Fatalf("another domain's operator received %v", m.msg)
	case m := <-pinned:
		t.Fatalf("another domain's operator received %v", m.msg)
	case <-time.After(500 * time.Millisecond):
	}
}

func TestDisablingClosesSocketsOfBothProtocols(t *testing.T) {
	for _, protocol := range subprotocols {
		t.Run(protocol, func(t *testing.T) {
			f := newAccountFixture(t, nil)
			token, _, _ := f.customerLogin(t, customerPassword)
			ws := subscribe(t, f.testInstance, protocol, token, `subscription { accountEvents { type status } }`, nil).readAll()
			f.post(t, f.login(t, demo.AdminEmail), setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "x"})
			event, closed := <-ws, <-ws
			if dig(dataOf(event)["accountEvents"], "status") != "DISABLED" {
				t.Fatalf("over %s: %v %v, want the status event", protocol, event.msg, event.err)
			}
			if closeCode(closed.err) != closeForbidden {
				t.Fatalf("over %s: %v, want close 4403", protocol, closed.err)
			}
		})
	}
}

func TestSocketLimits(t *testing.T) {
	t.Run("subscriptions per connection", func(t *testing.T) {
		f := newAccountFixture(t, nil)
		c := subscribe(t, f.testInstance, "graphql-transport-ws", f.login(t, demo.SupportEmail), statusSubscription, nil)
		const extra = 5
		for i := 2; i <= maxSubscriptionsPerSocket+extra; i++ { // subscriptions start concurrently: any 5 may be refused
			c.send(map[string]any{"id": fmt.Sprint(i), "type": "subscribe", "payload": map[string]any{"query": statusSubscription}})
		}
		refused := 0
		for refused < extra {
			m, err := c.next()
			if err != nil {
				t.Fatalf("%d refusals of %d subscriptions over the limit: %v", refused, extra, err)
			}
			if strings.Contains(fmt.Sprint(m["payload"]), "at most 20 subscriptions") {
				refused++
			}
		}
		if m, err := c.nextWithin(2 * time.Second); err == nil && strings.Contains(fmt.Sprint(m["payload"]), "at most") {
			t.Fatalf("more refusals than subscriptions over the limit: %v", m)
		}
	})
	t.Run("connection_init timeout", func(t *testing.T) {
		s := startTest(t, func(c *config) { c.WSInitTimeout = 300 * time.Millisecond })
		c, _, err := dialWS(t, s, "graphql-transport-ws", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.next(); closeCode(err) != closeInitTimeout {
			t.Fatalf("silent socket: %v, want close 4408", err)
		}
	})
	t.Run("peers that stop answering pings are dropped", func(t *testing.T) {
		f := newAccountFixture(t, func(c *config) { c.WSPing = 200 * time.Millisecond })
		c, _, err := dialWS(t, f.testInstance, "graphql-transport-ws", "")
		if err != nil {
			t.Fatal(err)
		}
		if ack, err := c.init(map[string]any{"token": f.login(t, demo.SupportEmail)}); err != nil || ack["type"] != "connection_ack" {
			t.Fatalf("init: %v %v", ack, err)
		}
		pings, start := 0, time.Now()
		for { // read without answering
			_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			var msg map[string]any
			if err := c.conn.ReadJSON(&msg); err != nil {
				// Dropped after missing two pings (2 x WS_PING_INTERVAL of
				// silence), with a code clients reconnect on.
				if pings < 2 || closeCode(err) != closeTryAgainLater || time.Since(start) > 3*time.Second {
					t.Fatalf("after %d unanswered pings and %v: %v, want close %d after at least two", pings, time.Since(start), err, closeTryAgainLater)
				}
				return
			}
			if msg["type"] == "ping" {
				pings++
			}
		}
	})
	t.Run("disabled account at connection_init", func(t *testing.T) {
		f := newAccountFixture(t, nil)
		token, _, _ := f.customerLogin(t, customerPassword)
		f.post(t, f.login(t, demo.AdminEmail), setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "x"})
		c, _, err := dialWS(t, f.testInstance, "graphql-transport-ws", "")
		if err != nil {
			t.Fatal(err)
		}
		msg, err := c.init(map[string]any{"Authorization": "Bearer " + token})
		for err == nil {
			msg, err = c.next()
		}
		if closeCode(err) != closeForbidden {
			t.Fatalf("a disabled customer's socket: %v %v, want close 4403", msg, err)
		}
	})
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProcess runs this test binary as the server with env, until the test
// ends, and returns a client-side handle on it (no in-process state).
func startProcess(t *testing.T, env ...string) *testInstance {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, "BFF_TEST_MAIN=1", "LISTEN_ADDR="+addr, "METRICS_ADDR=127.0.0.1:0", "LOG_LEVEL=warn")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	if err := loadgen.WaitReady(context.Background(), "http://"+addr); err != nil {
		t.Fatal(err)
	}
	return &testInstance{url: "http://" + addr}
}

func TestTwoServerProcessesShareEvents(t *testing.T) {
	uri := mongotest.URI(t)
	ctx := context.Background()
	st, err := mongo.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	customer := addCustomer(t, &testInstance{server: &server{store: st}}).customer
	a := &accountFixture{testInstance: startProcess(t, "MONGODB_URI="+uri), customer: customer}
	b := &accountFixture{testInstance: startProcess(t, "MONGODB_URI="+uri), customer: customer}

	customerToken, _, _ := a.customerLogin(t, customerPassword)
	support := a.login(t, demo.SupportEmail)
	customerSocket := a.subscribeAccountEvents(t, customerToken)
	a.awaitAccountEventsRegistered(t, support, customerSocket)
	watcher := subscribe(t, a.testInstance, "graphql-transport-ws", support, statusSubscription, nil).readAll()

	resp := b.post(t, b.login(t, demo.AdminEmail), setStatusMutation, map[string]any{"id": b.customerID(), "status": "DISABLED", "reason": "from B"})
	returned := time.Now()
	if dig(resp.Data, "setAccountStatus", "changed") != true {
		t.Fatalf("disable on B: %+v", resp)
	}
	select {
	case m := <-watcher:
		ev, _ := dataOf(m)["customerStatusChanged"].(map[string]any)
		if dig(ev, "customer", "email") != customerEmail || ev["status"] != "DISABLED" || ev["reason"] != nil { // SUPPORT: no reason
			t.Fatalf("operator on A got %v %v", m.msg, m.err)
		}
		t.Logf("operator on A got the event %v after the mutation on B returned", m.at.Sub(returned).Round(time.Millisecond))
	case <-time.After(3 * time.Second):
		t.Fatal("the operator on A got nothing")
	}
	customerEvents := customerSocket.readAll()
	event, closed := <-customerEvents, <-customerEvents
	if dataOf(event)["accountEvents"] == nil || closeCode(closed.err) != closeForbidden {
		t.Fatalf("customer socket on A: %v / %v", event.msg, closed.err)
	}
	t.Logf("customer socket on A closed %v after the mutation on B returned", closed.at.Sub(returned).Round(time.Millisecond))
}

// An instance that was down while an event was written reacts to it after a
// restart: it resumes the stream from where it saved its position.
func TestRestartedInstanceResumesTheEventStream(t *testing.T) {
	edit := func(c *config) { c.InstanceID = "resume-test" }
	f := newAccountFixture(t, edit)
	support := f.login(t, demo.SupportEmail)
	assistGID, _ := f.startAssist(t, support, "help") // its ASSIST_STARTED event gives the instance a position
	time.Sleep(300 * time.Millisecond)
	ctx := context.Background()
	if err := f.shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// While the instance is down, the customer is disabled by someone else.
	st, err := sqlite.Open(ctx, f.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := st.CustomerByID(ctx, f.customer.ID)
	disabled := customers.StatusDisabled
	at := now()
	_, err = st.UpdateCustomer(ctx, customers.Update{ID: c.ID, Version: c.Version, Status: &disabled, EndSessions: true, At: at,
		Events: []events.Event{{ID: ids.New(), DomainID: c.DomainID, Type: events.StatusChanged, CustomerID: c.ID,
			Data: map[string]string{"status": "DISABLED", "previousStatus": "ACTIVE"}, OccurredAt: at}}})
	_ = st.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}

	restarted := startTest(t, func(c *config) { edit(c); c.DataDir = f.cfg.DataDir })
	assistID, _ := base64.RawURLEncoding.DecodeString(assistGID)
	id := strings.TrimPrefix(string(assistID), "AssistSession:")
	deadline := time.Now().Add(3 * time.Second)
	for {
		a, err := restarted.store.AssistByID(ctx, id)
		if err == nil && a.State == assist.StateRevoked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the assistance of the customer disabled while the instance was down is %v (%v), want REVOKED", a.State, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSigningOutClosesThatSessionsSockets(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			signedOut, other := f.login(t, demo.SupportEmail), f.login(t, demo.SupportEmail)
			ended := subscribe(t, f.testInstance, "graphql-transport-ws", signedOut, statusSubscription, nil).readAll()
			kept := subscribe(t, f.testInstance, "graphql-transport-ws", other, statusSubscription, nil).readAll()
			customer, _, _ := f.customerLogin(t, customerPassword)
			customerClient := f.subscribeAccountEvents(t, customer)
			f.awaitAccountEventsRegistered(t, other, customerClient)
			customerSocket := customerClient.readAll()

			start := time.Now()
			if resp := f.post(t, signedOut, `mutation { logout { success } }`, nil); dig(resp.Data, "logout", "success") != true {
				t.Fatalf("logout: %+v", resp)
			}
			select {
			case m := <-ended:
				if closeCode(m.err) != closeUnauthorized {
					t.Fatalf("the signed-out session's socket got %v / %v, want close 4401", m.msg, m.err)
				}
				t.Logf("socket closed %v after the logout", m.at.Sub(start).Round(time.Millisecond))
			case <-time.After(5 * time.Second):
				t.Fatal("the signed-out session's socket is still open")
			}
			// The same operator's other session, and the customer, keep their sockets and hear nothing of it.
			f.post(t, f.login(t, demo.AdminEmail), setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "x"})
			select {
			case m := <-kept:
				if m.err != nil || dataOf(m)["customerStatusChanged"] == nil {
					t.Fatalf("the other session got %v / %v, want the status change", m.msg, m.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the other session's socket heard nothing")
			}
			if m := <-customerSocket; dig(dataOf(m)["accountEvents"], "type") != "STATUS_CHANGED" {
				t.Fatalf("the customer's first message after an operator's logout: %v / %v, want its own STATUS_CHANGED", m.msg, m.err)
			}
		})
	}
}

func TestChangingThePasswordClosesTheOtherSessionsSockets(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			const events = `subscription { accountEvents { type status } }`
			phone, _, _ := f.customerLogin(t, customerPassword)
			laptop, _, _ := f.customerLogin(t, customerPassword)
			onPhone := subscribe(t, f.testInstance, "graphql-transport-ws", phone, events, nil).readAll()
			onLaptop := subscribe(t, f.testInstance, "graphql-transport-ws", laptop, events, nil).readAll()

			resp := f.post(t, laptop, `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { token } }`,
				map[string]any{"c": customerPassword, "n": newPassword})
			renewed, _ := dig(resp.Data, "changePassword", "token").(string)
			if renewed == "" {
				t.Fatalf("changePassword: %+v", resp)
			}
			onRenewed := subscribe(t, f.testInstance, "graphql-transport-ws", renewed, events, nil).readAll()

			for name, socket := range map[string]<-chan wsMessage{"the other session's": onPhone, "the old token's": onLaptop} {
				deadline := time.After(5 * time.Second)
			read:
				for {
					select {
					case m := <-socket:
						if m.err == nil {
							continue // the SESSION_REVOKED event itself
						}
						if closeCode(m.err) != closeUnauthorized {
							t.Fatalf("%s socket: %v, want close 4401", name, m.err)
						}
						break read
					case <-deadline:
						t.Fatalf("%s socket is still open", name)
					}
				}
			}
			// The new session's socket stays and hears what comes next (it may
			// hear the SESSION_REVOKED first, when it subscribed before that reached it).
			f.post(t, f.login(t, demo.AdminEmail), setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "x"})
			deadline := time.After(5 * time.Second)
			for {
				select {
				case m := <-onRenewed:
					event := dataOf(m)["accountEvents"]
					if m.err == nil && dig(event, "type") == "SESSION_REVOKED" {
						continue
					}
					if dig(event, "status") != "DISABLED" {
						t.Fatalf("the new session's socket: %v / %v, want the status change", m.msg, m.err)
					}
				case <-deadline:
					t.Fatal("the new session's socket heard nothing")
				}
				break
			}
		})
	}
}

// A socket whose session ended takes no event published after the one that
// ended it, though it closes a moment later (socketCloseDelay): a tryout's
// signed-out (and disabled) operator received a customer's status change
// and its reason in that moment.
func TestAnEndedSessionsSocketTakesNoLaterEvent(t *testing.T) {
	for _, protocol := range subprotocols {
		t.Run(protocol, func(t *testing.T) {
			f := newAccountFixture(t, nil)
			signedOut := f.login(t, demo.SupportEmail)
			ended := subscribe(t, f.testInstance, protocol, signedOut, statusSubscription, nil).readAll()
			if resp := f.post(t, signedOut, `mutation { logout { success } }`, nil); dig(resp.Data, "logout", "success") != true {
				t.Fatalf("logout: %+v", resp)
			}
			f.post(t, f.login(t, demo.AdminEmail), setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "fraud"})
			select {
			case m := <-ended:
				if m.err == nil || closeCode(m.err) != closeUnauthorized {
					t.Fatalf("the signed-out session's socket got %v / %v, want close 4401 and nothing before it", m.msg, m.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the signed-out session's socket is still open")
			}
		})
	}
}
