package operators

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/emails"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/names"
	"github.com/iotconsole/bff/internal/passwords"
)

// Service reads and manages operators, always within one domain.
type Service struct {
	store  Store
	hasher *passwords.Hasher
	policy passwords.Policy
	now    func() time.Time
}

// NewService returns a Service over store that hashes passwords with hasher
// under policy, on the clock now.
func NewService(store Store, hasher *passwords.Hasher, policy passwords.Policy, now func() time.Time) *Service {
	return &Service{store: store, hasher: hasher, policy: policy, now: now}
}

// Get returns operator id of domainID, or apperr.ErrNotFound when it does not
// exist or belongs to another domain.
func (s *Service) Get(ctx context.Context, domainID, id string) (Operator, error) {
	o, err := s.store.OperatorByID(ctx, id)
	if err := domains.Owned("operator", id, o.DomainID, domainID, err); err != nil {
		return Operator{}, err
	}
	return o, nil
}

// GetMany returns the operators ids of domainID, read from the store at
// once. The batch answers each id as Get would: another domain's operator is
// dropped and answers apperr.ErrOtherDomain (which reads as
// apperr.ErrNotFound), an unknown id apperr.ErrNotFound. It returns an
// error only when the store fails.
func (s *Service) GetMany(ctx context.Context, domainID string, ids []string) (domains.Batch[Operator], error) {
	ops, err := s.store.OperatorsByIDs(ctx, ids)
	if err != nil {
		return domains.Batch[Operator]{}, fmt.Errorf("operators: %w", err)
	}
	return domains.OwnedBatch("operator", domainID, ops, func(o Operator) (string, string) { return o.ID, o.DomainID }), nil
}

// MaxNameLength bounds an operator's display name, in characters after NFC
// normalisation.
const MaxNameLength = 100

// Draft is a new operator as a person or a tool described it, not yet checked.
type Draft struct {
	DomainID string
	Name     string
	Email    string
	Role     Role
	Password string
}

// Check returns d with its name and email as they are to be stored, or a
// *apperr.ValidationError for the first bad field: name (names.Clean), email
// (emails.Parse), role (SUPPORT or ADMIN) or password (policy, whose context
// words are the operator's email, its local part and name, PersonalWords,
// and domainWords: the domain's display name and slug, as far as known).
func (d Draft) Check(policy passwords.Policy, domainWords ...string) (Draft, error) {
	var err error
	if d.Name, err = names.Clean("name", d.Name, MaxNameLength); err != nil {
		return Draft{}, err
	}
	if d.Email, err = emails.Parse("email", d.Email); err != nil {
		return Draft{}, err
	}
	if !ValidRole(d.Role) {
		return Draft{}, apperr.Invalid("role", "INVALID", "The role is SUPPORT or ADMIN.")
	}
	if err := policy.Check("password", d.Password, passwords.Context{Account: PersonalWords(d.Name, d.Email), Domain: domainWords}); err != nil {
		return Draft{}, err
	}
	return d, nil
}

// PersonalWords returns what an operator's password must not be: the email,
// its local part and the name (with and without its spaces).
func PersonalWords(name, email string) []string {
	local, _, _ := strings.Cut(email, "@")
	return []string{email, local, name, strings.ReplaceAll(name, " ", "")}
}

// PasswordContext returns the context words of o's password (see
// passwords.Context): its PersonalWords and d's display name and slug.
func PasswordContext(o Operator, d domains.Domain) passwords.Context {
	return passwords.Context{Account: PersonalWords(o.Name, o.Email), Domain: []string{d.Name, d.Slug}}
}

// Create checks d (see Draft.Check, with the name and slug of the domain
// d.DomainID), stores it as an active operator of
// d.DomainID whose password is hashed with params, and records
// audit.ActionUserCreated by actor. It returns a *apperr.ValidationError for
// a bad field and apperr.ErrConflict (wrapped) when the email is taken in the
// domain; either way nothing is stored.
func (s *Service) Create(ctx context.Context, actor audit.Actor, d Draft, policy passwords.Policy, params passwords.Params, at time.Time) (Operator, error) {
	dom, err := s.store.DomainByID(ctx, d.DomainID)
	if err != nil {
		return Operator{}, fmt.Errorf("create operator: domain %s: %w", d.DomainID, err)
	}
	d, err = d.Check(policy, dom.Name, dom.Slug)
	if err != nil {
		return Operator{}, err
	}
	o := Operator{ID: ids.New(), DomainID: d.DomainID, Name: d.Name, Email: d.Email, Role: d.Role, Status: StatusActive,
		PasswordHash: passwords.Encode(params, d.Password), CreatedAt: at, UpdatedAt: at}
	if err := s.store.CreateOperator(ctx, o); err != nil {
		return Operator{}, fmt.Errorf("create operator %s: %w", o.Email, err)
	}
	actor.DomainID = o.DomainID
	audit.Append(ctx, s.store, at, actor.Record(audit.ActionUserCreated, audit.TargetOperator, o.ID, ""))
	return o, nil
}
