// Package sessions signs principals in and out and turns a bearer token back
// into the principal it belongs to, checked against the current state of the
// account on every use.
package sessions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
)

// Kind says what a session stands for.
type Kind string

// Session kinds.
const (
	KindOperator Kind = "operator"
	KindCustomer Kind = "customer"
	KindAssist   Kind = "assist"
)

// Revoke reasons, stored with a revoked session so that its next use says why.
const (
	RevokedLogout          = "logout"
	RevokedAccountDisabled = "account_disabled"
	RevokedPasswordReset   = "password_reset"
)

// Session is a signed-in principal. Only the SHA-256 of its token is stored.
type Session struct {
	TokenHash    string
	Kind         Kind
	DomainID     string
	SubjectID    string // operator id for operator sessions, customer id otherwise
	ActorID      string // the assisting operator, for assist sessions
	CreatedAt    time.Time
	ExpiresAt    time.Time
	RevokedAt    time.Time // zero while the session is live
	RevokeReason string
	// Epoch is the customer's SessionEpoch when the session opened; the
	// session ends when the customer's epoch moves on.
	Epoch int64
	Scope Scope
}

// Scope limits what a session may do.
type Scope string

// Scopes.
const (
	ScopeFull           Scope = ""
	ScopePasswordChange Scope = "password_change" // may only change the password (and sign out)
)

// Store is what the session service needs from storage.
type Store interface {
	DomainBySlug(ctx context.Context, slug string) (domains.Domain, error)
	OperatorByEmail(ctx context.Context, domainID, email string) (operators.Operator, error)
	OperatorByID(ctx context.Context, id string) (operators.Operator, error)
	CustomerByID(ctx context.Context, id string) (customers.Customer, error)
	AppendAudit(ctx context.Context, r audit.Record) error

	// CreateSession stores s.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns apperr.ErrNotFound if no session has that token hash.
	SessionByHash(ctx context.Context, tokenHash string) (Session, error)
	// RevokeSession marks one live session revoked; revoking a revoked session changes nothing.
	RevokeSession(ctx context.Context, tokenHash, reason string, at time.Time) error
	// DeleteExpiredSessions removes sessions that expired before t and returns how many.
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error)
}

// Service signs operators in and out and authenticates tokens.
type Service struct {
	store     Store
	hasher    *passwords.Hasher
	now       func() time.Time
	ttl       time.Duration
	dummyHash string // verified against for unknown accounts, so they cost the same time
}

// NewService returns a Service whose sessions live for ttl.
func NewService(store Store, hasher *passwords.Hasher, now func() time.Time, ttl time.Duration) *Service {
	return &Service{store: store, hasher: hasher, now: now, ttl: ttl, dummyHash: passwords.Encode(passwords.OWASP, NewToken())}
}

// NewToken returns a new random 256-bit token, base64url without padding.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken returns the hex SHA-256 of token, the only form a token is stored in.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// OperatorLogin checks an operator's credentials and opens a session. It
// returns apperr.ErrInvalidCredentials for an unknown domain, unknown email or
// wrong password alike, apperr.ErrAccountDisabled only when the password is
// right but the operator is disabled, and apperr.ErrRateLimited when hashing
// is saturated.
func (s *Service) OperatorLogin(ctx context.Context, domainSlug, email, password string) (string, operators.Operator, error) {
	op, err := s.findOperator(ctx, domainSlug, email)
	if errors.Is(err, apperr.ErrNotFound) {
		if _, err := s.hasher.Verify(ctx, s.dummyHash, password); err != nil {
			return "", operators.Operator{}, err
		}
		s.audit(ctx, audit.Record{ActorType: audit.ActorAnonymous, Action: audit.ActionLoginFail, TargetType: "operator", Reason: "unknown account", Outcome: audit.OutcomeFailure})
		return "", operators.Operator{}, apperr.ErrInvalidCredentials
	}
	if err != nil {
		return "", operators.Operator{}, err
	}
	ok, err := s.hasher.Verify(ctx, op.PasswordHash, password)
	if err != nil {
		return "", operators.Operator{}, fmt.Errorf("verify operator %s: %w", op.ID, err)
	}
	failure := audit.Record{DomainID: op.DomainID, ActorType: audit.ActorAnonymous, Action: audit.ActionLoginFail, TargetType: "operator", TargetID: op.ID, Outcome: audit.OutcomeFailure}
	if !ok {
		failure.Reason = "wrong password"
		s.audit(ctx, failure)
		return "", operators.Operator{}, apperr.ErrInvalidCredentials
	}
	if op.Status != operators.StatusActive {
		failure.Reason = "account disabled"
		s.audit(ctx, failure)
		return "", operators.Operator{}, apperr.ErrAccountDisabled
	}
	token, err := s.open(ctx, Session{Kind: KindOperator, DomainID: op.DomainID, SubjectID: op.ID})
	if err != nil {
		return "", operators.Operator{}, err
	}
	s.audit(ctx, audit.Record{DomainID: op.DomainID, ActorType: audit.ActorOperator, ActorID: op.ID, Action: audit.ActionLoginSuccess, TargetType: "operator", TargetID: op.ID, Outcome: audit.OutcomeSuccess})
	return token, op, nil
}

