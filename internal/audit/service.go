package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/ids"
)

// MaxPageSize bounds one page of the audit log.
const MaxPageSize = 100

// Service writes and reads the audit log. Nothing changes or deletes a record.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store, dating records with now.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now}
}

// Record appends r with Append.
func (s *Service) Record(ctx context.Context, r Record) {
	Append(ctx, s.store, s.now(), r)
}

// Appender is the one store method Append needs.
type Appender interface {
	AppendAudit(ctx context.Context, r Record) error
}

// Append writes r to w, giving it an id, the time at and the request id
// ctx carries. Records that accompany no state change (sign-ins, failures,
// refusals) are written this way: the answer the caller gets must not
// depend on the audit log, so a failure to write is logged (with the
// action, never the record's content) rather than returned.
func Append(ctx context.Context, w Appender, at time.Time, r Record) {
	r.ID, r.At, r.RequestID = ids.New(), at, RequestID(ctx)
	if err := w.AppendAudit(ctx, r); err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Str("op", r.Action).Msg("audit record not written")
	}
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
