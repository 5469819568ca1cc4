package customers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/emails"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/names"
)

// Bounds of a profile's fields, in characters after NFC normalisation.
const (
	MaxNameLength  = 100
	MaxPhoneLength = 40
)

// Profile is what a person (signing up) or an operator says about a
// customer, not yet checked.
type Profile struct {
	FirstName, LastName, Email, Phone string
}

// Check returns p as it is to be stored, or the *apperr.ValidationError of
// each bad field, joined (errors.Join: a form learns of every mistake at
// once): the names (names.Clean, 1 to MaxNameLength), the email
// (emails.Parse: trimmed, lower case, one plain address), the phone
// (optional; kept as written, under the names rule, at most MaxPhoneLength
// characters: search reads it with the domain's region, see PhoneTokens).
func (p Profile) Check() (Profile, error) {
	var errs []error
	check := func(into *string, clean func() (string, error)) {
		value, err := clean()
		*into = value
		if err != nil {
			errs = append(errs, err)
		}
	}
	check(&p.FirstName, func() (string, error) { return names.Clean("firstName", p.FirstName, MaxNameLength) })
	check(&p.LastName, func() (string, error) { return names.Clean("lastName", p.LastName, MaxNameLength) })
	check(&p.Email, func() (string, error) { return emails.Parse("email", p.Email) })
	check(&p.Phone, func() (string, error) {
		if strings.TrimSpace(p.Phone) == "" {
			return "", nil
		}
		phone, err := names.Clean("phone", p.Phone, MaxPhoneLength)
		if err == nil && Digits(phone) == "" {
			err = apperr.Invalid("phone", "INVALID", "Enter a phone number, or leave it empty.")
		}
		return phone, err
	})
	if len(errs) > 0 {
		return Profile{}, errors.Join(errs...)
	}
	return p, nil
}

// ConfirmPassword returns a *apperr.ValidationError on confirmPassword
// (MISMATCH) unless an operator typed the same password twice.
func ConfirmPassword(password, confirmation string) error {
	if password != confirmation {
		return apperr.Invalid("confirmPassword", "MISMATCH", "The two passwords do not match.")
	}
	return nil
}

// errEmailTaken is the answer for an email another customer of the domain has.
var errEmailTaken = apperr.Invalid("email", "EMAIL_TAKEN", "Another account of this company uses this email address.")

// Create creates a customer of domain d from p with password, for actor (an
// operator, or for a sign-up the customer itself: an actor of type customer
// without an id becomes the new customer). With mustChange the customer's
// first sign-in may only choose a new password. The customer and its audit
// record (user_created) are one write. It returns the customer, or the
// *apperr.ValidationError of each bad field and of a password the policy
// refuses (joined),
// or an email already taken in the domain (EMAIL_TAKEN: the store's unique
// index decides, so two racing creations give one customer and one
// EMAIL_TAKEN); nothing is written then.
func (s *Service) Create(ctx context.Context, actor audit.Actor, d domains.Domain, p Profile, password string, mustChange bool) (Customer, error) {
	checked, profileErr := p.Check()
	if profileErr != nil {
		checked = p // the password is judged against what was typed, and its errors told with the fields'
	}
	at := s.now()
	c := Customer{ID: ids.New(), DomainID: d.ID, FirstName: checked.FirstName, LastName: checked.LastName, Email: checked.Email, Phone: checked.Phone,
		PhoneRegion: d.DefaultRegion, Status: StatusActive, MustChangePassword: mustChange, Version: 1, CreatedAt: at, UpdatedAt: at}
	if err := errors.Join(profileErr, s.policy.ForDomain(d.PasswordMinLength).Check("password", password, PasswordContext(c, d))); err != nil {
		return Customer{}, err
	}
	var err error
	if c.PasswordHash, err = s.hasher.Hash(ctx, password); err != nil {
		return Customer{}, err
	}
	c.SearchTokens = SearchTokens(c, nil, d.DefaultRegion)
	actor.DomainID = d.ID
	if actor.Type == audit.ActorCustomer && actor.ID == "" {
		actor.ID = c.ID
	}
	rec := AuditRecord(actor, audit.ActionUserCreated, c.ID, "", at, audit.RequestID(ctx))
	if err := s.store.CreateCustomer(ctx, c, rec); errors.Is(err, apperr.ErrConflict) {
		return Customer{}, errEmailTaken
	} else if err != nil {
		return Customer{}, err
	}
	return c, nil
}

