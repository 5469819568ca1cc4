// Package sessions signs principals in and out and turns a bearer token back
// into the principal it belongs to, checked against the current state of the
// account on every use.
package sessions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/emails"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/throttle"
	"github.com/iotconsole/bff/internal/tokens"
)

// Kind says what a session stands for.
type Kind string

// Session kinds.
const (
	KindOperator Kind = "operator"
	KindCustomer Kind = "customer"
	KindAssist   Kind = "assist"
)

// auditTarget is the audit target type of the account a session of kind k
// stands for.
func (k Kind) auditTarget() string {
	if k == KindOperator {
		return audit.TargetOperator
	}
	return audit.TargetCustomer
}

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
	// AssistID is the remote assistance an assist session belongs to.
	AssistID string
}

// Scope limits what a session may do.
type Scope string

// Scopes.
const (
	ScopeFull           Scope = ""
	ScopePasswordChange Scope = "password_change" // may only change the password (and sign out)
	// ScopeMFAVerified is a full operator session whose sign-in passed a
	// second factor.
	ScopeMFAVerified Scope = "mfa"
	// ScopeMFAEnroll is an operator session of a domain that requires a
	// second factor, for an operator without one: it may only enrol one.
	ScopeMFAEnroll Scope = "mfa_enroll"
	// ScopeMFAChallenge is no session: the proof that an operator's password
	// was right, which verifyOperatorMfa exchanges, with a code, for a
	// session within MFAChallengeTTL.
	ScopeMFAChallenge Scope = "mfa_challenge"
)

// Store is what the session service needs from storage.
type Store interface {
	DomainBySlug(ctx context.Context, slug string) (domains.Domain, error)
	DomainsByName(ctx context.Context, name string) ([]domains.Domain, error)
	DomainByID(ctx context.Context, id string) (domains.Domain, error)
	UpdateOperator(ctx context.Context, u operators.Update) (operators.Operator, error)
	OperatorByEmail(ctx context.Context, domainID, email string) (operators.Operator, error)
	OperatorByID(ctx context.Context, id string) (operators.Operator, error)
	CustomerByEmail(ctx context.Context, domainID, email string) (customers.Customer, error)
	CustomerByID(ctx context.Context, id string) (customers.Customer, error)
	UpdateCustomer(ctx context.Context, u customers.Update) (customers.Customer, error)
	// RehashPassword replaces a customer's password hash oldHash by
	// newHash, the same password hashed anew, if it still is oldHash; it is
	// no change of the customer (version, sessions and events stay).
	RehashPassword(ctx context.Context, customerID, oldHash, newHash string) error
	AppendAudit(ctx context.Context, r audit.Record) error
	AppendEvent(ctx context.Context, e events.Event) error
	AssistByID(ctx context.Context, id string) (assist.Session, error)
	AssistByTicket(ctx context.Context, ticketHash string) (assist.Session, error)
	UseTicket(ctx context.Context, id string) error

	// CreateSession stores s.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns apperr.ErrNotFound if no session has that token hash.
	SessionByHash(ctx context.Context, tokenHash string) (Session, error)
	// SessionAndOperator is SessionByHash that also returns, for an
	// operator's session, its operator's standing, read together (every
	// request's authentication); the zero OperatorStanding for another kind
	// of session or an operator that no longer exists.
	SessionAndOperator(ctx context.Context, tokenHash string) (Session, OperatorStanding, error)
	// OperatorSignedInUntil returns the latest expiry of operator
	// operatorID's sign-ins that began at or before since and are still live
	// at now (sessions not revoked, expiring after now; not its device
	// tokens, ScopeDevice, nor a sign-in waiting for its second factor,
	// ScopeMFAChallenge), or the zero time when it has none. A remote
	// assistance works while a sign-in its operator had when it started is
	// live (since is its start): signing in again after the last of them
	// expired does not bring it back.
	OperatorSignedInUntil(ctx context.Context, operatorID string, since, now time.Time) (time.Time, error)
	// RevokeSession marks one live session revoked; revoking a revoked session changes nothing.
	RevokeSession(ctx context.Context, tokenHash, reason string, at time.Time) error
	// DeleteExpiredSessions removes sessions that expired before t and returns how many.
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error)
}

