package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/clock"
)

// Close codes the server sends besides the RFC 6455 ones.
const (
	closeGoingAway    = websocket.CloseGoingAway // 1001: the server is shutting down
	closeUnauthorized = 4401                     // graphql-transport-ws: no valid session
	closeForbidden    = 4403                     // graphql-transport-ws: the account may not connect
)

// gorillaSockets adapts github.com/gorilla/websocket to gqlgen's
// transport.WebsocketImplementation (gqlgen dropped its own gorilla transport
// in v0.17.92) and keeps every open connection, so that shutdown can close
// them all with 1001 and the metrics can count them.
type gorillaSockets struct {
	upgrader websocket.Upgrader
	clock    clock.Clock // for each connection's expiry
	onChange func(open int)
	// keepAlive is WS_PING_INTERVAL: on graphql-transport-ws a peer from
	// which nothing (not even the pong to the server's ping) has come for
	// keepAliveSilence of it, having left at least two pings unanswered, is
	// closed with closeTryAgainLater. Zero: no such check. Set before
	// serving.
	keepAlive time.Duration
	// perAccount bounds the signed-in connections of one account
	// (WS_MAX_SOCKETS_PER_ACCOUNT, see defaultSocketsPerAccount).
	perAccount int

	mu        sync.Mutex
	conns     map[*gorillaConn]struct{}
	bySubject map[string]map[*gorillaConn]struct{}
	// waiting counts, by client address, the connections that have not
	// passed connection_init yet (maxWaitingPerAddress).
	waiting map[string]int
}

// maxWaitingPerAddress bounds the connections one client address may hold
// open before their connection_init is accepted; a connection beyond it is
// closed at once with 1013 "Try Again Later". Such a connection costs the
// server its buffers and goroutines for up to WS_INIT_TIMEOUT whoever opens
// it: a tryout held 20,000 anonymous ones from one address (RSS 205 ->
// 693 MB). Signed-in connections are not counted (a carrier's NAT puts many
// customers' apps behind one address), and a page opens one at a time.
const maxWaitingPerAddress = 32

// defaultSocketsPerAccount is WS_MAX_SOCKETS_PER_ACCOUNT's default: the
// signed-in connections of one account (customer or operator, all its
// sessions together) or one remote assistance; connection_init beyond it
// is refused and the connection closed with 1013 "Try Again Later". A
// signed-in connection costs about 87 KB whatever it carries, and open
// sign-up gives anyone an account: a tryout held 2,000 with one customer's
// token (RSS 86 -> 259 MB). An app, a dashboard tab or a console opens one
// or two.
const defaultSocketsPerAccount = 32

// newGorillaSockets accepts connections from the server's own origin, from
// clients that send no Origin (native apps), and from allowedOrigins, and
// at most perAccount signed-in connections of one account (see
// defaultSocketsPerAccount).
func newGorillaSockets(allowedOrigins []string, perAccount int, clk clock.Clock, onChange func(open int)) *gorillaSockets {
	return &gorillaSockets{
		perAccount: perAccount,
		upgrader: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			// Small buffers and a shared write-buffer pool keep an idle
			// subscriber cheap: tens of thousands of sockets per instance.
			ReadBufferSize:  1024,
			WriteBufferSize: 1024,
			WriteBufferPool: &sync.Pool{},
			CheckOrigin:     func(r *http.Request) bool { return originAllowed(r, allowedOrigins) },
		},
		clock:     clk,
		onChange:  onChange,
		conns:     map[*gorillaConn]struct{}{},
		bySubject: map[string]map[*gorillaConn]struct{}{},
		waiting:   map[string]int{},
	}
}

// originAllowed reports whether a request's Origin may use the API: absent
// (not a browser), the server's own host, or one of allowed.
func originAllowed(r *http.Request, allowed []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, origin) })
}

