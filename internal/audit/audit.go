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
)

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
}

// Store persists audit records.
type Store interface {
	// AppendAudit stores r.
	AppendAudit(ctx context.Context, r Record) error
	// AuditRecords returns the newest limit records of a domain, newest first.
	AuditRecords(ctx context.Context, domainID string, limit int) ([]Record, error)
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request being served, so
// that records written while serving it name it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