// OperatorStanding is what authenticating an operator's session reads of
// the operator.
type OperatorStanding struct {
	ID           string
	Name         string
	Role         operators.Role
	Status       operators.Status
	SessionEpoch int64
	// DomainRequiresMFA is its domain's RequireOperatorMFA: an operator
	// session not opened with a second factor is then no longer valid.
	DomainRequiresMFA bool
}

// StandingOf returns op's standing in a domain that requires a second
// factor of its operators or not (domainRequiresMFA).
func StandingOf(op operators.Operator, domainRequiresMFA bool) OperatorStanding {
	return OperatorStanding{ID: op.ID, Name: op.Name, Role: op.Role, Status: op.Status, SessionEpoch: op.SessionEpoch, DomainRequiresMFA: domainRequiresMFA}
}

// Refused sign-ins are held (a tarpit).
const (
	// A refused attempt is answered after up to DefaultTarpit (its
	// remaining back-off; WithTarpit changes it), so a guesser's loop slows
	// to a crawl instead of costing the server thousands of cheap refusals
	// a second; at most tarpitSlots answers wait at once, later ones are
	// answered at once.
	DefaultTarpit = time.Second
	tarpitSlots   = 256
)

// Service signs operators and customers in and out and authenticates tokens.
type Service struct {
	store     Store
	hasher    *passwords.Hasher
	policy    passwords.Policy
	now       func() time.Time
	ttl       time.Duration
	dummyHash string            // verified against for unknown accounts, so they cost the same time
	throttles throttle.Store    // the limiters' counters (protection.go)
	accounts  *throttle.Backoff // failed sign-ins per account, per device token, second factors, current passwords
	clients   *throttle.Bucket  // failed sign-ins per client address
	exempt    []netip.Prefix    // client addresses without a budget
	tarpit    chan struct{}
	tarpitMax time.Duration
	// failureFloor is how long a failed sign-in takes at least (DefaultFailureFloor)
	failureFloor time.Duration
}

// NewService returns a Service whose sessions live for ttl and whose new
// passwords must pass policy; opts set where the sign-in limiters keep their
// counters and which addresses have no budget (protection.go).
func NewService(store Store, hasher *passwords.Hasher, policy passwords.Policy, now func() time.Time, ttl time.Duration, opts ...Option) *Service {
	s := &Service{
		store: store, hasher: hasher, policy: policy, now: now, ttl: ttl,
		dummyHash:    passwords.Encode(passwords.OWASP, tokens.New()),
		throttles:    throttle.NewMemory(),
		tarpit:       make(chan struct{}, tarpitSlots),
		tarpitMax:    DefaultTarpit,
		failureFloor: DefaultFailureFloor,
	}
	for _, o := range opts {
		o(s)
	}
	s.accounts = throttle.NewBackoff(s.throttles, freeFailuresPerAccount, backoffBase, backoffMax, backoffQuiet, now)
	s.clients = throttle.NewBucket(s.throttles, clientBudget, clientRefill, now)
	return s
}

// refuse answers an attempt made during back-off: apperr.ErrRateLimited,
// after holding the answer for up to the tarpit's maximum (DefaultTarpit).
func (s *Service) refuse(ctx context.Context, wait time.Duration) error {
	select {
	case s.tarpit <- struct{}{}:
		timer := time.NewTimer(min(wait, s.tarpitMax))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
		}
		<-s.tarpit
	default: // every slot busy: answer now rather than hold more goroutines
	}
	return apperr.RetryAfter(wait)
}

// NormalizeEmail returns email in the form emails are stored in
// (emails.Canonical).
func NormalizeEmail(email string) string {
	return emails.Canonical(email)
}

// account is what signing in needs to know of an operator or a customer.
type account struct {
	id, domainID, hash string
	active             bool
	epoch              int64 // the account's session epoch
}

// MFAChallengeTTL is how long the challenge of a right password stays
// usable for the second factor.
const MFAChallengeTTL = 5 * time.Minute

