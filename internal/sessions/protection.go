package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/names"
	"github.com/iotconsole/bff/internal/throttle"
	"github.com/iotconsole/bff/internal/tokens"
)

// Sign-in protection (README, "Sign-in protection"; OWASP Authentication
// Cheat Sheet, "Login Throttling" and the "device cookie" defence against
// lock-outs of known devices).
const (
	// Per account (a guessing attack on one account): the first
	// freeFailuresPerAccount failures in a row are answered; the
	// freeFailuresPerAccount-th starts a back-off of backoffBase, and each
	// further failure doubles it up to backoffMax. So with 5, the 6th
	// attempt made at once is the first refused.
	freeFailuresPerAccount = 5
	backoffBase            = time.Second
	backoffMax             = 15 * time.Minute
	// backoffQuiet is how long an account (a device token, a second
	// factor, a current-password check) must go without a failure before
	// its count starts afresh. Longer than backoffMax, so that the cap
	// repeats: a guesser who waits out each 15 min back-off gets one guess
	// per 15 min (96 a day), not 5 free guesses again after every wait.
	backoffQuiet = 24 * time.Hour
	// Per client address (credential stuffing: many accounts from one
	// address): a budget of clientBudget failures that gains one every
	// clientRefill (a token bucket): 20 at once, then 2 a minute; a refused
	// address waits at most clientRefill, never longer.
	clientBudget = 20
	clientRefill = 30 * time.Second
	// DeviceTokenTTL is how long a device token stays valid (unless the
	// account's sessions end first). Its own failures back off like an
	// account's.
	DeviceTokenTTL = 180 * 24 * time.Hour
)

// ScopeDevice is no session: the device token of an account (see
// Credentials.DeviceToken). It is stored like a session (only its SHA-256),
// in the account's session epoch, so it ends with the account's sessions,
// and the sweeper deletes it when it expires; Authenticate refuses it.
const ScopeDevice Scope = "device"

// Option configures a Service.
type Option func(*Service)

// WithThrottleStore keeps the sign-in limiters' counters in st: the Mongo
// store, so that every instance on it shares one budget. The default is
// throttle.NewMemory, in the process.
func WithThrottleStore(st throttle.Store) Option {
	return func(s *Service) { s.throttles = st }
}

// WithExemptAddresses exempts the client addresses in prefixes (an office's
// NAT, THROTTLE_EXEMPT_CIDRS) from the per-address budget; their accounts
// still back off.
func WithExemptAddresses(prefixes []netip.Prefix) Option {
	return func(s *Service) { s.exempt = prefixes }
}

// DefaultFailureFloor is how long a failed sign-in (unknown domain or
// account, wrong password, no password set) takes at least, from its start
// to its answer (WithFailureFloor changes it). A wrong password is as slow
// as its hash's verification, and an imported hash (PBKDF2 with Django's
// 870,000 iterations, bcrypt of cost 12: about 0.2 to 0.3 s here) is slower
// than the argon2id an unknown account is checked against (about 40 ms), so
// that, without the floor, the time of a failure told which emails belong
// to customers imported and not yet signed in (a tryout measured 0.20 s
// against 0.037 s). Imported hashes slower than the floor (bcrypt of cost
// 14 and up) still show: their first sign-in replaces them with argon2id.
// OWASP Authentication Cheat Sheet, "Authentication Responses": answer in
// the same time whether the account exists or not.
const DefaultFailureFloor = 400 * time.Millisecond

// WithFailureFloor has a failed sign-in take at least floor instead of
// DefaultFailureFloor (0: as long as its checks take).
func WithFailureFloor(floor time.Duration) Option {
	return func(s *Service) { s.failureFloor = floor }
}