// Accept implements transport.WebsocketImplementation.
func (s *gorillaSockets) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	// Counted before the upgrade answers, so that a client that opens the
	// next connection as soon as one is answered finds it counted.
	c := &gorillaConn{sockets: s, addr: audit.BudgetKey(audit.ClientAddr(r.Context()))}
	s.mu.Lock()
	admitted := s.waiting[c.addr] < maxWaitingPerAddress
	if admitted {
		s.waiting[c.addr]++
		c.waiting = true
	}
	s.mu.Unlock()
	upgrader := s.upgrader
	upgrader.Subprotocols = opts.Subprotocols
	ws, err := upgrader.Upgrade(w, r, opts.ResponseHeader)
	if err != nil {
		s.mu.Lock()
		s.stopWaiting(c)
		s.mu.Unlock()
		return nil, err // Upgrade has already answered the client
	}
	c.Conn = ws
	if slot := slotOf(r.Context()); slot != nil {
		slot.conn = c
	}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	open := len(s.conns)
	s.mu.Unlock()
	s.onChange(open)
	if !admitted { // gqlgen's read of connection_init then fails, and it closes the connection
		c.closeWith(closeTryAgainLater, "too many connections from this address waiting for connection_init")
	}
	return c, nil
}

// stopWaiting takes c out of its address's count of connections waiting for
// connection_init; s.mu is held.
func (s *gorillaSockets) stopWaiting(c *gorillaConn) {
	if !c.waiting {
		return
	}
	c.waiting = false
	if n := s.waiting[c.addr] - 1; n > 0 {
		s.waiting[c.addr] = n
	} else {
		delete(s.waiting, c.addr)
	}
}

func (s *gorillaSockets) forget(c *gorillaConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.stopWaiting(c)
	if c.expiry != nil {
		c.expiry.Stop()
	}
	for _, subject := range c.subjects {
		if subs := s.bySubject[subject]; subs != nil {
			delete(subs, c)
			if len(subs) == 0 {
				delete(s.bySubject, subject)
			}
		}
	}
	open := len(s.conns)
	s.mu.Unlock()
	s.onChange(open)
}

// CloseAll closes every open connection with code and reason.
func (s *gorillaSockets) CloseAll(code int, reason string) {
	s.mu.Lock()
	conns := make([]*gorillaConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(code, reason)
	}
}

// Open returns how many connections are open.
func (s *gorillaSockets) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// gorillaConn is one connection; gqlgen serializes its own writes, and
// closeWith uses WriteControl, which gorilla allows concurrently.
type gorillaConn struct {
	*websocket.Conn
	sockets   *gorillaSockets
	closeOnce sync.Once
	subjects  []string    // guarded by sockets.mu
	epoch     int64       // the session epoch its session was opened in (sessions.Principal.SessionEpoch); guarded by sockets.mu
	expiry    clock.Timer // closes the connection when its session expires; guarded by sockets.mu
	addr      string      // the client's address as per-address limits count it (audit.BudgetKey: an IPv6 /64)
	waiting   bool        // counted in sockets.waiting[addr]: no connection_init accepted yet; guarded by sockets.mu
	protocol  protocolState
	// lastEvent is the number (events.Broker.Publishing) of the event that
	// ended the connection's session, the last its subscriptions are given;
	// 0 while it lasts.
	lastEvent atomic.Uint64
}

// Open implements events.Gate: the connection's subscriptions take events
// up to the one that ended its session, which the socket closes a moment
// after (socketCloseDelay).
func (c *gorillaConn) Open(n uint64) bool {
	last := c.lastEvent.Load()
	return last == 0 || n <= last
}

var (
	_ transport.WebsocketConn          = (*gorillaConn)(nil)
	_ transport.WebsocketReadLimiter   = (*gorillaConn)(nil)
	_ transport.WebsocketReadDeadliner = (*gorillaConn)(nil)
)