// OperatorSignInResult is the outcome of an operator's right password.
type OperatorSignInResult struct {
	Operator operators.Operator
	// Token is the new session, or "" when a second factor is required.
	Token string
	// Challenge is what verifyOperatorMfa exchanges, with a code, for the
	// session, when the operator has a second factor; "" otherwise.
	Challenge string
	// MustEnrollMFA: the domain requires a second factor and the operator
	// has none: the session may only enrol one.
	MustEnrollMFA bool
	// DeviceToken is the operator's device token (Credentials.DeviceToken):
	// the one presented when it was valid, else a new one; "" with a
	// Challenge or MustEnrollMFA: the password alone earns none
	// (DeviceTokenFor, after the second factor).
	DeviceToken string
}

// OperatorLogin is OperatorSignInWith without a device token.
func (s *Service) OperatorLogin(ctx context.Context, domainSlug, email, password string) (OperatorSignInResult, error) {
	return s.OperatorSignInWith(ctx, Credentials{Domain: domainSlug, Email: email, Password: password})
}

// OperatorSignInWith checks an operator's credentials and opens a session,
// or, for an operator with a second factor, a challenge (see
// OperatorSignInResult), with the operator's device token when the sign-in
// is complete (not with a challenge); see checkPassword for the errors.
func (s *Service) OperatorSignInWith(ctx context.Context, c Credentials) (OperatorSignInResult, error) {
	var op operators.Operator
	acct, presented, err := s.checkPassword(ctx, KindOperator, c, func(domainID, email string) (account, error) {
		var err error
		op, err = s.store.OperatorByEmail(ctx, domainID, email)
		return account{id: op.ID, domainID: op.DomainID, hash: op.PasswordHash, active: op.Status == operators.StatusActive, epoch: op.SessionEpoch}, err
	})
	if err != nil {
		return OperatorSignInResult{}, err
	}
	if op.TOTPEnabled() { // no device token before the second factor (verifyOperatorMfa hands it out)
		challenge, err := s.OperatorChallenge(ctx, op)
		return OperatorSignInResult{Operator: op, Challenge: challenge}, err
	}
	token, scope, err := s.OperatorSignIn(ctx, op, false)
	if err != nil {
		return OperatorSignInResult{}, err
	}
	if scope == ScopeMFAEnroll { // a session that may only set a second factor up: no device token for the password alone
		return OperatorSignInResult{Operator: op, Token: token, MustEnrollMFA: true}, nil
	}
	device, err := s.deviceToken(ctx, KindOperator, acct, presented)
	if err != nil {
		return OperatorSignInResult{}, err
	}
	return OperatorSignInResult{Operator: op, Token: token, DeviceToken: device}, nil
}

// OperatorChallenge returns a challenge for operator op, whose password the
// caller has established and who has a second factor: what
// VerifyOperatorMFA takes with a code, valid MFAChallengeTTL.
func (s *Service) OperatorChallenge(ctx context.Context, op operators.Operator) (string, error) {
	return s.openUntil(ctx, Session{Kind: KindOperator, DomainID: op.DomainID, SubjectID: op.ID, Epoch: op.SessionEpoch,
		Scope: ScopeMFAChallenge}, s.now().Add(MFAChallengeTTL))
}

// OperatorSignIn opens a session for operator op, whose identity the caller
// has established (its password checked, its setup link redeemed, its
// password changed just now; verified: with a second factor too), in op's
// current session epoch, and records the sign-in. The session's scope is
// ScopeMFAVerified when verified, ScopeMFAEnroll when op's domain requires
// a second factor op does not have, full otherwise. An operator with a
// second factor gets no session unverified (apperr.ErrUnauthenticated).
func (s *Service) OperatorSignIn(ctx context.Context, op operators.Operator, verified bool) (string, Scope, error) {
	scope := ScopeFull
	switch {
	case verified:
		scope = ScopeMFAVerified
	case op.TOTPEnabled():
		return "", "", fmt.Errorf("operator %s has a second factor: %w", op.ID, apperr.ErrUnauthenticated)
	default:
		d, err := s.store.DomainByID(ctx, op.DomainID)
		if err != nil {
			return "", "", err
		}
		if d.RequireOperatorMFA {
			scope = ScopeMFAEnroll
		}
	}
	token, err := s.open(ctx, Session{Kind: KindOperator, DomainID: op.DomainID, SubjectID: op.ID, Epoch: op.SessionEpoch, Scope: scope})
	if err != nil {
		return "", "", err
	}
	s.audit(ctx, audit.Record{DomainID: op.DomainID, ActorType: audit.ActorOperator, ActorID: op.ID, Action: audit.ActionLoginSuccess,
		TargetType: audit.TargetOperator, TargetID: op.ID, Outcome: audit.OutcomeSuccess})
	return token, scope, nil
}

