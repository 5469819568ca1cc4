// Package events describes the domain events every state change produces; they
// feed subscriptions and reach other server instances through the store.
package events

import (
	"context"
	"strconv"
	"time"
)

// Type names a kind of event.
type Type string

// Event types.
const (
	StatusChanged  Type = "STATUS_CHANGED"
	PasswordReset  Type = "PASSWORD_RESET"
	AssistStarted  Type = "ASSIST_STARTED"
	AssistEnded    Type = "ASSIST_ENDED"
	SessionRevoked Type = "SESSION_REVOKED"
	ProfileUpdated Type = "PROFILE_UPDATED"
	// DeviceUpdated says a customer's device changed (name or settings), by
	// the customer or an operator assisting it. Data holds KeyDeviceID.
	DeviceUpdated Type = "DEVICE_UPDATED"
	// CustomerDeleted says a customer was erased: its sessions ended with it.
	CustomerDeleted Type = "CUSTOMER_DELETED"
	// OperatorAccessEnded says every session of an operator ended (disabled,
	// role lowered, password changed, setup link reissued): its sockets
	// close and its remote assistance is revoked on every instance.
	// CustomerID is empty; Data holds KeyOperatorID, KeyStatus and KeyReason.
	OperatorAccessEnded Type = "OPERATOR_ACCESS_ENDED"
	// AssistRequested asks the customer to agree to an assistance or to
	// control of one. Data holds KeyAssistID, KeyOperatorID, KeyReason,
	// KeyMode (what is asked for) and KeyExpiresAt (of the request).
	AssistRequested Type = "ASSIST_REQUESTED"
	// AssistAnswered says a request was approved, declined or expired, or
	// control was given without one. Data holds KeyAssistID, KeyOperatorID,
	// KeyState (the request's: APPROVED, DECLINED, EXPIRED) and KeyMode.
	AssistAnswered Type = "ASSIST_ANSWERED"
	// AssistAction says something was done during an assistance. Data
	// holds KeyAssistID, KeyOperatorID and KeyAction.
	AssistAction Type = "ASSIST_ACTION"
	// SecondFactorRequired says a domain began to require a second factor
	// of its operators: every operator session of it not opened with one
	// ended (sessions.Service.Authenticate refuses them), and its sockets
	// close. CustomerID is empty; no Data.
	SecondFactorRequired Type = "SECOND_FACTOR_REQUIRED"
	// TailGap is not stored: the store's tail hands it out when events were
	// lost before this process read them.
	TailGap Type = "TAIL_GAP"
)

// Keys of Event.Data: what an event carries besides its common fields.
const (
	KeyStatus         = "status"         // STATUS_CHANGED: the new status
	KeyPreviousStatus = "previousStatus" // STATUS_CHANGED: the status before
	KeyReason         = "reason"         // why: the operator's reason, or what ended a session or an assistance
	KeyRequireChange  = "requireChange"  // PASSWORD_RESET: "true" when the customer must choose a new password
	KeyAssistID       = "assistId"       // ASSIST_STARTED, ASSIST_ENDED: the assist session
	KeyOperatorID     = "operatorId"     // ASSIST_STARTED, ASSIST_ENDED: the assisting operator
	KeyExpiresAt      = "expiresAt"      // ASSIST_STARTED: RFC 3339
	KeyState          = "state"          // ASSIST_ENDED: the state it ended in
	KeyFields         = "fields"         // PROFILE_UPDATED: the profile fields that changed, comma-separated (never their values)
	KeyDeviceID       = "deviceId"       // DEVICE_UPDATED: the device
	KeyMode           = "mode"           // ASSIST_REQUESTED: the mode asked for; ASSIST_STARTED, ASSIST_ANSWERED: the mode it has
	KeyAction         = "action"         // ASSIST_ACTION: what was done, in words ("renamed the device Kitchen to Hall")
	// KeySession is the token hash of the one session a SESSION_REVOKED
	// event ends (signing out); KeyKeepSession the one session it spares
	// when it ends every other session of the customer (its own password
	// change).
	KeySession     = "session"
	KeyKeepSession = "keep"
	// KeyEpoch, on an event that ends every session of an account
	// (STATUS_CHANGED to DISABLED, PASSWORD_RESET, SESSION_REVOKED of a
	// password change, OPERATOR_ACCESS_ENDED), is the account's session
	// epoch after the change, in decimal: what the event ends is what was
	// opened in an earlier epoch. A session, socket or assistance opened
	// after the change (in this epoch or a later one) is not the event's,
	// however late the event arrives.
	KeyEpoch = "epoch"
)

// ByCustomer reports whether the customer e is about caused it itself (its
// own session was the actor: a deleteAccount, an updateProfile, a password
// change), not an operator or the system.
func (e Event) ByCustomer() bool { return e.ActorID != "" && e.ActorID == e.CustomerID }

// EndsBefore returns the epoch e carries (KeyEpoch): e ends what was
// opened in an epoch below it. ok is false for an event without one.
func (e Event) EndsBefore() (epoch int64, ok bool) {
	v, present := e.Data[KeyEpoch]
	if !present {
		return 0, false
	}
	epoch, err := strconv.ParseInt(v, 10, 64)
	return epoch, err == nil
}

// Event is one state change.
type Event struct {
	ID         string
	DomainID   string
	Type       Type
	CustomerID string
	ActorID    string
	Data       map[string]string
	OccurredAt time.Time
	// Position is where the event stands in the store's stream: set by
	// TailEvents (empty otherwise), and given back to it to resume after the
	// event.
	Position string `json:"-"`
}

// Store persists events.
type Store interface {
	// AppendEvent stores e.
	AppendEvent(ctx context.Context, e Event) error
	// TailEvents calls handle, in order, with every event appended by any
	// process sharing the store after the event at position after (or, when
	// after is empty, after TailEvents started), until ctx ends or the store
	// fails. When events after that position are no longer stored, handle
	// gets a TailGap event first.
	TailEvents(ctx context.Context, after string, handle func(Event)) error
	// SaveTailPosition remembers the position an instance has read up to.
	SaveTailPosition(ctx context.Context, instance, position string) error
	// TailPosition returns what SaveTailPosition remembered for instance, or "".
	TailPosition(ctx context.Context, instance string) (string, error)
}