func (s *Service) findOperator(ctx context.Context, domainSlug, email string) (operators.Operator, error) {
	d, err := s.store.DomainBySlug(ctx, strings.ToLower(strings.TrimSpace(domainSlug)))
	if err != nil {
		return operators.Operator{}, err
	}
	return s.store.OperatorByEmail(ctx, d.ID, NormalizeEmail(email))
}

// NormalizeEmail returns email trimmed and in lower case, the form emails are stored in.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

func (s *Service) open(ctx context.Context, sess Session) (string, error) {
	token := NewToken()
	sess.TokenHash = HashToken(token)
	sess.CreatedAt = s.now()
	sess.ExpiresAt = sess.CreatedAt.Add(s.ttl)
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// Authenticate returns the principal a token stands for, checked against the
// current state of its account. It returns apperr.ErrUnauthenticated for an
// unknown, expired or revoked token, and apperr.ErrAccountDisabled when the
// account behind it is disabled or the session was revoked because it was.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	sess, err := s.store.SessionByHash(ctx, HashToken(token))
	if errors.Is(err, apperr.ErrNotFound) {
		return Principal{}, apperr.ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("load session: %w", err)
	}
	if !sess.RevokedAt.IsZero() {
		if sess.RevokeReason == RevokedAccountDisabled {
			return Principal{}, apperr.ErrAccountDisabled
		}
		return Principal{}, apperr.ErrUnauthenticated
	}
	if !s.now().Before(sess.ExpiresAt) {
		return Principal{}, apperr.ErrUnauthenticated
	}
	p := Principal{Kind: sess.Kind, TokenHash: sess.TokenHash, DomainID: sess.DomainID}
	switch sess.Kind {
	case KindOperator:
		op, err := s.store.OperatorByID(ctx, sess.SubjectID)
		if err != nil {
			return Principal{}, accountGone(err)
		}
		if op.Status != operators.StatusActive {
			return Principal{}, apperr.ErrAccountDisabled
		}
		p.OperatorID, p.Role, p.DisplayName = op.ID, op.Role, op.Name
	case KindCustomer:
		c, err := s.store.CustomerByID(ctx, sess.SubjectID)
		if err != nil {
			return Principal{}, accountGone(err)
		}
		if c.Status != customers.StatusActive {
			return Principal{}, apperr.ErrAccountDisabled
		}
		p.CustomerID, p.DisplayName = c.ID, c.FirstName+" "+c.LastName
	default:
		return Principal{}, apperr.ErrUnauthenticated
	}
	return p, nil
}

func accountGone(err error) error {
	if errors.Is(err, apperr.ErrNotFound) {
		return apperr.ErrUnauthenticated
	}
	return fmt.Errorf("load account: %w", err)
}

// Logout revokes the session p came with.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if err := s.store.RevokeSession(ctx, p.TokenHash, RevokedLogout, s.now()); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	actorType, actorID := audit.ActorCustomer, p.CustomerID
	if p.Kind == KindOperator {
		actorType, actorID = audit.ActorOperator, p.OperatorID
	}
	s.audit(ctx, audit.Record{DomainID: p.DomainID, ActorType: actorType, ActorID: actorID, Action: audit.ActionLogout, TargetType: string(p.Kind), TargetID: actorID, Outcome: audit.OutcomeSuccess})
	return nil
}

// SweepExpired deletes sessions that have expired and returns how many.
func (s *Service) SweepExpired(ctx context.Context) (int64, error) {
	return s.store.DeleteExpiredSessions(ctx, s.now())
}

// audit writes r. A sign-in must not fail because its audit record could not
// be written, so the failure is logged and the sign-in goes on.
func (s *Service) audit(ctx context.Context, r audit.Record) {
	r.ID = ids.New()
	r.At = s.now()
	r.RequestID = audit.RequestID(ctx)
	if err := s.store.AppendAudit(ctx, r); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str("op", r.Action).Msg("audit record not written")
	}
}