// errBadChallenge answers a challenge that is unknown, used or expired.
var errBadChallenge = apperr.Invalid("challenge", "INVALID_CHALLENGE", "Sign in again: this sign-in has expired.")

// VerifyOperatorMFA exchanges challenge (from OperatorLogin) and code, a
// current TOTP code or a recovery code of the operator, for a session
// verified by a second factor; the code and the challenge are spent.
// Failed codes count against the operator as failed passwords do (a
// back-off, apperr.ErrRateLimited, audited). It returns INVALID_CHALLENGE
// or INVALID_CODE (*apperr.ValidationError) otherwise.
func (s *Service) VerifyOperatorMFA(ctx context.Context, challenge, code string) (string, operators.Operator, error) {
	sess, err := s.store.SessionByHash(ctx, tokens.Hash(challenge))
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && (sess.Scope != ScopeMFAChallenge || !sess.RevokedAt.IsZero() || !s.now().Before(sess.ExpiresAt))) {
		return "", operators.Operator{}, errBadChallenge
	}
	if err != nil {
		return "", operators.Operator{}, err
	}
	op, err := s.store.OperatorByID(ctx, sess.SubjectID)
	if err != nil || op.Status != operators.StatusActive || op.SessionEpoch != sess.Epoch {
		return "", operators.Operator{}, errBadChallenge
	}
	// The attempt is taken from the allowance before the code is checked
	// (atomically: codes racing cannot all pass before a failure counts).
	key := throttleKey("mfa", op.ID)
	held, refused, err := s.accounts.Reserve(ctx, key)
	if err != nil {
		return "", operators.Operator{}, err
	} else if refused > 0 {
		return "", operators.Operator{}, s.refuse(ctx, refused)
	}
	at := s.now()
	u, err := operators.SpendSecondFactor(op, code, at)
	if err == nil {
		u.ID, u.Version, u.At = op.ID, op.Version, at
		op, err = s.store.UpdateOperator(ctx, *u)
		if errors.Is(err, apperr.ErrConflict) { // the same code, twice at once: one wins
			err = apperr.Invalid("code", "INVALID_CODE", "This code was just used: wait for the next one.")
		}
	}
	var invalid *apperr.ValidationError
	if errors.As(err, &invalid) {
		s.audit(ctx, audit.Record{DomainID: op.DomainID, ActorType: audit.ActorAnonymous, Action: audit.ActionMFAFail,
			TargetType: audit.TargetOperator, TargetID: op.ID, Reason: "wrong second factor code: " + invalid.Code, Outcome: audit.OutcomeFailure})
		zerolog.Ctx(ctx).Warn().Str("op", audit.ActionMFAFail).Str("domain_id", op.DomainID).Str("target_id", op.ID).Str("reason", invalid.Code).
			Msg("second factor refused")
		if held.Backoff > 0 {
			s.lockedOut(ctx, op.DomainID, audit.TargetOperator, op.ID, held.Backoff, "failed second factor codes")
		}
		return "", operators.Operator{}, err
	}
	if err != nil {
		return "", operators.Operator{}, err
	}
	if err := s.accounts.Reset(ctx, key); err != nil {
		return "", operators.Operator{}, err
	}
	if err := s.store.RevokeSession(ctx, sess.TokenHash, RevokedLogout, at); err != nil {
		return "", operators.Operator{}, err
	}
	token, _, err := s.OperatorSignIn(ctx, op, true)
	return token, op, err
}

