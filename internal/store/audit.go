package store

import "github.com/iotconsole/bff/internal/audit"

// An audit filter is a rule about which audit records a query selects, said
// once here in terms of the records' fields; each store translates it into
// its own query language (auditFilterSQL in sqlite, auditFilterBSON in mongo)
// and the contract suite (storetest) checks both against Match.

// AuditField is a field of audit.Record that an AuditFilter compares.
type AuditField int

// The fields an AuditFilter compares.
const (
	AuditTargetType AuditField = iota + 1
	AuditTargetID
	AuditActingFor
	AuditActorType
	AuditActorID
)

// Of returns the value of the field in r. It panics for a field that is
// not one of the constants above.
func (f AuditField) Of(r audit.Record) string {
	switch f {
	case AuditTargetType:
		return r.TargetType
	case AuditTargetID:
		return r.TargetID
	case AuditActingFor:
		return r.ActingFor
	case AuditActorType:
		return r.ActorType
	case AuditActorID:
		return r.ActorID
	}
	panic("store: unknown audit field")
}

// AuditEqual compares one field with a value.
type AuditEqual struct {
	Field AuditField
	Value string
}

// AuditFilter selects the audit records that, for any one of its clauses,
// hold every comparison of the clause: an OR of ANDs. It has at least one
// clause, and every clause at least one comparison.
type AuditFilter [][]AuditEqual

// Match reports whether f selects r.
func (f AuditFilter) Match(r audit.Record) bool {
	for _, clause := range f {
		all := true
		for _, eq := range clause {
			all = all && eq.Field.Of(r) == eq.Value
		}
		if all {
			return true
		}
	}
	return false
}

// AboutCustomer returns the filter of audit.Query.CustomerID, the one rule
// of "records about a customer" (the auditLog's customerId argument and a
// customer's activity): the records whose target is the customer's account
// (sign-ins, password changes and resets, status changes, remote
// assistance), the records done as the customer by an operator assisting
// it (ActingFor), and the records of what the customer did itself, whatever
// their target (a change of its own device names the customer only as its
// actor).
func AboutCustomer(customerID string) AuditFilter {
	return AuditFilter{
		{{AuditTargetType, audit.TargetCustomer}, {AuditTargetID, customerID}},
		{{AuditActingFor, customerID}},
		{{AuditActorType, audit.ActorCustomer}, {AuditActorID, customerID}},
	}
}
