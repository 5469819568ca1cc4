// Package assist describes remote assistance: an operator opens a
// customer's own dashboard, signed in as the customer, for a limited time,
// with every action recorded under both names.
package assist

import (
	"context"
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
)

// State is where an assist session stands.
type State string

// States.
const (
	// StatePending waits for the customer's agreement (the domain's
	// AssistConsent): no ticket yet; it ends as StateExpired when
	// RequestTTL passes unanswered.
	StatePending  State = "PENDING"
	StateDeclined State = "DECLINED" // the customer declined it
	StateActive   State = "ACTIVE"
	StateEnded    State = "ENDED"   // ended by an operator (endAssist, signing out)
	StateExpired  State = "EXPIRED" // its time ran out
	StateRevoked  State = "REVOKED" // the customer was disabled or got a new password
)

// Mode is what an assistance may do.
type Mode string

// Modes.
const (
	ModeView    Mode = "VIEW"    // read as the customer; mutations are refused
	ModeControl Mode = "CONTROL" // act as the customer
)

// RequestState is where a request for the customer's agreement stands.
type RequestState string

// Request states.
const (
	RequestPending   RequestState = "PENDING"
	RequestApproved  RequestState = "APPROVED"
	RequestDeclined  RequestState = "DECLINED"
	RequestExpired   RequestState = "EXPIRED"   // unanswered for RequestTTL
	RequestWithdrawn RequestState = "WITHDRAWN" // the assistance ended first (never stored: see Session.RequestNow)
)

// RequestTTL is how long a request for the customer's agreement waits for
// an answer (issue "Remote assistance a customer can trust": 5 minutes).
const RequestTTL = 5 * time.Minute

// Request is a request for the customer's agreement: to a PENDING
// assistance, or to control of a VIEW one.
type Request struct {
	Mode       Mode
	State      RequestState // "" when no request was ever made
	At         time.Time
	ExpiresAt  time.Time
	AnsweredAt time.Time // zero while pending
}

// Session is one remote assistance.
type Session struct {
	ID         string
	DomainID   string
	CustomerID string
	OperatorID string
	Reason     string
	StartedAt  time.Time
	ExpiresAt  time.Time
	State      State     // as stored; see Current
	EndedAt    time.Time // zero while active
	EndedBy    string    // the operator who ended it, or "system"
	// The one-time ticket the dashboard redeems for the session token; only
	// its hash is stored.
	TicketHash      string
	TicketExpiresAt time.Time
	TicketUsed      bool
	// CustomerEpoch is the customer's session epoch when the assistance
	// started: an event that ends the customer's sessions opened before
	// epoch N revokes it only when CustomerEpoch < N.
	CustomerEpoch int64
	// OperatorEpoch is the operator's session epoch when it started it:
	// an event that ends the operator's sessions opened before epoch N
	// revokes it only when OperatorEpoch < N.
	OperatorEpoch int64
	// Mode is what it may do now; "" (stored before modes existed) reads as
	// ModeControl (see ModeNow).
	Mode Mode
	// Request is the latest request for the customer's agreement.
	Request Request
}

// Running reports whether st is a state a session can still change from.
func (st State) Running() bool { return st == StateActive || st == StatePending }

// Current returns the state at now: a running session past its end (a
// pending one's end is its request's) has expired.
func (s Session) Current(now time.Time) State {
	if s.State.Running() && !now.Before(s.ExpiresAt) {
		return StateExpired
	}
	return s.State
}

// ModeNow returns what s may do: its Mode, ModeControl when it has none.
func (s Session) ModeNow() Mode {
	if s.Mode == "" {
		return ModeControl
	}
	return s.Mode
}

// RequestNow returns where s's latest request stands at now: a pending one
// past its expiry has expired, and one whose assistance ended first was
// withdrawn.
func (s Session) RequestNow(now time.Time) RequestState {
	r := s.Request.State
	if r != RequestPending {
		return r
	}
	if !s.State.Running() { // ended while it waited: withdrawn, even once its time is past
		return RequestWithdrawn
	}
	if !now.Before(s.Request.ExpiresAt) {
		return RequestExpired
	}
	if !s.Current(now).Running() {
		return RequestWithdrawn
	}
	return RequestPending
}

// Query selects assist sessions of a domain, newest first.
type Query struct {
	DomainID   string
	CustomerID string // "" for any
	State      State  // "" for any (stored state)
	Before     *Cursor
	Limit      int
}

