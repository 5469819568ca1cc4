package customers

import (
	"context"
	"errors"
	"fmt"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/shred"
)

// KeyStore keeps every customer's data key, under which personal values
// written where nothing may change them (audit records) are sealed (see
// internal/shred): deleting the key erases them all.
type KeyStore interface {
	// CustomerKey returns the customer's data key, creating it on first use
	// (shred.NewKey). Creation is atomic: of two racing first uses, one
	// key is kept and both get it.
	CustomerKey(ctx context.Context, customerID string) ([]byte, error)
	// CustomerKeys returns the keys of those of customerIDs that have one,
	// read at once; it creates none.
	CustomerKeys(ctx context.Context, customerIDs []string) (map[string][]byte, error)
	// DeleteCustomerKey deletes the customer's data key, so that every value
	// sealed under it reads as erased. A key that is not there is no error.
	DeleteCustomerKey(ctx context.Context, customerID string) error
}

// Unreadable shows in place of details that are not a value shred.Seal made
// for their record (altered, or written by another program).
const Unreadable = "[unreadable]"

// detailsOwner returns the customer under whose key a record's details are
// sealed: the customer the record is about.
func detailsOwner(r audit.Record) string {
	if r.TargetType == audit.TargetCustomer {
		return r.TargetID
	}
	return r.ActingFor
}

// OpenDetails returns the details of records as an ADMIN reads them, in
// order: "" for a record without details, the opened text, shred.Erased when
// the key of the customer the record is about was deleted, or Unreadable.
// It reads the keys of all the records at once and creates none. It returns
// an error only when the store fails.
func (s *Service) OpenDetails(ctx context.Context, records []audit.Record) ([]string, error) {
	var owners []string
	for _, r := range records {
		if r.Details != "" {
			owners = append(owners, detailsOwner(r))
		}
	}
	out := make([]string, len(records))
	if len(owners) == 0 {
		return out, nil
	}
	keys, err := s.store.CustomerKeys(ctx, owners)
	if err != nil {
		return nil, fmt.Errorf("keys of audit details: %w", err)
	}
	for i, r := range records {
		if r.Details == "" {
			continue
		}
		owner := detailsOwner(r)
		text, err := shred.Open(keys[owner], owner, r.Details)
		switch {
		case errors.Is(err, shred.ErrErased):
			text = shred.Erased
		case err != nil:
			text = Unreadable
		}
		out[i] = text
	}
	return out, nil
}
