package customers

import (
	"context"
	"errors"
	"fmt"

	"github.com/iotconsole/bff/internal/apperr"
)

// Service reads and changes customers, always within one domain.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store}
}

// Get returns customer id of domainID. It returns apperr.ErrNotFound when the
// customer does not exist or belongs to another domain: the two look the same
// from outside, so nobody learns what other domains hold.
func (s *Service) Get(ctx context.Context, domainID, id string) (Customer, error) {
	c, err := s.store.CustomerByID(ctx, id)
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && c.DomainID != domainID) {
		return Customer{}, fmt.Errorf("customer %s: %w", id, apperr.ErrNotFound)
	}
	return c, err
}
