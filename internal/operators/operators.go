// Package operators describes the support staff of a domain, their roles and
// what each role may do.
package operators

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
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
	// PermManageDomain changes the domain's settings.
	PermManageDomain Permission = "MANAGE_DOMAIN"
)

var supportPermissions = []Permission{PermSearchCustomers, PermViewCustomer, PermResetPassword, PermRemoteAssist, PermEditCustomer}

// permissions is deny-by-default: a role or permission missing here grants nothing.
var permissions = map[Role][]Permission{
	RoleSupport: supportPermissions,
	RoleAdmin: append(slices.Clone(supportPermissions), PermSetAccountStatus, PermViewAuditLog, PermManageOperators,
		PermEndAnyAssist, PermUsePlayground, PermDeleteCustomer, PermManageDomain),
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
	PasswordHash string // "" until the operator completes its setup
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Version grows by one with every change; updates are conditional on it.
	Version int64
	// SessionEpoch grows whenever every session of the operator must end: a
	// session is valid only while the epoch it was opened in is current.
	SessionEpoch int64
	// SetupTicketHash is the hash (tokens.Hash) of the ticket of the
	// operator's one-time setup link, "" when it has none; SetupExpiresAt
	// is when the link stops working.
	SetupTicketHash string
	SetupExpiresAt  time.Time
	// TOTPSecret is the base32 secret of the operator's confirmed second
	// factor ("" for none); TOTPPendingSecret the one being enrolled, until
	// a code confirms it; TOTPLastStep the last time step a code was
	// accepted for (RFC 6238: a code works once).
	TOTPSecret        string
	TOTPPendingSecret string
	TOTPLastStep      int64
	// RecoveryCodeHashes are the hashes (mfa.NewRecoveryCodes) of the
	// recovery codes not used yet.
	RecoveryCodeHashes []string
}

// TOTPEnabled reports whether o signs in with a second factor.
func (o Operator) TOTPEnabled() bool { return o.TOTPSecret != "" }

// SetupPending reports whether o has no password yet: invited, or its
// setup link reissued, and not yet set up.
func (o Operator) SetupPending() bool { return o.PasswordHash == "" }

// ErrLastAdmin is a store's refusal of an Update with KeepAnAdmin when no
// other operator of the domain is an active ADMIN; nothing is written.
var ErrLastAdmin = errors.New("the domain's last active ADMIN")

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
	// DomainByID returns apperr.ErrNotFound if no domain has that id.
	DomainByID(ctx context.Context, id string) (domains.Domain, error)
	// FindOperators returns up to q.Limit operators of q.DomainID that q
	// selects, in email order after q.AfterEmail.
	FindOperators(ctx context.Context, q Query) ([]Operator, error)
	// OperatorBySetupTicket returns apperr.ErrNotFound if no operator has
	// that setup ticket hash.
	OperatorBySetupTicket(ctx context.Context, ticketHash string) (Operator, error)
	// CountOperators returns how many operators of the domain have role and status.
	CountOperators(ctx context.Context, domainID string, role Role, status Status) (int64, error)
	// UpdateOperator applies u if the operator is still at u.Version,
	// together with u's audit record and events, and returns the operator as
	// changed. It returns apperr.ErrConflict when the version moved (or,
	// for u.KeepAnAdmin, another such change of the domain is being
	// written), ErrLastAdmin (see Update.KeepAnAdmin) and
	// apperr.ErrNotFound for no such operator; nothing is written then.
	UpdateOperator(ctx context.Context, u Update) (Operator, error)
}

// Query selects operators of a domain.
type Query struct {
	DomainID   string
	Text       string // lower case; "" for all, else a substring of the name (ASCII case aside) or the email
	Role       Role   // "" for any
	Status     Status // "" for any
	AfterEmail string // the page starts after this email; "" for the first page
	Limit      int
}

// Update is one change of an operator; nil fields stay as they are.
type Update struct {
	ID              string
	Version         int64 // the version the change was decided on
	Name            *string
	Role            *Role
	Status          *Status
	PasswordHash    *string
	SetupTicketHash *string
	SetupExpiresAt  *time.Time
	EndSessions     bool // advance SessionEpoch
	// KeepAnAdmin marks a change that takes an active ADMIN's powers away
	// (disabling, or a lower role): the store writes it only if another
	// operator of the domain is an active ADMIN as it writes, deciding
	// one such change of a domain at a time, and returns ErrLastAdmin
	// otherwise. (Two ADMINs disabling each other at once both passed a
	// count read before either write.)
	KeepAnAdmin bool
	// The second factor; an empty RecoveryCodeHashes slice (not nil) removes them all.
	TOTPSecret         *string
	TOTPPendingSecret  *string
	TOTPLastStep       *int64
	RecoveryCodeHashes *[]string
	At                 time.Time
	Audit              audit.Record
	Events             []events.Event
}
