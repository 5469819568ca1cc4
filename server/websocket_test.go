package main

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/iotconsole/bff/internal/demo"
)

// wsClient speaks either GraphQL WebSocket subprotocol over a real socket.
type wsClient struct {
	t        *testing.T
	conn     *websocket.Conn
	protocol string
}

func dialWS(t *testing.T, s *testInstance, protocol, origin string) (*wsClient, *http.Response, error) {
	t.Helper()
	header := http.Header{}
	if origin != "" {
		header.Set("Origin", origin)
	}
	dialer := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := dialer.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+"/graphql", header)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { conn.Close() })
	return &wsClient{t: t, conn: conn, protocol: protocol}, resp, nil
}

func (c *wsClient) send(msg map[string]any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(msg); err != nil {
		c.t.Fatalf("write %v: %v", msg["type"], err)
	}
}

// next returns the next message that is not a keep-alive, answering pings,
// waiting up to 30 s: tests decide themselves how long an event may take,
// and a background reader must not die while a slow test is between events.
func (c *wsClient) next() (map[string]any, error) {
	return c.nextWithin(30 * time.Second)
}

// nextWithin is next, waiting at most d (pings do not extend it).
func (c *wsClient) nextWithin(d time.Duration) (map[string]any, error) {
	deadline := time.Now().Add(d)
	for {
		_ = c.conn.SetReadDeadline(deadline)
		var msg map[string]any
		if err := c.conn.ReadJSON(&msg); err != nil {
			return nil, err
		}
		switch msg["type"] {
		case "ka", "pong":
			continue
		case "ping":
			c.send(map[string]any{"type": "pong"})
			continue
		}
		return msg, nil
	}
}

func (c *wsClient) init(payload map[string]any) (map[string]any, error) {
	c.send(map[string]any{"type": "connection_init", "payload": payload})
	return c.next()
}

// query runs one operation and returns its data message's payload.
func (c *wsClient) query(id, query string) map[string]any {
	c.t.Helper()
	start, data := "subscribe", "next"
	if c.protocol == "graphql-ws" {
		start, data = "start", "data"
	}
	c.send(map[string]any{"id": id, "type": start, "payload": map[string]any{"query": query}})
	msg, err := c.next()
	if err != nil {
		c.t.Fatalf("read result: %v", err)
	}
	if msg["type"] != data {
		c.t.Fatalf("got %v, want a %s message", msg, data)
	}
	payload, _ := msg["payload"].(map[string]any)
	return payload
}

func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

func TestWebSocketSpeaksBothSubprotocols(t *testing.T) {
	s := startTest(t, nil)
	token := s.login(t, demo.AdminEmail)
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(protocol, func(t *testing.T) {
			c, _, err := dialWS(t, s, protocol, s.URL())
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			if got := c.conn.Subprotocol(); got != protocol {
				t.Fatalf("negotiated %q", got)
			}
			ack, err := c.init(map[string]any{"Authorization": "Bearer " + token})
			if err != nil || ack["type"] != "connection_ack" {
				t.Fatalf("init: %v %v", ack, err)
			}
			payload := c.query("1", `{ viewer { ... on Operator { email } } }`)
			if got := dig(payload, "data", "viewer", "email"); got != demo.AdminEmail {
				t.Fatalf("viewer over %s = %v", protocol, payload)
			}
		})
	}
}

var subprotocols = []string{"graphql-transport-ws", "graphql-ws"}

