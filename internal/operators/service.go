package operators

import (
	"context"
	"errors"
	"fmt"

	"github.com/iotconsole/bff/internal/apperr"
)

// Service reads and manages operators, always within one domain.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store}
}

// Get returns operator id of domainID, or apperr.ErrNotFound when it does not
// exist or belongs to another domain.
func (s *Service) Get(ctx context.Context, domainID, id string) (Operator, error) {
	o, err := s.store.OperatorByID(ctx, id)
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && o.DomainID != domainID) {
		return Operator{}, fmt.Errorf("operator %s: %w", id, apperr.ErrNotFound)
	}
	return o, err
}