// NextReader hands gqlgen the peer's next message, after the protocol rules
// gqlgen does not keep (see protocolState.admit), and maps a peer's normal
// close to transport.ErrWebsocketClosed.
func (c *gorillaConn) NextReader() (int, io.Reader, error) {
	for {
		if c.checksKeepAlive() && c.protocol.isAcked() {
			_ = c.Conn.SetReadDeadline(time.Now().Add(keepAliveSilence(c.sockets.keepAlive)))
		}
		mt, r, err := c.Conn.NextReader()
		if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
			return mt, nil, transport.ErrWebsocketClosed
		}
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() && c.checksKeepAlive() {
			c.closeWith(closeTryAgainLater, "keep-alive timeout: no pong to two pings")
			return mt, nil, transport.ErrWebsocketClosed
		}
		if err != nil {
			return mt, r, err
		}
		msg, err := io.ReadAll(r) // bounded by the connection's read limit
		if err != nil {
			return mt, nil, err
		}
		verdict, detail := c.protocol.admit(c.Subprotocol(), msg)
		if verdict == awaitEnded {
			c.protocol.waitEnded(string(detail))
			verdict, detail = c.protocol.admit(c.Subprotocol(), msg) // the id is free now
		}
		switch verdict {
		case answerPong:
			if err := c.writeBytes(detail); err != nil {
				return mt, nil, err
			}
			continue
		case refuse4401:
			c.closeWith(closeUnauthorized, "Unauthorized")
			return mt, nil, transport.ErrWebsocketClosed
		case refuse4409:
			c.closeWith(closeSubscriberExists, "Subscriber for "+string(detail)+" already exists")
			return mt, nil, transport.ErrWebsocketClosed
		case refuse4429:
			c.closeWith(closeTooManyInits, "Too many initialisation requests")
			return mt, nil, transport.ErrWebsocketClosed
		case refuse4400:
			c.closeWith(closeBadRequest, "Invalid message: a subscribe needs an id")
			return mt, nil, transport.ErrWebsocketClosed
		case refuseLegacy: // the legacy protocol has no close codes of its own
			c.closeWith(websocket.CloseProtocolError, "Invalid message: a start needs an id")
			return mt, nil, transport.ErrWebsocketClosed
		}
		return mt, bytes.NewReader(msg), nil
	}
}

// keepAliveSilence is how long a peer may send nothing: two and a half ping
// intervals, so that whenever it fell silent, at least two pings went
// unanswered before it is dropped.
func keepAliveSilence(interval time.Duration) time.Duration { return interval * 5 / 2 }

// closeTryAgainLater is 1013 "Try Again Later" (RFC 6455 section 7.4.2
// registry), a code standard clients reconnect on (graphql-ws retries it; a
// 4xxx protocol code or 1011 would stop it): for a peer that stopped
// answering pings, and for a connection over maxWaitingPerAddress or
// an account's limit (defaultSocketsPerAccount).
const closeTryAgainLater = 1013

// checksKeepAlive reports whether NextReader keeps c's keep-alive deadline
// (graphql-transport-ws, with a ping interval).
func (c *gorillaConn) checksKeepAlive() bool {
	return c.sockets.keepAlive > 0 && c.Subprotocol() == graphqlTransportWS
}