func TestWebSocketChecksOrigin(t *testing.T) {
	s := startTest(t, func(c *config) { c.AllowedOrigins = []string{"https://console.example.com"} })
	for _, protocol := range subprotocols {
		t.Run(protocol, func(t *testing.T) {
			_, resp, err := dialWS(t, s, protocol, "https://evil.example")
			if err == nil {
				t.Fatal("a foreign Origin was accepted")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("foreign Origin: response %v, want 403", resp)
			}
			// Logged by the server, with a level and the request's id (it was a bare
			// standard-library line naming a Go type).
			logs := s.logs.String()
			if strings.Contains(logs, "unable to upgrade") ||
				!regexp.MustCompile(`"level":"warn".*"req_id":"[^"]+".*WebSocket refused: its Origin is not allowed`).MatchString(logs) {
				t.Errorf("the refusal's log:\n%s", logs)
			}
			for _, origin := range []string{"https://console.example.com", s.URL(), ""} {
				if _, _, err := dialWS(t, s, protocol, origin); err != nil {
					t.Errorf("Origin %q refused: %v", origin, err)
				}
			}
		})
	}
}

func TestWebSocketWithoutSessionIsClosed(t *testing.T) {
	s := startTest(t, nil)
	for _, protocol := range subprotocols {
		for name, payload := range map[string]map[string]any{
			"no token":     {},
			"forged token": {"Authorization": "Bearer forged"},
		} {
			t.Run(protocol+"/"+name, func(t *testing.T) {
				c, _, err := dialWS(t, s, protocol, "")
				if err != nil {
					t.Fatal(err)
				}
				var msg map[string]any
				msg, err = c.init(payload)
				for err == nil && msg["type"] != "connection_ack" { // a connection_error may come first
					msg, err = c.next()
				}
				if code := closeCode(err); code != closeUnauthorized {
					t.Fatalf("got %v / %v, want close %d", msg, err, closeUnauthorized)
				}
			})
		}
	}
}

