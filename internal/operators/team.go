package operators

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/emails"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/names"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/tokens"
)

// SetupTTL is how long an operator's setup link works: a day, the window
// OWASP's Forgot Password Cheat Sheet allows a one-time link at most.
const SetupTTL = 24 * time.Hour

// MaxPageSize bounds one page of operators.
const MaxPageSize = 100

// lastAdmin is the refusal of a change that would leave the domain without
// an active ADMIN, on the field of the change (role or status).
func lastAdmin(field string) error {
	return apperr.Invalid(field, "LAST_ADMIN", "This is the domain's last active ADMIN: make another operator ADMIN first.")
}

// Answers the team operations give, as the API shows them.
var (
	errSelf         = apperr.Invalid("operatorId", "SELF", "Nobody changes its own role or status: ask another ADMIN.")
	errReissueOwn   = apperr.Invalid("operatorId", "SELF", "Nobody makes a setup link for itself: change your password under your account, or ask another ADMIN.")
	errEmailTaken   = apperr.Invalid("email", "EMAIL_TAKEN", "Another operator of this company uses this email address.")
	errVersionMoved = apperr.Invalid("operatorId", "CONFLICT", "Someone else changed this operator meanwhile. Look again, then make your change.")
	errBadTicket    = apperr.Invalid("ticket", "INVALID_TICKET", "This setup link is used, expired or wrong. Ask an ADMIN for a new one.")
	errWrongCurrent = apperr.Invalid("currentPassword", "WRONG_PASSWORD", "The current password is not right.")
)

// Find returns up to first operators of q.DomainID that q selects, in email
// order after q.AfterEmail, and whether more follow. It returns a
// *apperr.ValidationError for first outside 1 to MaxPageSize, or a role or
// status that is not one.
func (s *Service) Find(ctx context.Context, q Query, first int) ([]Operator, bool, error) {
	switch {
	case first < 1 || first > MaxPageSize:
		return nil, false, apperr.Invalid("first", "INVALID", fmt.Sprintf("first must be between 1 and %d", MaxPageSize))
	case q.Role != "" && !ValidRole(q.Role):
		return nil, false, apperr.Invalid("role", "INVALID", "The role is SUPPORT or ADMIN.")
	case q.Status != "" && q.Status != StatusActive && q.Status != StatusDisabled:
		return nil, false, apperr.Invalid("status", "INVALID", "The status is ACTIVE or DISABLED.")
	}
	q.Text, q.Limit = strings.ToLower(strings.TrimSpace(q.Text)), first+1
	ops, err := s.store.FindOperators(ctx, q)
	if err != nil {
		return nil, false, fmt.Errorf("find operators: %w", err)
	}
	if len(ops) > first {
		return ops[:first], true, nil
	}
	return ops, false, nil
}

// Invite creates an operator of actor's domain without a password, for
// actor (an ADMIN), and returns it with the ticket of its one-time setup
// link (valid SetupTTL; only its hash is stored). Audited as user_created.
// It returns a *apperr.ValidationError for a bad name, email or role, or
// EMAIL_TAKEN; nothing is written then.
func (s *Service) Invite(ctx context.Context, actor audit.Actor, name, email string, role Role) (Operator, string, error) {
	var err error
	if name, err = names.Clean("name", name, MaxNameLength); err != nil {
		return Operator{}, "", err
	}
	if email, err = emails.Parse("email", email); err != nil {
		return Operator{}, "", err
	}
	if !ValidRole(role) {
		return Operator{}, "", apperr.Invalid("role", "INVALID", "The role is SUPPORT or ADMIN.")
	}
	at, ticket := s.now(), tokens.New()
	o := Operator{ID: ids.New(), DomainID: actor.DomainID, Name: name, Email: email, Role: role, Status: StatusActive,
		CreatedAt: at, UpdatedAt: at, Version: 1, SetupTicketHash: tokens.Hash(ticket), SetupExpiresAt: at.Add(SetupTTL)}
	if err := s.store.CreateOperator(ctx, o); errors.Is(err, apperr.ErrConflict) {
		return Operator{}, "", errEmailTaken
	} else if err != nil {
		return Operator{}, "", fmt.Errorf("invite operator: %w", err)
	}
	audit.Append(ctx, s.store, at, actor.Record(audit.ActionUserCreated, audit.TargetOperator, o.ID, "invited as "+string(role)))
	return o, ticket, nil
}

