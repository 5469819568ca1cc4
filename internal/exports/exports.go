// Package exports gathers what the service keeps about one customer, for the
// customer's own copy of its data (the right of access and to data
// portability, GDPR articles 15 and 20).
package exports

import (
	"context"
	"fmt"
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
)

// MaxActivity bounds the account activity of one export: its newest
// entries. A customer's history is mostly sign-ins, and an account under
// attack gathers failed ones without end.
const MaxActivity = 10_000

// Export is what the service keeps about one customer.
type Export struct {
	At       time.Time
	Customer customers.Customer
	Devices  []devices.Device
	// Activity is the audit log's records about the customer, newest first,
	// at most MaxActivity of them; ActivityComplete says whether that is all.
	Activity         []audit.Record
	ActivityComplete bool
}

// Service gathers exports through the services that guard each part.
type Service struct {
	customers *customers.Service
	devices   *devices.Service
	audit     *audit.Service
	now       func() time.Time
	limit     int // MaxActivity, but for tests
}

// NewService returns a Service reading through those services.
func NewService(cs *customers.Service, ds *devices.Service, as *audit.Service, now func() time.Time) *Service {
	return &Service{customers: cs, devices: ds, audit: as, now: now, limit: MaxActivity}
}

// Of returns the export of customer id of domainID. Another domain's
// customer is apperr.ErrNotFound, as the customer services answer it; who
// may read the export is the caller's rule.
func (s *Service) Of(ctx context.Context, domainID, id string) (Export, error) {
	e := Export{At: s.now()}
	var err error
	if e.Customer, err = s.customers.Get(ctx, domainID, id); err != nil {
		return Export{}, err
	}
	if e.Devices, err = s.devices.OfCustomer(ctx, domainID, id); err != nil {
		return Export{}, fmt.Errorf("export of %s: %w", id, err)
	}
	q := audit.Query{DomainID: domainID, CustomerID: id}
	for {
		page, more, err := s.audit.Find(ctx, q, min(audit.MaxPageSize, s.limit-len(e.Activity)))
		if err != nil {
			return Export{}, fmt.Errorf("export of %s: %w", id, err)
		}
		e.Activity = append(e.Activity, page...)
		if !more {
			e.ActivityComplete = true
			break
		}
		if len(e.Activity) >= s.limit {
			break
		}
		last := page[len(page)-1]
		q.Before = &audit.Cursor{At: last.At, ID: last.ID}
	}
	return e, nil
}