func TestShutdownClosesWebSocketsWithGoingAway(t *testing.T) {
	s := startTest(t, nil)
	token := s.login(t, demo.SupportEmail)
	c, _, err := dialWS(t, s, "graphql-transport-ws", "")
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.init(map[string]any{"token": token}); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("init: %v %v", ack, err)
	}
	if s.sockets.Open() != 1 {
		t.Fatalf("open sockets = %d, want 1", s.sockets.Open())
	}
	done := make(chan error, 1)
	go func() { done <- s.shutdown(t.Context()) }()
	_, err = c.next()
	if code := closeCode(err); code != websocket.CloseGoingAway {
		t.Fatalf("after shutdown: %v, want close 1001", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// graphql-transport-ws as its specification says: a ping before the ack is
// answered; a subscribe before the ack closes with 4401; a subscribe with
// the id of a running subscription closes with 4409; complete stops one
// subscription, and its id may then be used again.
func TestGraphQLTransportWSProtocolRules(t *testing.T) {
	f := newAccountFixture(t, nil)
	token, _, _ := f.customerLogin(t, customerPassword)
	dial := func() *wsClient {
		c, _, err := dialWS(t, f.testInstance, "graphql-transport-ws", "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := dial()
	c.send(map[string]any{"type": "ping", "payload": map[string]any{"n": 1}})
	var pong map[string]any
	err := c.conn.ReadJSON(&pong)
	if _, hasID := pong["id"]; err != nil || pong["type"] != "pong" || dig(pong, "payload", "n") != float64(1) || hasID {
		t.Fatalf("ping before the ack: %v %v, want a pong with its payload and no id", pong, err)
	}
	if ack, err := c.init(map[string]any{"Authorization": "Bearer " + token}); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("init after the ping: %v %v", ack, err)
	}
	sub := map[string]any{"id": "one", "type": "subscribe", "payload": map[string]any{"query": `subscription { accountEvents { type } }`}}
	c.send(sub)
	c.send(map[string]any{"id": "one", "type": "complete"})
	time.Sleep(200 * time.Millisecond)
	c.send(sub) // the id is free again after complete
	time.Sleep(200 * time.Millisecond)
	c.send(sub) // now it is running: 4409
	_, err = c.nextWithin(5 * time.Second)
	for err == nil {
		_, err = c.nextWithin(5 * time.Second)
	}
	if closeCode(err) != closeSubscriberExists {
		t.Errorf("a second subscribe with a running id: %v, want close 4409", err)
	}

	early := dial()
	early.send(sub)
	_, err = early.nextWithin(5 * time.Second)
	if closeCode(err) != closeUnauthorized {
		t.Errorf("a subscribe before connection_init: %v, want close 4401", err)
	}
}

// After the client's complete of a running subscription nothing more of it
// comes (PROTOCOL.md, Complete), not even its end: neither the error a
// complete that catches the subscription starting left ("request
// cancelled", coded INTERNAL) nor a complete; an id taken again at once gets
// its new subscription's messages only; and no complete is counted as an
// INTERNAL error (tryout 19: a client that reused ids took the old
// operation's error and complete for its new one's, then got events after
// that complete).
func TestCompletedSubscriptionsSendNothingMore(t *testing.T) {
	f := newAccountFixture(t, nil)
	token, _, _ := f.customerLogin(t, customerPassword)
	support := f.login(t, demo.SupportEmail)
	c, _, err := dialWS(t, f.testInstance, "graphql-transport-ws", "")
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.init(map[string]any{"Authorization": "Bearer " + token}); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("init: %v %v", ack, err)
	}
	subscribe := func(id string) {
		c.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": `subscription { accountEvents { type } }`}})
	}
	for i := range 20 {
		subscribe(fmt.Sprint("gone-", i))
		c.send(map[string]any{"id": fmt.Sprint("gone-", i), "type": "complete"})
	}
	for range 10 {
		subscribe("again")
		c.send(map[string]any{"id": "again", "type": "complete"})
	}
	subscribe("again")
	time.Sleep(200 * time.Millisecond)
	version := f.current(t, support)["version"]
	if resp := f.post(t, support, updateCustomerMutation, profileInput(f.customerID(), version, map[string]any{"phone": "+44 20 7946 0123"})); dig(resp.Data, "updateCustomer", "changed") != true {
		t.Fatalf("update: %+v", resp)
	}
	var got []string
	for {
		msg, err := c.nextWithin(2 * time.Second)
		if err != nil {
			break // nothing more within 2 s
		}
		if msg["type"] == "ping" || msg["type"] == "pong" {
			continue
		}
		got = append(got, fmt.Sprintf("%v %v %v", msg["id"], msg["type"], msg["payload"]))
	}
	if want := "again next map[data:map[accountEvents:map[type:PROFILE_UPDATED]]]"; len(got) != 1 || got[0] != want {
		t.Errorf("messages after the completes:\n%s\nwant only %q", strings.Join(got, "\n"), want)
	}
	if _, metrics := get(t, f.metricsURL()); strings.Contains(metrics, `bff_graphql_errors_total{code="INTERNAL"}`) {
		t.Errorf("completes counted as internal errors:\n%s", regexp.MustCompile(`(?m)^bff_graphql_errors_total.*$`).FindAllString(metrics, -1))
	}
}

// The legacy graphql-ws protocol keeps the same two rules for start.
func TestLegacyGraphQLWSStartRules(t *testing.T) {
	f := newAccountFixture(t, nil)
	token, _, _ := f.customerLogin(t, customerPassword)
	start := map[string]any{"id": "1", "type": "start", "payload": map[string]any{"query": `subscription { accountEvents { type } }`}}
	early, _, err := dialWS(t, f.testInstance, "graphql-ws", "")
	if err != nil {
		t.Fatal(err)
	}
	early.send(start)
	if _, err := early.nextWithin(5 * time.Second); closeCode(err) != closeUnauthorized {
		t.Errorf("start before connection_init: %v, want 4401", err)
	}
	c, _, err := dialWS(t, f.testInstance, "graphql-ws", "")
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.init(map[string]any{"Authorization": "Bearer " + token}); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("init: %v %v", ack, err)
	}
	c.send(start)
	time.Sleep(200 * time.Millisecond)
	c.send(start)
	_, err = c.nextWithin(5 * time.Second)
	for err == nil {
		_, err = c.nextWithin(5 * time.Second)
	}
	if closeCode(err) != closeSubscriberExists {
		t.Errorf("a second start with a running id: %v, want 4409", err)
	}

	// A start without an id, which no answer could name, closes the socket
	// as a protocol error (gqlgen ignored it, and the client waited for ever).
	c, _, err = dialWS(t, f.testInstance, "graphql-ws", "")
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.init(map[string]any{"Authorization": "Bearer " + token}); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("init: %v %v", ack, err)
	}
	c.send(map[string]any{"type": "start", "payload": map[string]any{"query": `subscription { accountEvents { type } }`}})
	if msg, err := c.nextWithin(5 * time.Second); closeCode(err) != websocket.CloseProtocolError {
		t.Errorf("a start without an id: %v %v, want close 1002", msg, err)
	}
}