// CustomerLogin is CustomerSignInWith without a device token.
func (s *Service) CustomerLogin(ctx context.Context, domainSlug, email, password string) (string, customers.Customer, error) {
	res, err := s.CustomerSignInWith(ctx, Credentials{Domain: domainSlug, Email: email, Password: password})
	return res.Token, res.Customer, err
}

// CustomerSignInResult is the outcome of a customer's sign-in.
type CustomerSignInResult struct {
	Token    string // the new session
	Customer customers.Customer
	// DeviceToken is the customer's device token (Credentials.DeviceToken):
	// the one presented when it was valid, else a new one.
	DeviceToken string
}

// CustomerSignInWith checks a customer's credentials and opens a session,
// limited to changing the password when an operator asked for that, with
// the customer's device token; see checkPassword for the errors.
func (s *Service) CustomerSignInWith(ctx context.Context, cred Credentials) (CustomerSignInResult, error) {
	var c customers.Customer
	acct, presented, err := s.checkPassword(ctx, KindCustomer, cred, func(domainID, email string) (account, error) {
		var err error
		c, err = s.store.CustomerByEmail(ctx, domainID, email)
		return account{id: c.ID, domainID: c.DomainID, hash: c.PasswordHash, active: c.Status == customers.StatusActive, epoch: c.SessionEpoch}, err
	})
	if err != nil {
		return CustomerSignInResult{}, err
	}
	s.rehash(ctx, c, cred.Password)
	token, err := s.SignIn(ctx, c)
	if err != nil {
		return CustomerSignInResult{}, err
	}
	device, err := s.deviceToken(ctx, KindCustomer, acct, presented)
	if err != nil {
		return CustomerSignInResult{}, err
	}
	return CustomerSignInResult{Token: token, Customer: c, DeviceToken: device}, nil
}

// rehash stores c's password, just verified, hashed with the service's own
// parameters when its hash is of another kind (an imported customer's first
// sign-in) or has older parameters. A failure is logged and the sign-in goes
// on: the old hash still verifies.
func (s *Service) rehash(ctx context.Context, c customers.Customer, password string) {
	if !s.hasher.NeedsRehash(c.PasswordHash) {
		return
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.store.RehashPassword(ctx, c.ID, c.PasswordHash, hash)
	}
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("customer_id", c.ID).Msg("password not rehashed")
	}
}

// SignIn opens a session for customer c, whose identity the caller has
// established (its password checked, or the account just created by its
// owner), and records the sign-in. The session may only change the
// password when c must choose a new one.
func (s *Service) SignIn(ctx context.Context, c customers.Customer) (string, error) {
	sess := Session{Kind: KindCustomer, DomainID: c.DomainID, SubjectID: c.ID, Epoch: c.SessionEpoch}
	if c.MustChangePassword {
		sess.Scope = ScopePasswordChange
	}
	token, err := s.open(ctx, sess)
	if err != nil {
		return "", err
	}
	s.audit(ctx, audit.Record{DomainID: c.DomainID, ActorType: audit.ActorCustomer, ActorID: c.ID, Action: audit.ActionLoginSuccess,
		TargetType: audit.TargetCustomer, TargetID: c.ID, Outcome: audit.OutcomeSuccess})
	return token, nil
}

