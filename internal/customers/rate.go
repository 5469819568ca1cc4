package customers

import (
	"context"
	"errors"
	"strings"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/passwords"
)

// RateSignUpPassword rates password as signUp would for the person p
// signing up to the domain slug (or display name, domains.Find), setting
// nothing: with the domain's minimum length, name and slug when it takes
// sign-ups, otherwise with the server's minimum and slug as typed (so that
// it tells nobody which domains exist). p's fields are taken as typed
// (trimmed, the email in lower case), unchecked. It returns the store's
// error only.
func (s *Service) RateSignUpPassword(ctx context.Context, slug string, p Profile, password string) (passwords.Assessment, error) {
	d, err := domains.Find(ctx, s.store, slug)
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && !d.SignUpIsOpen()) {
		d, err = domains.Domain{Slug: strings.TrimSpace(slug)}, nil
	}
	if err != nil {
		return passwords.Assessment{}, err
	}
	return s.ratePassword(d, typed(p), password), nil
}

// RatePassword rates password as a new password of customer id of
// domainID would be rated by ResetPassword or a change, or, with id empty,
// as Create would for a customer p of domainID, setting nothing. It
// returns apperr.ErrNotFound for a customer of another domain or none, or
// the store's error.
func (s *Service) RatePassword(ctx context.Context, domainID, id string, p Profile, password string) (passwords.Assessment, error) {
	d, err := s.store.DomainByID(ctx, domainID)
	if err != nil {
		return passwords.Assessment{}, err
	}
	c := typed(p)
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

// typed is the customer p describes, its fields as typed: trimmed, the
// email in lower case.
func typed(p Profile) Customer {
	return Customer{FirstName: strings.TrimSpace(p.FirstName), LastName: strings.TrimSpace(p.LastName),
		Email: strings.ToLower(strings.TrimSpace(p.Email))}
}