// A subscribe (or start) whose payload is no GraphQL request (variables
// that are no object, a query that is no string) is answered with an error
// for its id that has the code an HTTP request of that shape gets,
// BAD_REQUEST (gqlgen's said "invalid json", with no code), and the socket
// stays usable.
func TestUndecodableSubscribeIsABadRequest(t *testing.T) {
	f := newAccountFixture(t, nil)
	token, _, _ := f.customerLogin(t, customerPassword)
	for _, protocol := range subprotocols {
		c, _, err := dialWS(t, f.testInstance, protocol, "")
		if err != nil {
			t.Fatal(err)
		}
		if ack, err := c.init(map[string]any{"Authorization": "Bearer " + token}); err != nil || ack["type"] != "connection_ack" {
			t.Fatalf("%s: init: %v %v", protocol, ack, err)
		}
		start := "subscribe"
		if protocol == "graphql-ws" {
			start = "start"
		}
		for i, payload := range []map[string]any{
			{"query": `subscription { accountEvents { type } }`, "variables": "x"},
			{"query": 7},
		} {
			id := fmt.Sprint("bad", i)
			c.send(map[string]any{"id": id, "type": start, "payload": payload})
			msg, err := c.nextWithin(5 * time.Second)
			errs, _ := msg["payload"].([]any)
			if err != nil || msg["type"] != "error" || msg["id"] != id || len(errs) != 1 || dig(errs[0], "extensions", "code") != codeBadRequest {
				t.Errorf("%s: %v: %v %v", protocol, payload, msg, err)
			}
			if protocol == "graphql-ws" { // the legacy protocol ends an operation with complete after its error
				if msg, err := c.nextWithin(5 * time.Second); err != nil || msg["type"] != "complete" {
					t.Errorf("%s: after the error: %v %v", protocol, msg, err)
				}
			}
		}
		if data := c.query("good", `{ viewer { __typename } }`); dig(data, "data", "viewer", "__typename") != "Customer" {
			t.Errorf("%s: a query after the refusals: %v", protocol, data)
		}
	}
}

