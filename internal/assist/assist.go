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
	StateActive  State = "ACTIVE"
	StateEnded   State = "ENDED"   // ended by an operator (endAssist, signing out)
	StateExpired State = "EXPIRED" // its time ran out
	StateRevoked State = "REVOKED" // the customer was disabled or got a new password
)

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
}

// Current returns the state at now: an active session past its end has expired.
func (s Session) Current(now time.Time) State {
	if s.State == StateActive && !now.Before(s.ExpiresAt) {
		return StateExpired
	}
	return s.State
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

// ActiveFilter selects active sessions: of an operator, of a customer, or
// past their end at a time.
type ActiveFilter struct {
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
	// EndAssist moves an active session to state. It returns
	// apperr.ErrConflict if the session is no longer active.
	EndAssist(ctx context.Context, id string, state State, endedBy string, at time.Time, rec audit.Record, evs []events.Event) error
	// AssistSessions returns sessions matching q, newest first.
	AssistSessions(ctx context.Context, q Query) ([]Session, error)
	// ActiveAssists returns the sessions stored as active that match every
	// field f sets.
	ActiveAssists(ctx context.Context, f ActiveFilter) ([]Session, error)
	// AuditRecordsOfAssists returns what was done during each of sessions
	// ids, by session id, oldest first within each, whatever their domain: a
	// session with no records, an unknown id and the empty id are absent. It
	// reads the store once (a few times for thousands of ids).
	AuditRecordsOfAssists(ctx context.Context, ids []string) (map[string][]audit.Record, error)
}