// ConfirmPassword checks that current is the password of p, a customer
// signed in with its own session, before an action that asks for it again
// (action: audit.ActionPasswordChange, audit.ActionUserDeleted), and
// returns the customer as stored. Attempts are throttled per customer, one
// allowance for every such action, and back off like sign-ins; a wrong
// password is audited under action as a failure and answers
// INVALID_CREDENTIALS on currentPassword (a *apperr.ValidationError), a
// back-off apperr.RateLimited. Operators and assist sessions get
// apperr.ErrForbidden.
func (s *Service) ConfirmPassword(ctx context.Context, p Principal, current, action string) (customers.Customer, error) {
	if p.Kind != KindCustomer {
		return customers.Customer{}, fmt.Errorf("%s as %s: %w", action, p.Kind, apperr.ErrForbidden)
	}
	// The attempt is taken from the allowance before the current password
	// is hashed (atomically: checks racing cannot all pass).
	accountKey := throttleKey("change", p.CustomerID)
	held, refused, err := s.accounts.Reserve(ctx, accountKey)
	if err != nil {
		return customers.Customer{}, err
	} else if refused > 0 {
		return customers.Customer{}, s.refuse(ctx, refused)
	}
	c, err := s.store.CustomerByID(ctx, p.CustomerID)
	if err != nil {
		return customers.Customer{}, err
	}
	ok, err := s.hasher.Verify(ctx, c.PasswordHash, current)
	if err != nil {
		return customers.Customer{}, err
	}
	if !ok {
		rec := p.Actor().Record(action, audit.TargetCustomer, c.ID, "wrong current password")
		rec.Outcome = audit.OutcomeFailure
		s.audit(ctx, rec)
		zerolog.Ctx(ctx).Warn().Str("op", rec.Action).Msg("refused: wrong current password") // the request's logger names the customer
		if held.Backoff > 0 {
			s.lockedOut(ctx, c.DomainID, audit.TargetCustomer, c.ID, held.Backoff, "wrong current passwords")
		}
		return customers.Customer{}, apperr.Invalid("currentPassword", "INVALID_CREDENTIALS", "The current password is incorrect.")
	}
	if err := s.accounts.Reset(ctx, accountKey); err != nil {
		return customers.Customer{}, err
	}
	return c, nil
}

// ChangePassword sets a signed-in customer's new password after checking the
// current one (throttled like sign-in), ends every other session of the
// customer and returns a new token for this one. Wrong current passwords,
// the current password again (passwords.ErrSamePassword: a forced change
// must change it) and policy failures are *apperr.ValidationError; assist
// sessions get apperr.ErrForbidden.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) (string, customers.Customer, error) {
	c, err := s.ConfirmPassword(ctx, p, current, audit.ActionPasswordChange)
	if err != nil {
		return "", customers.Customer{}, err
	}
	if next == current { // the current password is right: the new one would be it again
		return "", customers.Customer{}, passwords.ErrSamePassword
	}
	d, err := s.store.DomainByID(ctx, c.DomainID)
	if err != nil {
		return "", customers.Customer{}, err
	}
	if err := s.policy.ForDomain(d.PasswordMinLength).Check("newPassword", next, customers.PasswordContext(c, d)); err != nil {
		return "", customers.Customer{}, err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return "", customers.Customer{}, err
	}
	at, mustChange := s.now(), false
	actor := p.Actor()
	// The session that replaces this one is named in the event, so that
	// instances close every socket of the customer but its own.
	token := tokens.New()
	c, err = s.store.UpdateCustomer(ctx, customers.Update{
		ID: c.ID, Version: c.Version, PasswordHash: &hash, MustChangePassword: &mustChange, EndSessions: true, At: at,
		Audit: customers.AuditRecord(actor, audit.ActionPasswordChange, c.ID, "", at, audit.RequestID(ctx)),
		Events: []events.Event{{ID: ids.New(), DomainID: c.DomainID, Type: events.SessionRevoked, CustomerID: c.ID, ActorID: c.ID,
			Data: map[string]string{events.KeyReason: "password_changed", events.KeyKeepSession: tokens.Hash(token),
				events.KeyEpoch: strconv.FormatInt(c.SessionEpoch+1, 10)}, OccurredAt: at}},
	})
	if err != nil {
		return "", customers.Customer{}, err
	}
	sess := Session{Kind: KindCustomer, DomainID: c.DomainID, SubjectID: c.ID, Epoch: c.SessionEpoch}
	if err := s.openToken(ctx, token, sess, s.now().Add(s.ttl)); err != nil {
		return "", customers.Customer{}, err
	}
	return token, c, nil
}

// errBadTicket is the one answer for a ticket that cannot be redeemed,
// whatever the reason, so a guesser learns nothing.
var errBadTicket = apperr.Invalid("ticket", "INVALID", "This assistance link is invalid, used or expired. Start the assistance again.")

