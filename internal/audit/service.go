package audit

import (
	"context"
	"fmt"

	"github.com/iotconsole/bff/internal/apperr"
)

// MaxPageSize bounds one page of the audit log.
const MaxPageSize = 100

// Service reads the audit log. Nothing changes or deletes a record.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store}
}

// Find returns up to first records q selects, newest first, and whether
// more follow. It returns a *apperr.ValidationError for a page size outside
// 1 to MaxPageSize.
func (s *Service) Find(ctx context.Context, q Query, first int) ([]Record, bool, error) {
	if first < 1 || first > MaxPageSize {
		return nil, false, apperr.Invalid("first", "INVALID", fmt.Sprintf("first must be between 1 and %d", MaxPageSize))
	}
	q.Limit = first + 1
	records, err := s.store.FindAudit(ctx, q)
	if err != nil {
		return nil, false, fmt.Errorf("audit log: %w", err)
	}
	if len(records) > first {
		return records[:first], true, nil
	}
	return records, false, nil
}
