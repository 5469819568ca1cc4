// Package audit describes the append-only record of every privileged action:
// who did it, for whom, to what, why and when.
package audit

import (
	"context"
	"time"
)

// Actor types.
const (
	ActorOperator  = "operator"
	ActorCustomer  = "customer"
	ActorAnonymous = "anonymous"
	ActorSystem    = "system"
)

// Outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Actions, named after the OWASP logging vocabulary where it has a name.
const (
	ActionLoginSuccess = "authn_login_success"
	ActionLoginFail    = "authn_login_fail"
	ActionLogout       = "authn_logout"
	ActionUserCreated  = "user_created"
	// ActionPasswordReset is an operator setting a customer's password.
	ActionPasswordReset = "authn_password_reset"
	// ActionPasswordChange is a customer changing its own password.
	ActionPasswordChange = "authn_password_change"
	// ActionUserDisabled and ActionUserEnabled change an account's status.
	ActionUserDisabled = "user_disabled"
	ActionUserEnabled  = "user_enabled"
	// ActionUserUpdated is a correction of a customer's profile; its reason
	// names the fields that changed, its Details carry old and new values.
	ActionUserUpdated = "user_updated"
	// ActionUserDeleted is a customer erased; its reason is the operator's,
	// and it names the customer by id only.
	ActionUserDeleted = "user_deleted"
	// ActionUsersImported and ActionUsersExported are a whole import or
	// export of a domain's customers (target: the domain; reason: the counts).
	ActionUsersImported = "users_imported"
	ActionUsersExported = "users_exported"
	// ActionDataExported is a copy of one customer's data taken
	// (Customer.dataExport, GDPR article 15), by the customer or by an
	// operator; its target is the customer.
	ActionDataExported = "user_data_exported"
	// ActionDomainUpdated is a change of a domain's settings.
	ActionDomainUpdated = "domain_updated"
	// The second factor of an operator: enrolment started, turned on,
	// turned off (by itself or reset by an ADMIN), a failed code.
	ActionMFAEnrollStarted = "authn_mfa_enroll_started"
	ActionMFAEnabled       = "authn_mfa_enabled"
	ActionMFADisabled      = "authn_mfa_disabled"
	ActionMFAFail          = "authn_mfa_fail"
	// ActionDeviceUpdated is a change of a device's name or settings.
	ActionDeviceUpdated = "device_updated"
	// ActionAssistStarted and ActionAssistEnded bracket a remote assistance;
	// ActionAssistRedeemed is its ticket turned into a session.
	ActionAssistStarted  = "assist_started"
	ActionAssistRedeemed = "assist_redeemed"
	ActionAssistEnded    = "assist_ended"
	// The customer's agreement (issue "Remote assistance a customer can
	// trust"): asked for at the start, approved, declined, expired
	// unanswered; control asked for (or given, where no agreement is
	// needed) from a view-only assistance.
	ActionAssistRequested      = "assist_requested"
	ActionAssistApproved       = "assist_approved"
	ActionAssistDeclined       = "assist_declined"
	ActionAssistRequestExpired = "assist_request_expired"
	ActionAssistEscalated      = "assist_escalated"
	// ActionAuthzFail is a signed-in caller refused an operation, or an
	// object of another domain (ASVS 16.3.2).
	ActionAuthzFail = "authz_fail"
	// ActionRateLimited is a signed-in caller refused for going too fast.
	ActionRateLimited = "excess_rate_limit_exceeded"
	// ActionLoginLock is an account or a client address made to wait after
	// too many failed attempts (ASVS 16.3.1).
	ActionLoginLock = "authn_login_lock"
)

// Target types: what a record is about. The first three are stored
// objects; their TargetID is the object's id.
const (
	TargetCustomer = "customer"
	TargetOperator = "operator"
	TargetDevice   = "device"

	// TargetOperation names a GraphQL root field (an operation refused).
	TargetOperation = "operation"
	// TargetClientAddress names the network address of a client.
	TargetClientAddress = "client_address"
	// TargetDomain names a whole domain.
	TargetDomain = "domain"
)

// Actor is who did something, for the audit record.
type Actor struct {
	Type      string // ActorOperator, ActorCustomer, ...
	ID        string
	ActingFor string // the customer an assisting operator acts as
	AssistID  string // the assist session, when assisting
	DomainID  string
}

// Record returns a record of action by a on a target, to be completed with
// its ID and time by the writer.
func (a Actor) Record(action, targetType, targetID, reason string) Record {
	return Record{DomainID: a.DomainID, ActorType: a.Type, ActorID: a.ID, ActingFor: a.ActingFor, AssistID: a.AssistID, Action: action,
		TargetType: targetType, TargetID: targetID, Reason: reason, Outcome: OutcomeSuccess}
}

// Record is one audit entry. Records are never updated or deleted.
type Record struct {
	ID         string
	DomainID   string
	At         time.Time
	ActorType  string
	ActorID    string
	ActingFor  string // the customer an assisting operator acted as, if any
	Action     string
	TargetType string
	TargetID   string
	Reason     string
	RequestID  string
	Outcome    string
	AssistID   string // the remote assistance the action was part of, if any
	// Details is what the action changed, as text that may hold personal
	// data: sealed under the data key of the customer the record is about
	// (internal/shred), so deleting that key erases it; "" for none.
	Details string
}

// Query selects audit records of a domain, newest first.
type Query struct {
	DomainID   string
	CustomerID string    // records about the customer or done as the customer ("" for any)
	ActorID    string    // records by this actor ("" for any)
	Action     string    // "" for any
	Since      time.Time // records at or after it (zero for any)
	Until      time.Time // records before it (zero for any)
	Before     *Cursor   // continue after this position
	Limit      int
}

// Cursor is a position in the newest-first order.
type Cursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// Store persists audit records. There is no way to change or delete one.
type Store interface {
	// AppendAudit stores r.
	AppendAudit(ctx context.Context, r Record) error
	// FindAudit returns the records q selects, newest first.
	FindAudit(ctx context.Context, q Query) ([]Record, error)
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request being served, so
// that records written while serving it name it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

type clientAddrKey struct{}

// WithClientAddr returns ctx carrying the network address of the client
// the request came from (for throttling, and the records of lock-outs).
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr returns the client address ctx carries, or "".
func ClientAddr(ctx context.Context) string {
	addr, _ := ctx.Value(clientAddrKey{}).(string)
	return addr
}

// RequestID returns the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