// answerNoSooner waits until s.failureFloor after started, or until ctx
// ends.
func (s *Service) answerNoSooner(ctx context.Context, started time.Time) {
	wait := s.failureFloor - time.Since(started)
	if wait <= 0 {
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// WithTarpit holds a refused sign-in's answer for up to max instead of
// DefaultTarpit (tests that make many refused attempts shorten it; 0 answers
// at once).
func WithTarpit(max time.Duration) Option {
	return func(s *Service) { s.tarpitMax = max }
}

// Credentials is what a person gives to sign in.
type Credentials struct {
	// Domain, Email and Password are required: blank, each is a REQUIRED
	// validation error of its field (names.CodeRequired), before anything
	// is read or counted (a mobile app can point at the empty field; tryout
	// 19). A password of spaces is not blank.
	Domain   string // the domain's slug or display name (domains.Find)
	Email    string
	Password string
	// DeviceToken is what an earlier successful sign-in of the account
	// returned on this device, or "". A valid one (of this account, in its
	// current session epoch, not expired) exempts the attempt from the
	// client address's budget and from the account's back-off; its own
	// failures back off per device token instead. Any other token gives no
	// exemption and is otherwise ignored.
	DeviceToken string
}

// blanks returns the REQUIRED errors of c's blank fields, joined, or nil.
func (c Credentials) blanks() error {
	var errs []error
	if strings.TrimSpace(c.Domain) == "" {
		errs = append(errs, apperr.Invalid("domain", names.CodeRequired, "Enter your company's code."))
	}
	if strings.TrimSpace(c.Email) == "" {
		errs = append(errs, apperr.Invalid("email", names.CodeRequired, "Enter your email address."))
	}
	if c.Password == "" {
		errs = append(errs, apperr.Invalid("password", names.CodeRequired, "Enter your password."))
	}
	return errors.Join(errs...)
}

// throttleKey names a limiter's counter: the SHA-256 of its parts, so that
// no email or address is stored in a shared counter's key.
func throttleKey(parts ...string) string {
	k := ""
	for _, p := range parts {
		k += p + "\x00"
	}
	return tokens.Hash(k)
}

func (s *Service) exemptAddr(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.exempt {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// maxDeviceTokenLen bounds what is hashed of a presented device token: ours
// have 43 characters (tokens.New).
const maxDeviceTokenLen = 256

// presentedDevice returns the device token record that token stands for,
// if it may be a device token of kind; ok is false for "" and for anything
// unknown, expired, revoked or of another kind.
func (s *Service) presentedDevice(ctx context.Context, kind Kind, token string) (Session, bool, error) {
	if token == "" || len(token) > maxDeviceTokenLen {
		return Session{}, false, nil
	}
	d, err := s.store.SessionByHash(ctx, tokens.Hash(token))
	if errors.Is(err, apperr.ErrNotFound) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("load device token: %w", err)
	}
	ok := d.Scope == ScopeDevice && d.Kind == kind && d.RevokedAt.IsZero() && s.now().Before(d.ExpiresAt)
	return d, ok, nil
}

// deviceToken returns the device token to hand back after a successful
// sign-in to acct: the one presented when it was valid for acct, else a
// new one.
func (s *Service) deviceToken(ctx context.Context, kind Kind, acct account, presented string) (string, error) {
	if presented != "" {
		return presented, nil
	}
	return s.openUntil(ctx, Session{Kind: kind, DomainID: acct.domainID, SubjectID: acct.id, Epoch: acct.epoch, Scope: ScopeDevice},
		s.now().Add(DeviceTokenTTL))
}

// SecretCheck is one attempt at a signed-in person's secret (an operator's
// current password) taken from its own allowance: the per-account back-off
// (5, then 1 s doubling to 15 min, afresh after 24 h without a failure).
type SecretCheck struct {
	s                              *Service
	key                            string
	held                           throttle.Reservation
	domainID, targetType, targetID string
}

// ReserveSecretCheck takes an attempt at the secret name of the account
// (targetType, targetID of domainID) before the costly check, atomically,
// so that checks racing cannot all pass. It returns apperr.ErrRateLimited
// (with the wait) while the account backs off; then the check must not be
// made. Call Done with the check's outcome.
func (s *Service) ReserveSecretCheck(ctx context.Context, name, domainID, targetType, targetID string) (*SecretCheck, error) {
	key := throttleKey(name, targetType, targetID)
	held, refused, err := s.accounts.Reserve(ctx, key)
	if err != nil {
		return nil, err
	}
	if refused > 0 {
		return nil, s.refuse(ctx, refused)
	}
	return &SecretCheck{s: s, key: key, held: held, domainID: domainID, targetType: targetType, targetID: targetID}, nil
}

// Done records the check's outcome: right forgets the account's failures;
// a wrong secret stays counted, and the lock-out it starts, if any, is
// audited (once per start).
func (c *SecretCheck) Done(ctx context.Context, right bool, why string) error {
	if right {
		return c.s.accounts.Reset(ctx, c.key)
	}
	if c.held.Backoff > 0 {
		c.s.lockedOut(ctx, c.domainID, c.targetType, c.targetID, c.held.Backoff, why)
	}
	return nil
}

// DeviceTokenFor returns the device token to hand to a device after a
// completed sign-in or a password change of an account (kind, domainID,
// subjectID, in its session epoch epoch): presented when it is a valid
// device token of that very account in that epoch, else a new one.
func (s *Service) DeviceTokenFor(ctx context.Context, kind Kind, domainID, subjectID string, epoch int64, presented string) (string, error) {
	d, ok, err := s.presentedDevice(ctx, kind, presented)
	if err != nil {
		return "", err
	}
	if !ok || d.SubjectID != subjectID || d.DomainID != domainID || d.Epoch != epoch {
		presented = ""
	}
	return s.deviceToken(ctx, kind, account{id: subjectID, domainID: domainID, epoch: epoch}, presented)
}

// checkPassword is the sign-in sequence shared by operators and customers:
// throttle, look up, verify, audit. It returns apperr.ErrRateLimited while
// the account, the client address or the device token is backing off (before any hash is
// computed), apperr.ErrInvalidCredentials for an unknown domain, unknown email
// or wrong password alike, and apperr.ErrAccountDisabled only when the
// password is right but the account is disabled. On success it also returns
// the device token presented, when it was valid for the account (""
// otherwise).
func (s *Service) checkPassword(ctx context.Context, kind Kind, c Credentials,
	lookup func(domainID, email string) (account, error)) (account, string, error) {
	if err := c.blanks(); err != nil {
		return account{}, "", err
	}
	started := time.Now()
	email, addr := NormalizeEmail(c.Email), audit.ClientAddr(ctx)
	typedKey := throttleKey(string(kind), "account", domains.NormalizeSlug(c.Domain), email)
	clientKey := throttleKey("address", audit.BudgetKey(addr)) // an IPv6 client by its /64
	budgeted := !s.exemptAddr(addr)
	device, maybeKnown, err := s.presentedDevice(ctx, kind, c.DeviceToken)
	if err != nil {
		return account{}, "", err
	}
	deviceKey := throttleKey("device", device.TokenHash)
	// A cheap refusal before anything else is read: a device token's own
	// back-off, or, without one, the address's budget and the account
	// typed. It reserves nothing: the reservation below decides.
	wait, err := time.Duration(0), error(nil)
	if maybeKnown {
		wait, err = s.accounts.Wait(ctx, deviceKey)
	} else {
		wait, err = s.accounts.Wait(ctx, typedKey)
		if err == nil && budgeted {
			var addrWait time.Duration
			addrWait, err = s.clients.Wait(ctx, clientKey)
			wait = max(wait, addrWait)
		}
	}
	if err != nil {
		return account{}, "", err
	}
	if wait > 0 {
		return account{}, "", s.refuse(ctx, wait)
	}
	// The domain, by its slug or its display name. The account's failures
	// count under the domain's id too: typing the one, then the other, gets
	// no more attempts.
	d, domainErr := domains.Find(ctx, s.store, c.Domain)
	if domainErr != nil && !errors.Is(domainErr, apperr.ErrNotFound) {
		return account{}, "", domainErr
	}
	accountKeys := []string{typedKey}
	if domainErr == nil {
		accountKeys = append(accountKeys, throttleKey(string(kind), "account", "#"+d.ID, email))
	}
	acct, err := account{}, domainErr
	if err == nil {
		// An account stored before emails.Canonical may hold the address in
		// another form (a punycode or full-width domain): the spelling typed
		// finds it first, so that an account made since with the canonical
		// form cannot take its owner's sign-in.
		if legacy := strings.ToLower(strings.TrimSpace(c.Email)); legacy != email {
			if acct, err = lookup(d.ID, legacy); errors.Is(err, apperr.ErrNotFound) {
				acct, err = lookup(d.ID, email)
			}
		} else {
			acct, err = lookup(d.ID, email)
		}
	}
	if err != nil && !errors.Is(err, apperr.ErrNotFound) {
		return account{}, "", err
	}
	// A device token is known only for the account it was issued to, in
	// that account's current session epoch.
	known := maybeKnown && err == nil && acct.id == device.SubjectID && acct.domainID == device.DomainID && acct.epoch == device.Epoch
	if maybeKnown && !known {
		zerolog.Ctx(ctx).Warn().Str("op", audit.ActionLoginFail).Str("domain_id", d.ID).Msg("a device token of another account, or of ended sessions: no exemption")
	}
	// The attempt is taken from its allowances before the password is
	// hashed, atomically, so that attempts racing (on one instance or
	// several) cannot all pass before the first failure is counted: a
	// known device's own back-off; else the address's budget, then the
	// account's back-off under each of its keys (what was taken is given
	// back when a later one refuses).
	backoffKeys := accountKeys
	if known {
		backoffKeys = []string{deviceKey}
	}
	var held time.Duration // the longest back-off the attempt starts
	budgetAfter, spent := time.Duration(0), false
	if budgeted && !known {
		after, refused, err := s.clients.Reserve(ctx, clientKey)
		if err != nil {
			return account{}, "", err
		}
		if refused > 0 {
			return account{}, "", s.refuse(ctx, refused)
		}
		budgetAfter, spent = after, true
	}
	var taken []throttle.Reservation
	for _, key := range backoffKeys {
		r, refused, err := s.accounts.Reserve(ctx, key)
		if err == nil && refused > 0 {
			for _, t := range taken {
				if err = s.accounts.Cancel(ctx, t); err != nil {
					break
				}
			}
			if err == nil && spent {
				err = s.clients.Refund(ctx, clientKey)
			}
		}
		if err != nil {
			return account{}, "", err
		}
		if refused > 0 {
			return account{}, "", s.refuse(ctx, refused)
		}
		taken, held = append(taken, r), max(held, r.Backoff)
	}
	// A failure is counted already; fail audits it and each lock-out it
	// starts, once (the reservation that starts one is unique).
	fail := func(r audit.Record) (account, string, error) {
		r.ActorType, r.Action, r.TargetType, r.Outcome = audit.ActorAnonymous, audit.ActionLoginFail, kind.auditTarget(), audit.OutcomeFailure
		if known {
			r.Reason += " (known device)"
		}
		s.audit(ctx, r)
		zerolog.Ctx(ctx).Warn().Str("op", r.Action).Str("domain_id", r.DomainID).Str("target_id", r.TargetID).Str("reason", r.Reason).Msg("sign-in failed")
		why := "failed sign-ins to the account"
		if known {
			why = "failed sign-ins from a known device"
		}
		if held > 0 {
			s.lockedOut(ctx, r.DomainID, kind.auditTarget(), r.TargetID, held, why)
		}
		if budgetAfter > 0 {
			s.lockedOut(ctx, r.DomainID, audit.TargetClientAddress, addr, budgetAfter, "failed sign-ins from the address")
		}
		s.answerNoSooner(ctx, started)
		return account{}, "", apperr.ErrInvalidCredentials
	}
	if err == nil && acct.hash == "" { // imported without a password: none is right
		if _, err := s.hasher.Verify(ctx, s.dummyHash, c.Password); err != nil {
			return account{}, "", err
		}
		return fail(audit.Record{DomainID: acct.domainID, TargetID: acct.id, Reason: "no password set"})
	}
	if err != nil { // apperr.ErrNotFound: no such domain or account
		if _, err := s.hasher.Verify(ctx, s.dummyHash, c.Password); err != nil {
			return account{}, "", err
		}
		// The domain, when it exists, so that its ADMINs see the attempt.
		return fail(audit.Record{DomainID: d.ID, Reason: "unknown account"})
	}
	ok, err := s.hasher.Verify(ctx, acct.hash, c.Password)
	if err != nil {
		return account{}, "", fmt.Errorf("verify %s %s: %w", kind, acct.id, err)
	}
	if !ok {
		return fail(audit.Record{DomainID: acct.domainID, TargetID: acct.id, Reason: "wrong password"})
	}
	// A success forgets the failures it is exempt from only: a known
	// device's own, or the account's (never an attacker's back-off of the
	// account because its owner signed in from its usual device).
	// The address's budget counts failures only: the one taken back.
	presented := ""
	if known {
		presented = c.DeviceToken
	}
	if err := s.accounts.Reset(ctx, backoffKeys...); err != nil {
		return account{}, "", err
	}
	if spent {
		if err := s.clients.Refund(ctx, clientKey); err != nil {
			return account{}, "", err
		}
	}
	if !acct.active {
		s.audit(ctx, audit.Record{DomainID: acct.domainID, ActorType: audit.ActorAnonymous, Action: audit.ActionLoginFail,
			TargetType: kind.auditTarget(), TargetID: acct.id, Reason: "account disabled", Outcome: audit.OutcomeFailure})
		zerolog.Ctx(ctx).Warn().Str("op", audit.ActionLoginFail).Str("domain_id", acct.domainID).Str("target_id", acct.id).Msg("sign-in to a disabled account")
		if kind == KindOperator {
			return account{}, "", apperr.ErrOperatorDisabled // an operator has no customer support to call
		}
		return account{}, "", apperr.ErrAccountDisabled
	}
	return acct, presented, nil
}

// lockedOut records that an account or a client address (targetType and
// targetID) must now wait before its next attempt: an audit record the
// domain's ADMINs see (ASVS 16.3.1) and a warn-level log line.
func (s *Service) lockedOut(ctx context.Context, domainID, targetType, targetID string, wait time.Duration, why string) {
	s.audit(ctx, audit.Record{DomainID: domainID, ActorType: audit.ActorAnonymous, Action: audit.ActionLoginLock,
		TargetType: targetType, TargetID: targetID, Reason: fmt.Sprintf("%s: next attempt in %s", why, wait), Outcome: audit.OutcomeFailure})
	zerolog.Ctx(ctx).Warn().Str("op", audit.ActionLoginLock).Str("domain_id", domainID).Str("target_type", targetType).
		Dur("wait", wait).Msg("locked out after failed attempts")
}
