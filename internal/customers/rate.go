package customers

import (
	"context"
	"errors"
	"strings"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/emails"
	"github.com/iotconsole/bff/internal/names"
	"github.com/iotconsole/bff/internal/passwords"
)

// RateSignUpPassword rates password as signUp would for the person p
// signing up to the domain slug (or display name, domains.Find), setting
// nothing: with the domain's minimum length, name and slug when it takes
// sign-ups, otherwise with the server's minimum and slug as typed (so that
// it tells nobody which domains exist). p's fields are taken as typed so
// far (see typedProfile). It returns a *apperr.ValidationError for a field
// signUp would refuse for its length or characters (the domain: more than
// domains.MaxNameLength characters, TOO_LONG), or the store's error.
func (s *Service) RateSignUpPassword(ctx context.Context, slug string, p Profile, password string) (passwords.Assessment, error) {
	c, err := typedProfile(p)
	if err != nil {
		return passwords.Assessment{}, err
	}
	if strings.TrimSpace(slug) != "" {
		if _, err := names.Clean("domain", slug, domains.MaxNameLength); err != nil {
			return passwords.Assessment{}, err
		}
	}
	d, err := domains.Find(ctx, s.store, slug)
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && !d.SignUpIsOpen()) {
		d, err = domains.Domain{Slug: strings.TrimSpace(slug)}, nil
	}
	if err != nil {
		return passwords.Assessment{}, err
	}
	return s.ratePassword(d, c, password), nil
}

// RatePassword rates password as a new password of customer id of
// domainID would be rated by ResetPassword or a change, or, with id empty,
// as Create would for a customer p of domainID (its fields as typed so
// far, see typedProfile), setting nothing. It returns a
// *apperr.ValidationError for a field of p Create would refuse for its
// length or characters, apperr.ErrNotFound for a customer of another
// domain or none, or the store's error.
func (s *Service) RatePassword(ctx context.Context, domainID, id string, p Profile, password string) (passwords.Assessment, error) {
	c, err := typedProfile(p)
	if err != nil {
		return passwords.Assessment{}, err
	}
	d, err := s.store.DomainByID(ctx, domainID)
	if err != nil {
		return passwords.Assessment{}, err
	}
	if id != "" {
		if c, err = s.Get(ctx, domainID, id); err != nil {
			return passwords.Assessment{}, err
		}
	}
	return s.ratePassword(d, c, password), nil
}

func (s *Service) ratePassword(d domains.Domain, c Customer, password string) passwords.Assessment {
	return s.policy.ForDomain(d.PasswordMinLength).Assess(password, PasswordContext(c, d))
}

// typedProfile is the customer p describes, its fields as typed so far:
// each name and the email checked as Create checks them (Profile.Check:
// names.Clean, at most MaxNameLength characters for a name and
// emails.MaxLength for the email, the same codes names.CodeTooLong and
// names.CodeInvalidCharacters on firstName, lastName, email), but an empty field is
// allowed and the email need not be a whole address yet (the meter rates
// as the person types); trimmed, the email in lower case. So a rating's
// context is as bounded as a stored customer's.
func typedProfile(p Profile) (Customer, error) {
	var c Customer
	for _, f := range []struct {
		field, value string
		max          int
		to           *string
	}{{"firstName", p.FirstName, MaxNameLength, &c.FirstName}, {"lastName", p.LastName, MaxNameLength, &c.LastName},
		{"email", p.Email, emails.MaxLength, &c.Email}} {
		if strings.TrimSpace(f.value) == "" {
			continue
		}
		v, err := names.Clean(f.field, f.value, f.max)
		if err != nil {
			return Customer{}, err
		}
		*f.to = v
	}
	c.Email = strings.ToLower(c.Email)
	return c, nil
}
