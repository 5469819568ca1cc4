// Package operators describes the support staff of a domain, their roles and
// what each role may do.
package operators

import (
	"context"
	"slices"
	"time"

	"github.com/iotconsole/bff/internal/audit"
)

// Role is an operator's role within its domain.
type Role string

// Roles.
const (
	RoleSupport Role = "SUPPORT"
	RoleAdmin   Role = "ADMIN"
)

// Status says whether an operator may sign in.
type Status string

// Statuses.
const (
	StatusActive   Status = "ACTIVE"
	StatusDisabled Status = "DISABLED"
)

// Permission is one thing an operator may be allowed to do.
type Permission string

// Permissions. The matrix below is the only place that grants them.
const (
	PermSearchCustomers  Permission = "SEARCH_CUSTOMERS"
	PermViewCustomer     Permission = "VIEW_CUSTOMER"
	PermResetPassword    Permission = "RESET_PASSWORD"
	PermRemoteAssist     Permission = "REMOTE_ASSIST"
	PermSetAccountStatus Permission = "SET_ACCOUNT_STATUS"
	PermViewAuditLog     Permission = "VIEW_AUDIT_LOG"
	PermManageOperators  Permission = "MANAGE_OPERATORS"
	// PermEndAnyAssist ends another operator's remote assistance (its own
	// operator may always end one).
	PermEndAnyAssist Permission = "END_ANY_ASSIST"
	// PermUsePlayground uses the admin playground, the one endpoint that
	// answers introspection.
	PermUsePlayground Permission = "USE_PLAYGROUND"
	// PermEditCustomer creates customer accounts and corrects their profiles.
	PermEditCustomer Permission = "EDIT_CUSTOMER"
	// PermDeleteCustomer erases a customer: its account, devices, sessions
	// and personal data (internal/customers Service.Delete).
	PermDeleteCustomer Permission = "DELETE_CUSTOMER"
)

var supportPermissions = []Permission{PermSearchCustomers, PermViewCustomer, PermResetPassword, PermRemoteAssist, PermEditCustomer}

// permissions is deny-by-default: a role or permission missing here grants nothing.
var permissions = map[Role][]Permission{
	RoleSupport: supportPermissions,
	RoleAdmin: append(slices.Clone(supportPermissions), PermSetAccountStatus, PermViewAuditLog, PermManageOperators,
		PermEndAnyAssist, PermUsePlayground, PermDeleteCustomer),
}

// Permissions returns what role may do, in a stable order.
func Permissions(role Role) []Permission {
	return slices.Clone(permissions[role])
}

// Can reports whether role grants p.
func Can(role Role, p Permission) bool {
	return slices.Contains(permissions[role], p)
}

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool {
	_, ok := permissions[r]
	return ok
}

// Operator is a member of a domain's support team.
type Operator struct {
	ID           string
	DomainID     string
	Name         string
	Email        string
	Role         Role
	Status       Status
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Store persists operators.
type Store interface {
	// CreateOperator stores o. It returns apperr.ErrConflict if the email is taken in the domain.
	CreateOperator(ctx context.Context, o Operator) error
	// OperatorByEmail returns apperr.ErrNotFound if the domain has no operator with that (lower-case) email.
	OperatorByEmail(ctx context.Context, domainID, email string) (Operator, error)
	// OperatorByID returns apperr.ErrNotFound if no operator has that id.
	OperatorByID(ctx context.Context, id string) (Operator, error)
	// OperatorsByIDs returns the operators that have one of ids, each once,
	// in no particular order, whatever their domain: ids that match nothing
	// are absent. It reads the store once (a few times for thousands of ids).
	OperatorsByIDs(ctx context.Context, ids []string) ([]Operator, error)
	// AppendAudit stores an audit record (of an operator's creation).
	AppendAudit(ctx context.Context, r audit.Record) error
}