// A connection_init whose payload is no JSON object is closed at once with
// 4400 on either subprotocol (gqlgen gave up on it without closing: the
// socket stayed open for good), and so is a message that is no JSON on
// graphql-transport-ws; the server counts none of them open afterwards.
func TestWebSocketBadMessagesAreClosed(t *testing.T) {
	s := startTest(t, nil)
	for _, protocol := range subprotocols {
		for name, frame := range map[string]string{
			"string payload": `{"type":"connection_init","payload":"abc"}`,
			"list payload":   `{"type":"connection_init","payload":[1,2]}`,
			"number payload": `{"type":"connection_init","payload":7}`,
			"not JSON":       `{"type":`,
		} {
			t.Run(protocol+"/"+name, func(t *testing.T) {
				c, _, err := dialWS(t, s, protocol, "")
				if err != nil {
					t.Fatal(err)
				}
				if err := c.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
					t.Fatal(err)
				}
				var msg map[string]any
				for err == nil { // a connection_error may come first
					msg, err = c.nextWithin(3 * time.Second)
				}
				want := closeBadRequest
				if name == "not JSON" && protocol == "graphql-ws" {
					want = websocket.CloseProtocolError // the legacy protocol has no codes of its own
				}
				if code := closeCode(err); code != want {
					t.Fatalf("got %v / %v, want close %d", msg, err, want)
				}
			})
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.sockets.Open() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.sockets.Open(); n != 0 {
		t.Fatalf("%d sockets still counted open", n)
	}
}

// One address holds at most maxWaitingPerAddress sockets that have not
// passed connection_init: the next is closed at once with 1013; a socket
// that signs in no longer counts, nor one that closes.
func TestWebSocketsWaitingForInitAreBoundedPerAddress(t *testing.T) {
	s := startTest(t, nil)
	token := s.login(t, demo.SupportEmail)
	var waiting []*wsClient
	for range maxWaitingPerAddress {
		c, _, err := dialWS(t, s, "graphql-transport-ws", "")
		if err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, c)
	}
	refused := func() bool {
		c, _, err := dialWS(t, s, "graphql-transport-ws", "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.nextWithin(500 * time.Millisecond)
		return closeCode(err) == closeTryAgainLater
	}
	if !refused() {
		t.Fatalf("socket %d from one address was not refused", maxWaitingPerAddress+1)
	}
	if ack, err := waiting[0].init(map[string]any{"token": token}); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("init: %v %v", ack, err)
	}
	if refused() {
		t.Fatal("a socket was refused after one of the waiting ones signed in")
	}
	if !refused() {
		t.Fatal("the count did not come back to the bound")
	}
	waiting[1].conn.Close()
	deadline := time.Now().Add(2 * time.Second)
	for refused() {
		if time.Now().After(deadline) {
			t.Fatal("a socket was refused after a waiting one closed")
		}
	}
}

// One account holds at most WS_MAX_SOCKETS_PER_ACCOUNT signed-in sockets
// (here 6), all its sessions together: connection_init beyond it is refused
// with 1013 (a tryout held 2,000 with one token); another account is not
// affected, and a socket that closes makes room.
func TestSignedInWebSocketsAreBoundedPerAccount(t *testing.T) {
	const perAccount = 6
	s := startTest(t, func(c *config) { c.WSMaxSocketsPerAccount = perAccount })
	first, second, other := s.login(t, demo.SupportEmail), s.login(t, demo.SupportEmail), s.login(t, demo.AdminEmail)
	signIn := func(token string) (*wsClient, error) {
		c, _, err := dialWS(t, s, "graphql-transport-ws", "")
		if err != nil {
			t.Fatal(err)
		}
		ack, err := c.init(map[string]any{"token": token})
		if err == nil && ack["type"] != "connection_ack" {
			err = fmt.Errorf("answered %v", ack)
		}
		return c, err
	}
	var open []*wsClient
	for i := range perAccount {
		token := first
		if i%2 == 1 {
			token = second
		}
		c, err := signIn(token)
		if err != nil {
			t.Fatalf("socket %d: %v", i+1, err)
		}
		open = append(open, c)
	}
	for _, token := range []string{first, second} {
		_, err := signIn(token)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != closeTryAgainLater || !strings.HasPrefix(ce.Text, "too many connections for this account") {
			t.Fatalf("socket %d of one account: %v, want closed with %d saying why", perAccount+1, err, closeTryAgainLater)
		}
	}
	if _, err := signIn(other); err != nil {
		t.Fatalf("another account's socket: %v", err)
	}
	open[0].conn.Close()
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := signIn(first)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after one closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// customerSocket returns a graphql-transport-ws connection signed in as
// the account fixture's customer.
func customerSocket(t *testing.T) *wsClient {
	t.Helper()
	f := newAccountFixture(t, nil)
	token, _, _ := f.customerLogin(t, customerPassword)
	c, _, err := dialWS(t, f.testInstance, "graphql-transport-ws", "")
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.init(map[string]any{"token": token}); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("init: %v %v", ack, err)
	}
	return c
}