// RedeemAssistTicket turns a one-time assist ticket into an assist session
// token that runs as the customer, with the operator as the actor, until the
// assistance ends. An unknown, used or expired ticket, an assistance that has
// ended, or a customer that is no longer active all give one
// *apperr.ValidationError.
func (s *Service) RedeemAssistTicket(ctx context.Context, ticket string) (string, assist.Session, error) {
	a, err := s.store.AssistByTicket(ctx, tokens.Hash(ticket))
	if errors.Is(err, apperr.ErrNotFound) {
		return "", assist.Session{}, errBadTicket
	}
	if err != nil {
		return "", assist.Session{}, err
	}
	now := s.now()
	if a.TicketUsed || !now.Before(a.TicketExpiresAt) || a.Current(now) != assist.StateActive {
		return "", assist.Session{}, errBadTicket
	}
	c, err := s.store.CustomerByID(ctx, a.CustomerID)
	if err != nil {
		return "", assist.Session{}, err
	}
	if c.Status != customers.StatusActive {
		return "", assist.Session{}, errBadTicket
	}
	// Its operator's sign-ins of its start have all expired: the assistance
	// is over (Authenticate would refuse the token at once; the sweeper
	// records the end).
	if signedIn, err := s.store.OperatorSignedInUntil(ctx, a.OperatorID, a.StartedAt, now); err != nil || signedIn.IsZero() {
		return "", assist.Session{}, cmp.Or(err, errBadTicket)
	}
	if err := s.store.UseTicket(ctx, a.ID); errors.Is(err, apperr.ErrConflict) {
		return "", assist.Session{}, errBadTicket
	} else if err != nil {
		return "", assist.Session{}, err
	}
	token, err := s.openUntil(ctx, Session{Kind: KindAssist, DomainID: a.DomainID, SubjectID: a.CustomerID, ActorID: a.OperatorID,
		Epoch: c.SessionEpoch, AssistID: a.ID}, a.ExpiresAt)
	if err != nil {
		return "", assist.Session{}, err
	}
	s.audit(ctx, audit.Record{DomainID: a.DomainID, ActorType: audit.ActorOperator, ActorID: a.OperatorID, ActingFor: a.CustomerID,
		AssistID: a.ID, Action: audit.ActionAssistRedeemed, TargetType: audit.TargetCustomer, TargetID: a.CustomerID, Outcome: audit.OutcomeSuccess})
	return token, a, nil
}

func (s *Service) open(ctx context.Context, sess Session) (string, error) {
	return s.openUntil(ctx, sess, s.now().Add(s.ttl))
}

func (s *Service) openUntil(ctx context.Context, sess Session, expires time.Time) (string, error) {
	token := tokens.New()
	if err := s.openToken(ctx, token, sess, expires); err != nil {
		return "", err
	}
	return token, nil
}