// SetReadDeadline is gqlgen's keep-alive deadline: on graphql-transport-ws
// NextReader keeps its own instead (gqlgen's dropped a peer one ping early,
// with a close code clients do not reconnect on).
func (c *gorillaConn) SetReadDeadline(t time.Time) error {
	if c.checksKeepAlive() {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

// WriteJSON sends v, noting what it tells the protocol state (the ack, the
// end of an operation).
func (c *gorillaConn) WriteJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if !c.protocol.sent(b) && c.Subprotocol() == graphqlTransportWS {
		return nil
	}
	return c.writeBytes(withCodedRequestError(b))
}

// gqlgenUndecodable is the payload of gqlgen's error message for a
// subscribe (or start) whose payload is no GraphQL request: variables that
// are no object, a query that is no string. It has no extensions.code, and
// says "invalid json" of JSON that parsed.
var gqlgenUndecodable = []byte(`[{"message":"invalid json"}]`)

// undecodableRequest replaces gqlgenUndecodable: the request error an HTTP
// request of that shape gets (BAD_REQUEST), with a sentence that says what
// to send.
var undecodableRequest, _ = json.Marshal([]map[string]any{{
	"message":    "the payload is not a GraphQL request: send query as a string, variables and extensions as objects, operationName as a string",
	"extensions": map[string]any{"code": codeBadRequest},
}})

// withCodedRequestError returns msg, or msg with undecodableRequest for its
// payload when it is gqlgen's error for an undecodable request.
func withCodedRequestError(msg []byte) []byte {
	if !bytes.HasSuffix(msg, []byte(`"type":"error"}`)) || !bytes.Contains(msg, gqlgenUndecodable) {
		return msg
	}
	var e envelope
	if json.Unmarshal(msg, &e) != nil || !bytes.Equal(e.Payload, gqlgenUndecodable) {
		return msg
	}
	e.Payload = undecodableRequest
	coded, err := json.Marshal(e)
	if err != nil {
		return msg
	}
	return coded
}

// writeBytes sends one text message. gqlgen writes one message at a time;
// the pong answered before the ack is written before gqlgen writes anything.
func (c *gorillaConn) writeBytes(b []byte) error {
	return c.Conn.WriteMessage(websocket.TextMessage, b)
}

// closeSubscriberExists is graphql-transport-ws's close for a subscribe
// whose id is still running.
const closeSubscriberExists = 4409

// closeTooManyInits is graphql-transport-ws's code for a second
// connection_init.
const closeTooManyInits = 4429

// protocolState keeps what the subscription protocols require of the
// peer's messages and gqlgen does not check: on graphql-transport-ws
// (github.com/enisdenjo/graphql-ws, PROTOCOL.md) a ping may come at any
// time, before the connection_ack too, and is answered with a pong carrying
// its payload; a subscribe before the ack closes the socket with 4401; a
// subscribe with the id of an operation still running closes it with 4409
// (gqlgen ran both under one id, and the first could no longer be
// stopped); a second connection_init closes it with 4429 and a subscribe
// without an id with 4400 (gqlgen closed with 1002, and ran the second).
// The legacy graphql-ws protocol's start is held to the first two rules,
// and one without an id closes the socket with 1002 (protocol error).
//
// After the peer's complete of a running operation, nothing more is sent
// for it ("no further events, relevant to the original subscription,
// should be sent through", PROTOCOL.md): gqlgen cancels the operation and
// sends what it ends with (an error "request cancelled" when the complete
// caught it starting, and a complete), which is dropped; a subscribe that
// takes the id again waits for that end (at most endingWait), so that the
// old operation's messages are never taken for the new one's (tryout 19).
type protocolState struct {
	mu      sync.Mutex
	inited  bool // a connection_init came
	acked   bool
	active  map[string]bool // ids of operations started and not yet completed
	errored map[string]bool // ids of operations that ended with an error, whose complete gqlgen has yet to send
	// ending holds the ids of graphql-transport-ws operations the peer
	// completed whose end gqlgen has yet to send; each channel is closed
	// when it does. endings counts them, read without the lock on every
	// message sent.
	ending  map[string]chan struct{}
	endings atomic.Int32
}

// endingWait bounds how long a subscribe waits for the end of an operation
// of its id that the peer completed (gqlgen ends one in about a
// millisecond).
const endingWait = 2 * time.Second

type verdict int

const (
	pass verdict = iota
	answerPong
	refuse4401
	refuse4409
	refuse4429   // graphql-transport-ws: Too many initialisation requests
	refuse4400   // graphql-transport-ws: Invalid message
	refuseLegacy // graphql-ws: a start without an id, which no answer could name (gqlgen ignored it)
	awaitEnded   // graphql-transport-ws: a subscribe of an id whose completed operation gqlgen has yet to end
)

// envelope is what the rules read of a message.
type envelope struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"` // a pong has none
	Payload json.RawMessage `json:"payload,omitempty"`
}

// admit judges a message of the peer on subprotocol: pass it to gqlgen,
// answer it here (the pong to send), close the socket (for 4409, the id), or
// wait for an operation's end (the id; see waitEnded) and judge it again.
func (p *protocolState) admit(subprotocol string, msg []byte) (verdict, []byte) {
	var e envelope
	if json.Unmarshal(msg, &e) != nil {
		return pass, nil // gqlgen answers what does not parse
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case e.Type == "ping" && !p.acked && subprotocol == graphqlTransportWS:
		pong, _ := json.Marshal(envelope{Type: "pong", Payload: e.Payload})
		return answerPong, pong
	case e.Type == "connection_init" && p.inited && subprotocol == graphqlTransportWS:
		return refuse4429, nil
	case e.Type == "connection_init":
		p.inited = true
	case e.Type == "subscribe" && e.ID == "" && subprotocol == graphqlTransportWS:
		return refuse4400, nil
	case e.Type == "start" && e.ID == "" && subprotocol != graphqlTransportWS:
		return refuseLegacy, nil
	case e.Type == "subscribe" || e.Type == "start":
		if !p.acked {
			return refuse4401, nil
		}
		if p.active[e.ID] {
			return refuse4409, []byte(e.ID)
		}
		if p.ending[e.ID] != nil {
			return awaitEnded, []byte(e.ID)
		}
		if p.active == nil {
			p.active = map[string]bool{}
		}
		p.active[e.ID] = true
	case e.Type == "complete" || e.Type == "stop":
		if p.active[e.ID] && subprotocol == graphqlTransportWS {
			if p.ending == nil {
				p.ending = map[string]chan struct{}{}
			}
			p.ending[e.ID] = make(chan struct{})
			p.endings.Add(1)
		}
		delete(p.active, e.ID)
	}
	return pass, nil
}

