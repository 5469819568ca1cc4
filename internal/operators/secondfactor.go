package operators

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/mfa"
	"github.com/iotconsole/bff/internal/passwords"
)

// Issuer is the product's name in what authenticator apps show beside an
// operator's codes (issuerOf).
const Issuer = "IoT Console"

// issuerOf is the issuer of an operator of domain d in its authenticator
// app: the domain's name and the product's, "Acme Heating (IoT Console)", so
// that a person who is an operator of two companies with one email tells
// their codes apart (tryout 20: both read "IoT Console"). A colon, which
// separates the issuer from the account in the app's label (Key Uri
// Format), is written as a space.
func issuerOf(d domains.Domain) string {
	return strings.ReplaceAll(d.Name, ":", " ") + " (" + Issuer + ")"
}

// Answers of the second-factor operations.
var (
	errWrongCode = apperr.Invalid("code", "INVALID_CODE",
		"This code is not right: type the 6 digits your authenticator app shows now, or one of your recovery codes.")
	errCodeUsed = apperr.Invalid("code", "CODE_USED",
		"This code has just been used: each code works once. Wait for your app to show the next one (at most 30 seconds).")
	errNoEnrollment    = apperr.Invalid("code", "NOT_ENROLLING", "Start the set-up of an authenticator app first.")
	errAlreadyOn       = apperr.Invalid("code", "ALREADY_ENABLED", "A second factor is already on: turn it off first to set up another app.")
	errSecondFactorOff = apperr.Invalid("code", "NOT_ENABLED", "No second factor is on.")
	// errNothingToReset is NOT_ENABLED on ResetSecondFactor's input, which
	// names the operator (tryout 20: it was put on a field "code" the input
	// does not have).
	errNothingToReset = apperr.Invalid("operatorId", "NOT_ENABLED", "This operator has no second factor to reset.")
	// errWrongFirstCode answers the code that would turn an app on: there
	// are no recovery codes yet.
	errWrongFirstCode = apperr.Invalid("code", "INVALID_CODE", "This code is not right: type the 6 digits your authenticator app shows now.")
	// errWrongPassword answers disableTotp's password (its input field is
	// password, not changeOperatorPassword's currentPassword).
	errWrongPassword = apperr.Invalid("password", "WRONG_PASSWORD", "This is not your password.")
	// errResetOwn answers an ADMIN resetting its own second factor.
	errResetOwn = apperr.Invalid("operatorId", "SELF", "Nobody resets its own second factor: turn it off in Security, or ask another ADMIN.")
)

// SpendSecondFactor checks code, typed by operator o at time at, against
// its TOTP secret (one step of clock skew either side, each code once) or,
// when it looks like one, its recovery codes (each once). It returns the
// update that records the code as spent (the last step, or the remaining
// recovery codes), to write conditionally on o's version so that two
// requests cannot spend one code. It returns INVALID_CODE (a
// *apperr.ValidationError) for a wrong code, CODE_USED for a code already
// used (RFC 6238 section 5.2: each code once), NOT_ENABLED for an
// operator without a second factor, and mfa.ErrMalformedSecret for a
// damaged stored secret.
func SpendSecondFactor(o Operator, code string, at time.Time) (*Update, error) {
	if !o.TOTPEnabled() {
		return nil, errSecondFactorOff
	}
	if mfa.LooksLikeRecoveryCode(code) {
		remaining, ok := mfa.UseRecoveryCode(o.RecoveryCodeHashes, code)
		if !ok {
			return nil, errWrongCode
		}
		return &Update{RecoveryCodeHashes: &remaining}, nil
	}
	step, err := mfa.Verify(o.TOTPSecret, code, at, o.TOTPLastStep)
	switch {
	case errors.Is(err, mfa.ErrCodeReused):
		return nil, errCodeUsed
	case errors.Is(err, mfa.ErrInvalidCode):
		return nil, errWrongCode
	}
	if err != nil {
		return nil, err
	}
	return &Update{TOTPLastStep: &step}, nil
}

// EnrollTOTP starts the set-up of an authenticator app for the signed-in
// operator actor: a new secret, kept as pending until ConfirmTOTP, and the
// ways to give it to the app (otpauth URI, QR code). Audited. It returns
// ALREADY_ENABLED when a second factor is on.
func (s *Service) EnrollTOTP(ctx context.Context, actor audit.Actor) (mfa.Enrollment, error) {
	var enrollment mfa.Enrollment
	_, _, err := s.change(ctx, actor, actor.ID, func(o Operator, at time.Time) (*Update, error) {
		if o.TOTPEnabled() {
			return nil, errAlreadyOn
		}
		d, err := s.store.DomainByID(ctx, o.DomainID)
		if err != nil {
			return nil, fmt.Errorf("enroll: %w", err)
		}
		if enrollment, err = mfa.Enroll(issuerOf(d), o.Email); err != nil {
			return nil, fmt.Errorf("enroll: %w", err)
		}
		return &Update{TOTPPendingSecret: &enrollment.Secret, Audit: record(ctx, actor, audit.ActionMFAEnrollStarted, o.ID, "", at)}, nil
	})
	return enrollment, err
}

