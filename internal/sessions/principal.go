package sessions

import (
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/operators"
)

// Principal is who a request runs as, derived from its session and the
// current state of the account behind it.
type Principal struct {
	Kind        Kind
	TokenHash   string
	DomainID    string
	OperatorID  string // the operator, for operator and assist sessions
	CustomerID  string // the customer, for customer and assist sessions
	Role        operators.Role
	DisplayName string
	Scope       Scope
	AssistID    string // for assist sessions
	// ExpiresAt is when the principal's authority ends by itself: the
	// session's expiry, or the assistance's when that comes first.
	ExpiresAt time.Time
	// SessionEpoch is the epoch of the account (the customer's, for an
	// assist session) the session was opened in: an event that ends
	// sessions opened before epoch N (events.Event.EndsBefore) ends this one
	// only when SessionEpoch < N.
	SessionEpoch int64
}

// EndedBy reports whether e, an event about p's account, ends p's session:
// e ends every session of the account opened before its epoch.
func (p Principal) EndedBy(e events.Event) bool {
	epoch, ok := e.EndsBefore()
	return ok && p.SessionEpoch < epoch
}

// Actor returns p as the actor of an audit record.
func (p Principal) Actor() audit.Actor {
	switch p.Kind {
	case KindOperator:
		return audit.Actor{Type: audit.ActorOperator, ID: p.OperatorID, DomainID: p.DomainID}
	case KindAssist:
		return audit.Actor{Type: audit.ActorOperator, ID: p.OperatorID, ActingFor: p.CustomerID, AssistID: p.AssistID, DomainID: p.DomainID}
	}
	return audit.Actor{Type: audit.ActorCustomer, ID: p.CustomerID, DomainID: p.DomainID}
}

// SecondFactorVerified reports whether p's sign-in passed a second factor.
func (p Principal) SecondFactorVerified() bool { return p.Scope == ScopeMFAVerified }

// Can reports whether p is an operator whose role grants perm.
func (p Principal) Can(perm operators.Permission) bool {
	return p.Kind == KindOperator && operators.Can(p.Role, perm)
}