// openToken stores sess for a token from tokens.New, until expires.
func (s *Service) openToken(ctx context.Context, token string, sess Session, expires time.Time) error {
	sess.TokenHash = tokens.Hash(token)
	sess.CreatedAt = s.now()
	sess.ExpiresAt = expires
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Authenticate returns the principal a token stands for, checked against the
// current state of its account. It returns apperr.ErrUnauthenticated for an
// unknown, expired or revoked token, and apperr.ErrAccountDisabled when the
// account behind it is disabled or the session was revoked because it was.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	sess, op, err := s.store.SessionAndOperator(ctx, tokens.Hash(token))
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
	if !s.now().Before(sess.ExpiresAt) || sess.Scope == ScopeDevice { // a device token is no session
		return Principal{}, apperr.ErrUnauthenticated
	}
	p := Principal{Kind: sess.Kind, TokenHash: sess.TokenHash, DomainID: sess.DomainID, ExpiresAt: sess.ExpiresAt, SessionEpoch: sess.Epoch}
	switch sess.Kind {
	case KindOperator:
		if op.ID == "" {
			return Principal{}, apperr.ErrUnauthenticated // the operator no longer exists
		}
		if op.Status != operators.StatusActive {
			return Principal{}, apperr.ErrOperatorDisabled
		}
		if sess.Epoch != op.SessionEpoch || sess.Scope == ScopeMFAChallenge { // ended (role lowered, password changed, ...), or no session
			return Principal{}, apperr.ErrUnauthenticated
		}
		if sess.Scope == ScopeFull && op.DomainRequiresMFA {
			// Opened without a second factor before the domain required
			// one: ended, so that the requirement holds at once; a new
			// sign-in asks for the code, or to set an app up.
			return Principal{}, apperr.ErrUnauthenticated
		}
		p.OperatorID, p.Role, p.DisplayName, p.Scope = op.ID, op.Role, op.Name, sess.Scope
	case KindCustomer:
		c, err := s.store.CustomerByID(ctx, sess.SubjectID)
		if err != nil {
			return Principal{}, accountGone(err)
		}
		if c.Status != customers.StatusActive {
			return Principal{}, apperr.ErrAccountDisabled
		}
		if sess.Epoch != c.SessionEpoch {
			return Principal{}, apperr.ErrUnauthenticated // ended by a password reset, change or disabling
		}
		p.CustomerID, p.DisplayName, p.Scope = c.ID, c.FirstName+" "+c.LastName, sess.Scope
	case KindAssist:
		c, err := s.store.CustomerByID(ctx, sess.SubjectID)
		if err != nil {
			return Principal{}, accountGone(err)
		}
		if c.Status != customers.StatusActive || sess.Epoch != c.SessionEpoch {
			return Principal{}, apperr.ErrUnauthenticated // the assistance ended with the customer's sessions
		}
		a, err := s.store.AssistByID(ctx, sess.AssistID)
		if err != nil {
			return Principal{}, accountGone(err)
		}
		if a.Current(s.now()) != assist.StateActive {
			return Principal{}, apperr.ErrUnauthenticated
		}
		op, err := s.store.OperatorByID(ctx, a.OperatorID)
		if err != nil {
			return Principal{}, accountGone(err)
		}
		if op.Status != operators.StatusActive {
			return Principal{}, apperr.ErrUnauthenticated
		}
		// The assistance works while its operator is signed in: signing out
		// ends it (Logout), and so does the expiry of the last sign-in the
		// operator had when it started (the assist sweeper records it).
		signedIn, err := s.store.OperatorSignedInUntil(ctx, op.ID, a.StartedAt, s.now())
		if err != nil {
			return Principal{}, fmt.Errorf("load account: %w", err)
		}
		if signedIn.IsZero() {
			return Principal{}, apperr.ErrUnauthenticated
		}
		p.CustomerID, p.OperatorID, p.AssistID, p.DisplayName = c.ID, op.ID, a.ID, c.FirstName+" "+c.LastName
		for _, end := range []time.Time{a.ExpiresAt, signedIn} {
			if end.Before(p.ExpiresAt) {
				p.ExpiresAt = end
			}
		}
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
	actor := p.Actor()
	s.audit(ctx, actor.Record(audit.ActionLogout, string(p.Kind), actor.ID, ""))
	// Every instance closes the session's WebSockets when the event reaches
	// it. No customer id: the customer's other sessions need not hear of it.
	ended := events.Event{ID: ids.New(), DomainID: p.DomainID, Type: events.SessionRevoked, ActorID: actor.ID,
		Data: map[string]string{events.KeySession: p.TokenHash, events.KeyReason: "logout"}, OccurredAt: s.now()}
	if err := s.store.AppendEvent(ctx, ended); err != nil {
		// The session is revoked: its token fails at the next operation anyway.
		zerolog.Ctx(ctx).Error().Err(err).Msg("session end event not written")
	}
	return nil
}

// SweepExpired deletes sessions (and device tokens) that have expired, and
// the sign-in limiters' counters that no longer limit anything, and returns
// how many sessions it deleted.
func (s *Service) SweepExpired(ctx context.Context) (int64, error) {
	if _, err := s.throttles.DeleteExpiredThrottles(ctx, s.now()); err != nil {
		return 0, err
	}
	return s.store.DeleteExpiredSessions(ctx, s.now())
}

// audit writes r with audit.Append: a sign-in must not fail because its
// audit record could not be written.
func (s *Service) audit(ctx context.Context, r audit.Record) {
	audit.Append(ctx, s.store, s.now(), r)
}
