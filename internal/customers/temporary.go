package customers

import (
	"context"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/passwords"
)

// TemporaryPassword returns a passphrase for an operator to give a customer
// on a call (ResetPassword with it, then the customer chooses its own): words
// easy to read out that the actor's domain's password policy accepts (see
// passwords.Policy.Passphrase, with the domain's name and slug as context;
// the reset checks it again with the customer's). Nothing is stored or audited: it becomes a
// password only when a reset sets it. It returns an error when the domain
// cannot be read or the random source fails.
func (s *Service) TemporaryPassword(ctx context.Context, actor audit.Actor) (string, error) {
	d, err := s.store.DomainByID(ctx, actor.DomainID)
	if err != nil {
		return "", err
	}
	return s.policy.ForDomain(d.PasswordMinLength).Passphrase(passwords.Context{Domain: []string{d.Name, d.Slug}})
}