// ConfirmTOTP turns the pending secret of the signed-in operator actor on,
// given a first code from the app, and returns the operator and its
// RecoveryCodeCount new recovery codes (shown once: only their hashes are
// kept). Every session of the operator ends, as a change of password ends
// them (OperatorAccessEnded): one opened with a stolen password must not
// outlive the second factor (tryout 20); the caller opens a verified one
// for the request's client. Audited. It returns NOT_ENROLLING without a
// pending secret and INVALID_CODE for a wrong code; nothing changes then.
func (s *Service) ConfirmTOTP(ctx context.Context, actor audit.Actor, code string) (Operator, []string, error) {
	codes, hashes, err := mfa.NewRecoveryCodes()
	if err != nil {
		return Operator{}, nil, err
	}
	o, _, err := s.change(ctx, actor, actor.ID, func(o Operator, at time.Time) (*Update, error) {
		if o.TOTPPendingSecret == "" {
			return nil, errNoEnrollment
		}
		step, err := mfa.Verify(o.TOTPPendingSecret, code, at, 0)
		if err != nil {
			return nil, errWrongFirstCode
		}
		none := ""
		return &Update{TOTPSecret: &o.TOTPPendingSecret, TOTPPendingSecret: &none, TOTPLastStep: &step, RecoveryCodeHashes: &hashes,
			EndSessions: true, Audit: record(ctx, actor, audit.ActionMFAEnabled, o.ID, "", at),
			Events: []events.Event{accessEnded(o, actor, o.Status, "second factor turned on", at)}}, nil
	})
	if err != nil {
		return Operator{}, nil, err
	}
	return o, codes, nil
}

// DisableTOTP turns the second factor of the signed-in operator actor off,
// given its password and a current code (or a recovery code). In a domain
// that requires a second factor, every session of the operator ends with
// it (they were verified by the factor it no longer has): the next sign-in
// may only set one up again. Audited, a wrong password or code too
// (outcome failure, and a warn line). It returns
// WRONG_PASSWORD, INVALID_CODE, CODE_USED or NOT_ENABLED; nothing changes
// then.
func (s *Service) DisableTOTP(ctx context.Context, actor audit.Actor, password, code string) (Operator, error) {
	o, err := s.Get(ctx, actor.DomainID, actor.ID)
	if err != nil {
		return Operator{}, err
	}
	if ok, err := s.hasher.Verify(ctx, o.PasswordHash, password); err != nil && !errors.Is(err, passwords.ErrMalformedHash) {
		return Operator{}, err
	} else if !ok {
		s.refused(ctx, actor, audit.ActionMFADisabled, "wrong password")
		return Operator{}, errWrongPassword
	}
	d, err := s.store.DomainByID(ctx, o.DomainID)
	if err != nil {
		return Operator{}, err
	}
	o, _, err = s.change(ctx, actor, actor.ID, func(o Operator, at time.Time) (*Update, error) {
		if _, err := SpendSecondFactor(o, code, at); err != nil {
			return nil, err
		}
		u := secondFactorOff(ctx, actor, o, at, "turned off by the operator")
		if d.RequireOperatorMFA { // its sessions were verified by the factor it no longer has
			u.EndSessions = true
			u.Events = append(u.Events, accessEnded(o, actor, o.Status, "second factor turned off", at))
		}
		return u, nil
	})
	if invalid := (*apperr.ValidationError)(nil); errors.As(err, &invalid) && (invalid.Code == "INVALID_CODE" || invalid.Code == "CODE_USED") {
		s.refused(ctx, actor, audit.ActionMFADisabled, "wrong code: "+invalid.Code)
	}
	return o, err
}

// ResetSecondFactor turns the second factor of operator id of actor's
// domain off for actor (an ADMIN: the operator lost its phone) and ends
// every session of the operator. Audited. It returns SELF for the actor's
// own, NOT_ENABLED when none is on, apperr.ErrNotFound for no operator of
// the domain.
func (s *Service) ResetSecondFactor(ctx context.Context, actor audit.Actor, id string) (Operator, error) {
	o, _, err := s.change(ctx, actor, id, func(o Operator, at time.Time) (*Update, error) {
		switch {
		case o.ID == actor.ID:
			return nil, errResetOwn
		case !o.TOTPEnabled():
			return nil, errNothingToReset
		}
		u := secondFactorOff(ctx, actor, o, at, "reset by an ADMIN")
		u.EndSessions = true
		u.Events = append(u.Events, accessEnded(o, actor, o.Status, "second factor reset", at))
		return u, nil
	})
	return o, err
}

// secondFactorOff is the update that removes o's second factor.
func secondFactorOff(ctx context.Context, actor audit.Actor, o Operator, at time.Time, reason string) *Update {
	none, zero, noCodes := "", int64(0), []string{}
	return &Update{TOTPSecret: &none, TOTPPendingSecret: &none, TOTPLastStep: &zero, RecoveryCodeHashes: &noCodes,
		Audit: record(ctx, actor, audit.ActionMFADisabled, o.ID, reason, at)}
}