// waitEnded waits until gqlgen has ended the completed operation of id, or
// endingWait has passed (then the id is taken as ended).
func (p *protocolState) waitEnded(id string) {
	p.mu.Lock()
	ended := p.ending[id]
	p.mu.Unlock()
	if ended == nil {
		return
	}
	select {
	case <-ended:
	case <-time.After(endingWait):
		p.mu.Lock()
		p.endedLocked(id)
		p.mu.Unlock()
	}
}

// endedLocked forgets id's completed operation, and wakes whoever waits
// for its end. The caller holds p.mu.
func (p *protocolState) endedLocked(id string) {
	if ch := p.ending[id]; ch != nil {
		close(ch)
		delete(p.ending, id)
		p.endings.Add(-1)
	}
}

// isAcked reports whether the server has sent connection_ack.
func (p *protocolState) isAcked() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked
}

// sent notes a message the server is about to send (the ack, an
// operation's end) and reports whether it is to be sent: on
// graphql-transport-ws no complete follows an operation's error ("the
// operation execution terminates", PROTOCOL.md), which gqlgen sends anyway,
// so the complete of an id that just had its error is not. gqlgen's
// messages end with their type, so the many "next" and "data" messages are
// told apart without parsing their payload.
func (p *protocolState) sent(msg []byte) bool {
	if p.endings.Load() == 0 && !bytes.HasSuffix(msg, []byte(`"type":"connection_ack"}`)) && !bytes.HasSuffix(msg, []byte(`"type":"complete"}`)) &&
		!bytes.HasSuffix(msg, []byte(`"type":"error"}`)) {
		return true
	}
	var e envelope
	if json.Unmarshal(msg, &e) != nil {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ending[e.ID] != nil && e.Type != "connection_ack" {
		if e.Type == "complete" {
			p.endedLocked(e.ID)
		}
		return false // the peer completed the operation: nothing more of it
	}
	switch e.Type {
	case "connection_ack":
		p.acked = true
	case "error":
		delete(p.active, e.ID)
		if p.errored == nil {
			p.errored = map[string]bool{}
		}
		p.errored[e.ID] = true
	case "complete":
		delete(p.active, e.ID)
		if p.errored[e.ID] {
			delete(p.errored, e.ID)
			return false
		}
	}
	return true
}

// graphqlTransportWS is the graphql-transport-ws subprotocol's name.
const graphqlTransportWS = "graphql-transport-ws"

// gqlgen's own reason when no connection_init arrives in time; the
// graphql-transport-ws protocol closes with 4408 for that, gqlgen with 1002.
const initTimeoutReason = "connection initialisation timeout"

const closeInitTimeout = 4408

// closeBadRequest is graphql-transport-ws's code for a message the server
// cannot take: invalid JSON, an unknown type, a connection_init whose
// payload is no object. gqlgen closes with 1002 for the first two
// ("decoding error", "unexpected message").
const closeBadRequest = 4400

// WriteClose sends a close frame, unless the server already closed the connection.
func (c *gorillaConn) WriteClose(code int, message string) error {
	switch {
	case code == websocket.CloseProtocolError && message == initTimeoutReason:
		code = closeInitTimeout
	case code == websocket.CloseProtocolError && c.Subprotocol() == graphqlTransportWS && (message == "decoding error" || message == "unexpected message"):
		code = closeBadRequest
	}
	var err error
	c.closeOnce.Do(func() { err = c.writeCloseFrame(code, message) })
	return err
}

func (c *gorillaConn) writeCloseFrame(code int, message string) error {
	return c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, message), time.Now().Add(time.Second))
}