// Cursor is a position in the newest-first order.
type Cursor struct {
	StartedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// ActiveFilter selects running sessions (ACTIVE or PENDING): of an
// operator, of a customer, or past their end at a time.
type ActiveFilter struct {
	DomainID     string // "" for any
	OperatorID   string
	CustomerID   string
	ExpiredAfter time.Time // zero for any; else only sessions whose ExpiresAt is not after it
	// EpochBefore, when above 0, keeps only assistances started in a
	// customer session epoch below it (Session.CustomerEpoch).
	EpochBefore int64
	// OperatorEpochBefore, when above 0, keeps only assistances started in
	// an operator session epoch below it (Session.OperatorEpoch).
	OperatorEpochBefore int64
}

// Store persists assist sessions. Writes that change a session carry its
// audit record and events, stored atomically with the change.
type Store interface {
	// CreateAssist stores s.
	CreateAssist(ctx context.Context, s Session, rec audit.Record, evs []events.Event) error
	// AssistByID returns apperr.ErrNotFound if there is no such session.
	AssistByID(ctx context.Context, id string) (Session, error)
	// AssistsByIDs returns the sessions that have one of ids, each once, in
	// no particular order, whatever their domain: ids that match nothing are
	// absent. It reads the store once (a few times for thousands of ids).
	AssistsByIDs(ctx context.Context, ids []string) ([]Session, error)
	// AssistByTicket returns apperr.ErrNotFound if no session has that ticket hash.
	AssistByTicket(ctx context.Context, ticketHash string) (Session, error)
	// UseTicket marks the ticket of session id used. It returns
	// apperr.ErrConflict if it already was.
	UseTicket(ctx context.Context, id string) error
	// EndAssist moves a running session (ACTIVE or PENDING) to state. It
	// returns apperr.ErrConflict if the session is no longer running.
	EndAssist(ctx context.Context, id string, state State, endedBy string, at time.Time, rec audit.Record, evs []events.Event) error
	// AssistSessions returns sessions matching q, newest first.
	AssistSessions(ctx context.Context, q Query) ([]Session, error)
	// ActiveAssists returns the sessions stored as running (ACTIVE or
	// PENDING) that match every field f sets.
	ActiveAssists(ctx context.Context, f ActiveFilter) ([]Session, error)
	// OperatorSignedInUntil is sessions.Store's: the latest expiry of the
	// operator's sign-ins that began at or before since and are live at
	// now, or the zero time.
	OperatorSignedInUntil(ctx context.Context, operatorID string, since, now time.Time) (time.Time, error)
	// UpdateAssist stores a's state, mode, expiry, end and request, with
	// its audit record and events, if the stored session still has was's
	// state, mode and request state; apperr.ErrConflict otherwise.
	UpdateAssist(ctx context.Context, a, was Session, rec audit.Record, evs []events.Event) error
	// SetAssistTicket gives running session id a new ticket (its hash and
	// expiry) if its ticket was not used; apperr.ErrConflict otherwise.
	SetAssistTicket(ctx context.Context, id, ticketHash string, expiresAt time.Time) error
	// PendingAssistRequests returns the sessions still PENDING or ACTIVE
	// whose request is stored as pending and expires at or before by (any
	// expiry when by is zero), whatever their domain, soonest expiry first.
	// A request of an assistance that ended (withdrawn) is never returned.
	PendingAssistRequests(ctx context.Context, by time.Time) ([]Session, error)
	// AuditRecordsOfAssists returns what was done during each of sessions
	// ids, by session id, oldest first within each, whatever their domain: a
	// session with no records, an unknown id and the empty id are absent. It
	// reads the store once (a few times for thousands of ids).
	AuditRecordsOfAssists(ctx context.Context, ids []string) (map[string][]audit.Record, error)
}

// PresenceStore records which customers have an app or dashboard open on
// which instance, so that every instance knows whom it can ask for its
// agreement.
type PresenceStore interface {
	// SetPresence records that customerID has a connection open on
	// instance until until; a zero until removes the record.
	SetPresence(ctx context.Context, customerID, instance string, until time.Time) error
	// Present reports whether customerID has a record, of any instance,
	// that lasts after at.
	Present(ctx context.Context, customerID string, at time.Time) (bool, error)
	// DeletePresenceBefore deletes the records that lasted until at or before.
	DeletePresenceBefore(ctx context.Context, at time.Time) error
}