// CompleteSetup redeems a setup ticket: the operator it belongs to gets
// password (the policy applies, with the operator's email and name) and the
// ticket stops working. It returns the operator, or INVALID_TICKET for a
// ticket that is unknown, used or expired (one answer for all three), or
// the policy's *apperr.ValidationError; nothing changes then.
func (s *Service) CompleteSetup(ctx context.Context, ticket, password string) (Operator, error) {
	o, err := s.store.OperatorBySetupTicket(ctx, tokens.Hash(ticket))
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && (!s.now().Before(o.SetupExpiresAt) || o.Status != StatusActive)) {
		return Operator{}, errBadTicket
	}
	if err != nil {
		return Operator{}, err
	}
	if err := s.checkPassword(ctx, o, "password", password); err != nil {
		return Operator{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return Operator{}, err
	}
	at, none, never := s.now(), "", time.Time{}
	actor := audit.Actor{Type: audit.ActorOperator, ID: o.ID, DomainID: o.DomainID}
	o, err = s.store.UpdateOperator(ctx, Update{ID: o.ID, Version: o.Version, PasswordHash: &hash, SetupTicketHash: &none, SetupExpiresAt: &never,
		At: at, Audit: record(ctx, actor, audit.ActionPasswordChange, o.ID, "setup completed", at)})
	if errors.Is(err, apperr.ErrConflict) { // redeemed twice at once: one wins
		return Operator{}, errBadTicket
	}
	return o, err
}

// ReissueSetup gives operator id of actor's domain a new setup link (valid
// SetupTTL) for actor (an ADMIN), and returns it with its ticket: the
// operator's password stops working and every session of the operator
// ends, as the OperatorAccessEnded event says on every instance. Audited.
// It returns SELF for the actor's own account, ACCOUNT_DISABLED for a
// disabled operator (whose ticket completeOperatorSetup would refuse) and
// apperr.ErrNotFound for no operator of the domain.
func (s *Service) ReissueSetup(ctx context.Context, actor audit.Actor, id string) (Operator, string, error) {
	ticket := tokens.New()
	o, _, err := s.change(ctx, actor, id, func(o Operator, at time.Time) (*Update, error) {
		if o.ID == actor.ID {
			return nil, errReissueOwn
		}
		if o.Status != StatusActive { // completeOperatorSetup refuses a disabled operator's ticket
			return nil, apperr.Invalid("operatorId", "ACCOUNT_DISABLED", "This operator is disabled: enable it first, then make a new setup link.")
		}
		hash, none, expires := tokens.Hash(ticket), "", at.Add(SetupTTL)
		return &Update{PasswordHash: &none, SetupTicketHash: &hash, SetupExpiresAt: &expires, EndSessions: true,
			Audit:  record(ctx, actor, audit.ActionUserUpdated, o.ID, "setup link reissued", at),
			Events: []events.Event{accessEnded(o, actor, o.Status, "setup link reissued", at)}}, nil
	})
	return o, ticket, err
}

// Update changes the name and the role of operator id of actor's domain for
// actor (an ADMIN); nil leaves a field as it is. Lowering a role ends every
// session of the operator (OperatorAccessEnded). It returns the operator
// and whether anything changed, or a *apperr.ValidationError: a bad name or
// role, SELF for the actor's own role, LAST_ADMIN for the domain's last
// active ADMIN made SUPPORT; apperr.ErrNotFound for no operator of the
// domain.
func (s *Service) Update(ctx context.Context, actor audit.Actor, id string, name *string, role *Role) (Operator, bool, error) {
	if name != nil {
		clean, err := names.Clean("name", *name, MaxNameLength)
		if err != nil {
			return Operator{}, false, err
		}
		name = &clean
	}
	if role != nil && !ValidRole(*role) {
		return Operator{}, false, apperr.Invalid("role", "INVALID", "The role is SUPPORT or ADMIN.")
	}
	return s.change(ctx, actor, id, func(o Operator, at time.Time) (*Update, error) {
		u := &Update{}
		var changed []string
		if name != nil && *name != o.Name {
			u.Name, changed = name, append(changed, "name")
		}
		if role != nil && *role != o.Role {
			if err := s.keepAnAdmin(ctx, o, "role"); err != nil {
				return nil, err
			}
			if o.ID == actor.ID {
				return nil, errSelf
			}
			u.Role, changed = role, append(changed, fmt.Sprintf("role %s to %s", o.Role, *role))
			u.KeepAnAdmin = o.Role == RoleAdmin && o.Status == StatusActive
			if *role == RoleSupport { // fewer permissions: the sessions opened with more end
				u.EndSessions = true
				u.Events = []events.Event{accessEnded(o, actor, o.Status, "role lowered", at)}
			}
		}
		if len(changed) == 0 {
			return nil, nil
		}
		u.Audit = record(ctx, actor, audit.ActionUserUpdated, o.ID, "changed: "+strings.Join(changed, ", "), at)
		return u, nil
	})
}