// closeWith sends a close frame with code and drops the connection; gqlgen
// then sees its read fail and cleans up the operations.
func (c *gorillaConn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		_ = c.writeCloseFrame(code, reason)
		_ = c.Conn.Close()
	})
}

// closeLeftOpen closes the connection, with 4400, if its handler returned
// and left it open: gqlgen gives up on a message it cannot decode (no JSON,
// an unknown type, a connection_init whose payload is no JSON object, an id
// that is no string) without closing, which left such a socket open for good, neither
// acknowledged nor timed out.
func (c *gorillaConn) closeLeftOpen() {
	c.sockets.mu.Lock()
	_, open := c.sockets.conns[c]
	c.sockets.mu.Unlock()
	if open {
		// (A close reason is at most 123 bytes: RFC 6455, section 5.5.)
		c.closeWith(closeBadRequest, "Invalid message: send JSON objects of the protocol, ids as strings, a connection_init payload as an object")
		_ = c.Close()
	}
}

// Close drops the connection.
func (c *gorillaConn) Close() error {
	c.sockets.forget(c)
	err := c.Conn.Close()
	if errors.Is(err, websocket.ErrCloseSent) {
		return nil
	}
	return err
}

// A socketSlot travels in the upgrade request's context from the HTTP
// handler to Accept (which fills in the connection) and on to the
// connection_init check (which names who the connection belongs to), so
// that the server can later close the sockets of one customer.
type socketSlot struct {
	conn *gorillaConn
}

type socketSlotKey struct{}

// withSocketSlot returns r carrying an empty slot.
func withSocketSlot(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), socketSlotKey{}, &socketSlot{}))
}

func slotOf(ctx context.Context) *socketSlot {
	slot, _ := ctx.Value(socketSlotKey{}).(*socketSlot)
	return slot
}

// bind records that the connection in ctx's slot belongs to subjects (its
// account and its session), opened in the account's session epoch epoch,
// so that CloseSubject of any of them closes it, and closes it with 4401 at
// expires, when its authority ends. It reports false, binding nothing, when
// account (one of subjects) already has s.perAccount connections.
func (s *gorillaSockets) bind(ctx context.Context, expires time.Time, epoch int64, account string, subjects ...string) bool {
	slot := slotOf(ctx)
	if slot == nil || slot.conn == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, open := s.conns[slot.conn]; !open {
		return true
	}
	c := slot.conn
	s.stopWaiting(c)
	if len(s.bySubject[account]) >= s.perAccount {
		return false
	}
	c.expiry = s.clock.AfterFunc(expires.Sub(s.clock.Now()), func() { c.closeWith(closeUnauthorized, "session expired") })
	c.subjects, c.epoch = subjects, epoch
	for _, subject := range subjects {
		if s.bySubject[subject] == nil {
			s.bySubject[subject] = map[*gorillaConn]struct{}{}
		}
		s.bySubject[subject][slot.conn] = struct{}{}
	}
	return true
}

// CloseSubject closes every connection bound to subject.
func (s *gorillaSockets) CloseSubject(subject string, code int, reason string) {
	s.CloseSubjectExcept(subject, "", 0, code, reason)
}

// CloseSubjectExcept closes every connection bound to subject but those
// also bound to except and, when before > 0, those opened in an epoch of
// before or later (the event that closes them ended only what was opened
// before it: see events.Event.EndsBefore).
func (s *gorillaSockets) CloseSubjectExcept(subject, except string, before int64, code int, reason string) {
	for _, c := range s.boundTo(subject, except, before) {
		c.closeWith(code, reason)
	}
}

// EndDeliveries has the connections CloseSubjectExcept would close take no
// event published after the one numbered last (events.Gate).
func (s *gorillaSockets) EndDeliveries(subject, except string, before int64, last uint64) {
	for _, c := range s.boundTo(subject, except, before) {
		c.lastEvent.CompareAndSwap(0, last)
	}
}

// boundTo returns the connections bound to subject but not to except, and
// when before > 0 opened in an epoch before it.
func (s *gorillaSockets) boundTo(subject, except string, before int64) []*gorillaConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	conns := make([]*gorillaConn, 0, len(s.bySubject[subject]))
	for c := range s.bySubject[subject] {
		_, kept := s.bySubject[except][c]
		if !kept && (before == 0 || c.epoch < before) {
			conns = append(conns, c)
		}
	}
	return conns
}