// errSignUpClosed is the one answer for a domain that does not take sign-ups
// and for one that does not exist, so that nobody learns which domains do.
var errSignUpClosed = apperr.Invalid("domain", "SIGN_UP_CLOSED", "This company does not take sign-ups here. Ask it for an account.")

// Sign-up attempts from one client address: freeSignUpsPerClient, then a
// back-off that doubles from a second up to 15 minutes, as failed sign-ins
// do (an address quiet for 15 minutes starts afresh).
const (
	freeSignUpsPerClient = 20
	signUpBackoff        = time.Second
	signUpBackoffMax     = 15 * time.Minute
)

// SignUpOpen reports whether the domain a person typed (its slug or display
// name, domains.Find) takes sign-ups: false for a closed domain and for one
// that does not exist (sign-up is public, a domain's existence need not be).
func (s *Service) SignUpOpen(ctx context.Context, slug string) (bool, error) {
	d, err := domains.Find(ctx, s.store, slug)
	if errors.Is(err, apperr.ErrNotFound) {
		return false, nil
	}
	return err == nil && d.SignUpIsOpen(), err
}

// CompanyName returns the display name of the domain a person typed (its
// slug or display name, domains.Find), for a sign-in page to say which
// company a link signs in to, and false for no such domain. Looking up
// names of no company is what enumerating the service's companies takes:
// each counts against the client address (audit.ClientBudgetKey) as a
// sign-up attempt does, the first freeSignUpsPerClient go through and later
// ones are refused with apperr.ErrRateLimited for a back-off that doubles
// from a second up to 15 minutes, known names and unknown alike while it
// runs.
func (s *Service) CompanyName(ctx context.Context, typed string) (string, bool, error) {
	key := audit.ClientBudgetKey(ctx)
	if wait := s.guesses.Wait(key); wait > 0 {
		return "", false, fmt.Errorf("company name: %w", apperr.RetryAfter(wait))
	}
	d, err := domains.Find(ctx, s.store, typed)
	if errors.Is(err, apperr.ErrNotFound) {
		if wait := s.guesses.Fail(key); wait > 0 {
			return "", false, fmt.Errorf("company name: %w", apperr.RetryAfter(wait))
		}
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return d.Name, true, nil
}

// SignUp creates a customer of the domain slug (or display name,
// domains.Find) for the person signing up
// (see Create), when the domain's sign-up policy is open. Every attempt
// counts against the client address (audit.ClientAddr): the first
// freeSignUpsPerClient go through, later ones are refused with
// apperr.ErrRateLimited for a back-off that doubles with each, as failed
// sign-ins are. A closed or unknown domain is *apperr.ValidationError
// SIGN_UP_CLOSED.
func (s *Service) SignUp(ctx context.Context, slug string, p Profile, password string) (Customer, error) {
	if wait := s.signUps.Fail(audit.ClientBudgetKey(ctx)); wait > 0 {
		return Customer{}, fmt.Errorf("sign up: %w", apperr.RetryAfter(wait))
	}
	d, err := domains.Find(ctx, s.store, slug)
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && !d.SignUpIsOpen()) {
		return Customer{}, errSignUpClosed
	}
	if err != nil {
		return Customer{}, err
	}
	return s.Create(ctx, audit.Actor{Type: audit.ActorCustomer}, d, p, password, false)
}