// SetStatus disables or enables operator id of actor's domain for actor (an
// ADMIN). Disabling ends every session of the operator, closes its sockets
// and revokes its remote assistance, on every instance (OperatorAccessEnded),
// voids its setup link if it has one (enabled again, it needs a new one:
// ReissueSetup; a tryout's leaked link worked again once its operator was
// enabled), and needs a reason (names.Reason). It returns the operator and whether it
// changed, or a *apperr.ValidationError: SELF, LAST_ADMIN, a bad status or
// a missing reason; apperr.ErrNotFound for no operator of the domain.
func (s *Service) SetStatus(ctx context.Context, actor audit.Actor, id string, status Status, reason string) (Operator, bool, error) {
	reason, err := names.Reason("reason", reason)
	switch {
	case status != StatusActive && status != StatusDisabled:
		return Operator{}, false, apperr.Invalid("status", "INVALID", "The status is ACTIVE or DISABLED.")
	case err != nil:
		return Operator{}, false, err
	case status == StatusDisabled && reason == "":
		return Operator{}, false, apperr.Invalid("reason", "REQUIRED", "Say why the operator is disabled.")
	}
	return s.change(ctx, actor, id, func(o Operator, at time.Time) (*Update, error) {
		if o.Status == status {
			return nil, nil
		}
		if status == StatusDisabled {
			if err := s.keepAnAdmin(ctx, o, "status"); err != nil {
				return nil, err
			}
		}
		if o.ID == actor.ID {
			return nil, errSelf
		}
		action := audit.ActionUserEnabled
		u := &Update{Status: &status, KeepAnAdmin: status == StatusDisabled && o.Role == RoleAdmin}
		if status == StatusDisabled {
			action, u.EndSessions = audit.ActionUserDisabled, true
			u.Events = []events.Event{accessEnded(o, actor, status, reason, at)}
			if o.SetupTicketHash != "" {
				none, never := "", time.Time{}
				u.SetupTicketHash, u.SetupExpiresAt = &none, &never
			}
		}
		u.Audit = record(ctx, actor, action, o.ID, reason, at)
		return u, nil
	})
}

// ChangePassword sets a new password for the signed-in operator actor, who
// proves the current one: every session of the operator ends (the caller
// opens a new one for the request's client). It returns the operator, or a
// *apperr.ValidationError: WRONG_PASSWORD for the current password (after a
// full hash, as a sign-in), SAME_PASSWORD for the current password again,
// or the policy's answer on newPassword.
func (s *Service) ChangePassword(ctx context.Context, actor audit.Actor, current, next string) (Operator, error) {
	o, err := s.Get(ctx, actor.DomainID, actor.ID)
	if err != nil {
		return Operator{}, err
	}
	ok, err := s.hasher.Verify(ctx, o.PasswordHash, current)
	if err != nil && !errors.Is(err, passwords.ErrMalformedHash) {
		return Operator{}, err
	}
	if !ok {
		s.refused(ctx, actor, audit.ActionPasswordChange, "wrong current password")
		return Operator{}, errWrongCurrent
	}
	if next == current {
		return Operator{}, passwords.ErrSamePassword
	}
	if err := s.checkPassword(ctx, o, "newPassword", next); err != nil {
		return Operator{}, err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return Operator{}, err
	}
	o, _, err = s.change(ctx, actor, o.ID, func(o Operator, at time.Time) (*Update, error) {
		return &Update{PasswordHash: &hash, EndSessions: true, Audit: record(ctx, actor, audit.ActionPasswordChange, o.ID, "", at),
			Events: []events.Event{accessEnded(o, actor, o.Status, "password changed", at)}}, nil
	})
	return o, err
}

// change reads operator id of actor's domain, lets decide build the change
// and applies it; decide returns nil to change nothing. A change decided on
// a version someone else moved meanwhile answers CONFLICT.
func (s *Service) change(ctx context.Context, actor audit.Actor, id string, decide func(o Operator, at time.Time) (*Update, error)) (Operator, bool, error) {
	o, err := s.Get(ctx, actor.DomainID, id)
	if err != nil {
		return Operator{}, false, err
	}
	at := s.now()
	u, err := decide(o, at)
	if err != nil || u == nil {
		return o, false, err
	}
	u.ID, u.Version, u.At = o.ID, o.Version, at
	o, err = s.store.UpdateOperator(ctx, *u)
	switch {
	case errors.Is(err, apperr.ErrConflict):
		return Operator{}, false, errVersionMoved
	case errors.Is(err, ErrLastAdmin) && u.Role != nil:
		return Operator{}, false, lastAdmin("role")
	case errors.Is(err, ErrLastAdmin):
		return Operator{}, false, lastAdmin("status")
	}
	if err != nil {
		return Operator{}, false, fmt.Errorf("update operator %s: %w", id, err)
	}
	return o, true, nil
}