// A document of several operations sent without operationName is told
// so over a WebSocket as over HTTP (gqlgen said "operation  not found").
func TestWebSocketNamesTheMissingOperationName(t *testing.T) {
	c := customerSocket(t)
	c.send(map[string]any{"id": "two", "type": "subscribe", "payload": map[string]any{"query": `subscription A { accountEvents { type } } subscription B { accountEvents { type } }`}})
	msg, err := c.next()
	errs, _ := msg["payload"].([]any)
	if err != nil || msg["type"] != "error" || len(errs) != 1 || dig(errs[0], "message") != operationNotFound {
		t.Fatalf("two operations, no operationName: %v %v", msg, err)
	}
}

// A subscription selects exactly one root field (response key): two
// aliases of one field are a validation error, not INTERNAL; the same
// field twice under one key is one field.
func TestSubscriptionWithTwoRootFieldsIsInvalid(t *testing.T) {
	c := customerSocket(t)
	c.send(map[string]any{"id": "two", "type": "subscribe", "payload": map[string]any{"query": `subscription { a: accountEvents { type } b: accountEvents { type } }`}})
	msg, err := c.next()
	errs, _ := msg["payload"].([]any)
	if err != nil || msg["type"] != "error" || len(errs) != 1 || dig(errs[0], "extensions", "code") != "GRAPHQL_VALIDATION_FAILED" {
		t.Fatalf("two root fields: %v %v", msg, err)
	}
	// No complete follows an error: "the operation execution terminates" (PROTOCOL.md).
	c.send(map[string]any{"type": "ping"})
	var next map[string]any
	if err := c.conn.ReadJSON(&next); err != nil || next["type"] != "pong" {
		t.Fatalf("after the error, want the pong and no complete: %v %v", next, err)
	}
	if _, hasID := next["id"]; hasID {
		t.Errorf("a pong after the ack: %v, want no id", next)
	}
	c.send(map[string]any{"id": "one", "type": "subscribe", "payload": map[string]any{"query": `subscription { accountEvents { type } accountEvents { type } }`}})
	c.send(map[string]any{"id": "one", "type": "complete"})
	c.send(map[string]any{"type": "ping"})
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			t.Fatalf("after one field selected twice: %v", err)
		}
		if strings.Contains(string(msg), `"pong"`) {
			break
		}
		if strings.Contains(string(msg), `"error"`) {
			t.Fatalf("one field selected twice: %s", msg)
		}
	}
}

// graphql-transport-ws: a second connection_init closes with 4429, a
// subscribe without an id with 4400.
func TestGraphQLTransportWSInitOnceAndIDs(t *testing.T) {
	f := newAccountFixture(t, nil)
	token, _, _ := f.customerLogin(t, customerPassword)
	for name, tc := range map[string]struct {
		msg  map[string]any
		code int
	}{
		"a second connection_init":  {map[string]any{"type": "connection_init", "payload": map[string]any{"token": token}}, closeTooManyInits},
		"a subscribe without an id": {map[string]any{"type": "subscribe", "payload": map[string]any{"query": `subscription { accountEvents { type } }`}}, closeBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			c, _, err := dialWS(t, f.testInstance, "graphql-transport-ws", "")
			if err != nil {
				t.Fatal(err)
			}
			if ack, err := c.init(map[string]any{"token": token}); err != nil || ack["type"] != "connection_ack" {
				t.Fatalf("init: %v %v", ack, err)
			}
			c.send(tc.msg)
			_, err = c.nextWithin(5 * time.Second)
			for err == nil {
				_, err = c.nextWithin(5 * time.Second)
			}
			if closeCode(err) != tc.code {
				t.Fatalf("%v, want close %d", err, tc.code)
			}
		})
	}
}