// keepAnAdmin refuses to take o's ADMIN powers away (a demotion, or
// disabling) when o is the domain's last active ADMIN, on field. It is
// checked before SELF, so that the last ADMIN trying to step down learns the
// real reason; the store decides it again as it writes (Update.KeepAnAdmin),
// for changes made at once.
func (s *Service) keepAnAdmin(ctx context.Context, o Operator, field string) error {
	if o.Role != RoleAdmin || o.Status != StatusActive {
		return nil
	}
	n, err := s.store.CountOperators(ctx, o.DomainID, RoleAdmin, StatusActive)
	if err != nil {
		return err
	}
	if n <= 1 {
		return lastAdmin(field)
	}
	return nil
}

// refused records that the signed-in operator actor's own change (action)
// was refused because a proof was wrong (its password, its code): an audit
// record with outcome failure and a warn line, as a customer's refused
// password change has, so that someone trying passwords on an open session
// is seen. Neither says what was typed.
func (s *Service) refused(ctx context.Context, actor audit.Actor, action, why string) {
	r := actor.Record(action, audit.TargetOperator, actor.ID, why)
	r.Outcome = audit.OutcomeFailure
	audit.Append(ctx, s.store, s.now(), r)
	zerolog.Ctx(ctx).Warn().Str("op", action).Msg("refused: " + why) // the request's logger names the operator
}

func record(ctx context.Context, actor audit.Actor, action, operatorID, reason string, at time.Time) audit.Record {
	r := actor.Record(action, audit.TargetOperator, operatorID, reason)
	r.ID, r.At, r.RequestID = ids.New(), at, audit.RequestID(ctx)
	return r
}

// accessEnded is the event that ends o's sessions on every instance: it
// goes with an update that advances o's session epoch (conditional on o's
// version, so the epoch after it is o's plus one).
func accessEnded(o Operator, actor audit.Actor, status Status, reason string, at time.Time) events.Event {
	return events.Event{ID: ids.New(), DomainID: o.DomainID, Type: events.OperatorAccessEnded, ActorID: actor.ID,
		Data: map[string]string{events.KeyOperatorID: o.ID, events.KeyStatus: string(status), events.KeyReason: reason,
			events.KeyEpoch: strconv.FormatInt(o.SessionEpoch+1, 10)}, OccurredAt: at}
}

// checkPassword applies the password policy of o's domain (the service's,
// with the domain's own minimum length when it has one) to password, with
// o's context words (PasswordContext). It returns the policy's
// *apperr.ValidationError on field, or the store's error when the domain
// cannot be read.
func (s *Service) checkPassword(ctx context.Context, o Operator, field, password string) error {
	policy, c, err := s.passwordPolicy(ctx, o)
	if err != nil {
		return err
	}
	return policy.Check(field, password, c)
}

// passwordPolicy returns the password policy of o's domain and o's context.
func (s *Service) passwordPolicy(ctx context.Context, o Operator) (passwords.Policy, passwords.Context, error) {
	d, err := s.store.DomainByID(ctx, o.DomainID)
	if err != nil {
		return passwords.Policy{}, passwords.Context{}, fmt.Errorf("password policy of domain %s: %w", o.DomainID, err)
	}
	return s.policy.ForDomain(d.PasswordMinLength), PasswordContext(o, d), nil
}

// RatePassword rates password as the signed-in operator actor's own new
// one (see ChangePassword), setting nothing. It returns the store's error,
// or apperr.ErrNotFound when actor is gone.
func (s *Service) RatePassword(ctx context.Context, actor audit.Actor, password string) (passwords.Assessment, error) {
	o, err := s.Get(ctx, actor.DomainID, actor.ID)
	if err != nil {
		return passwords.Assessment{}, err
	}
	policy, c, err := s.passwordPolicy(ctx, o)
	if err != nil {
		return passwords.Assessment{}, err
	}
	return policy.Assess(password, c), nil
}

// RateSetupPassword rates password as the one the holder of a setup ticket
// would choose (see CompleteSetup), setting nothing. A ticket that is
// unknown, used or expired answers INVALID_TICKET on ticket, as
// CompleteSetup does.
func (s *Service) RateSetupPassword(ctx context.Context, ticket, password string) (passwords.Assessment, error) {
	o, err := s.store.OperatorBySetupTicket(ctx, tokens.Hash(ticket))
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && (!s.now().Before(o.SetupExpiresAt) || o.Status != StatusActive)) {
		return passwords.Assessment{}, errBadTicket
	}
	if err != nil {
		return passwords.Assessment{}, err
	}
	policy, c, err := s.passwordPolicy(ctx, o)
	if err != nil {
		return passwords.Assessment{}, err
	}
	return policy.Assess(password, c), nil
}
