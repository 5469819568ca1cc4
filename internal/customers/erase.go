package customers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/names"
)

// Erasure is the deletion of a customer, decided on one version of it.
type Erasure struct {
	ID       string
	DomainID string
	Version  int64 // the version the erasure was decided on
	At       time.Time
	Audit    audit.Record
	Events   []events.Event
}

// ErrLogNotCleared is what Eraser.DeleteCustomer wraps when the erasure is
// written but the store could not yet clear the old copies its own log
// keeps of what was erased (SQLite: the page images of the write-ahead
// log, when a reader held it past the busy timeout). They go at the store's
// next complete checkpoint, at the latest when it closes.
var ErrLogNotCleared = errors.New("erased, but the store's log still holds old copies of the data")

// Eraser erases customers.
type Eraser interface {
	// DeleteCustomer erases customer e.ID if it is still at e.Version,
	// together with e's audit record and events: the customer (nothing of
	// its profile stays readable in the store: SQLite zeroes what it frees
	// and empties its write-ahead log; MongoDB deletes the documents), its
	// search entry, its devices, its sessions (its own and those of its
	// remote assistance) and its data key, so that whatever was sealed
	// under the key reads as erased. Audit records, events and assist
	// sessions stay: they name the customer by id only. It returns
	// apperr.ErrNotFound for no such customer and apperr.ErrConflict when
	// its version moved; nothing is written then. An error wrapping
	// ErrLogNotCleared means the erasure is written all the same.
	DeleteCustomer(ctx context.Context, e Erasure) error
}

// OwnDeletionReason is the audit reason of a customer's erasure of its own
// account (deleteAccount): the customer gives none, and the audit log
// outlives it.
const OwnDeletionReason = "the customer deleted its own account"

// errReasonRequired answers an erasure without a reason.
var errReasonRequired = apperr.Invalid("reason", "REQUIRED", "Say why the customer is erased.")

// Delete erases customer id of the actor's domain for actor (an operator
// allowed to: the caller checks the permission) with reason, which is
// required (see names.Reason): the customer, its devices, sessions and data
// key go in one write with its audit record (user_deleted: the reason and
// the customer's id, no personal data) and a CUSTOMER_DELETED event, on
// which every instance closes the customer's sockets and revokes its remote
// assistance. It returns a *apperr.ValidationError for a missing or bad
// reason, and apperr.ErrNotFound for a customer that does not exist, is
// already erased or belongs to another domain; nothing is written then.
func (s *Service) Delete(ctx context.Context, actor audit.Actor, id, reason string) error {
	reason, err := names.Reason("reason", reason)
	if err != nil {
		return err
	}
	if reason == "" {
		return errReasonRequired
	}
	for attempt := 1; ; attempt++ {
		c, err := s.Get(ctx, actor.DomainID, id)
		if err != nil {
			return err
		}
		at := s.now()
		err = s.store.DeleteCustomer(ctx, Erasure{
			ID: c.ID, DomainID: c.DomainID, Version: c.Version, At: at,
			Audit: AuditRecord(actor, audit.ActionUserDeleted, c.ID, reason, at, audit.RequestID(ctx)),
			Events: []events.Event{{ID: ids.New(), DomainID: c.DomainID, Type: events.CustomerDeleted, CustomerID: c.ID, ActorID: actor.ID,
				OccurredAt: at}},
		})
		switch {
		case errors.Is(err, apperr.ErrConflict) && attempt < maxUpdateAttempts:
			continue // changed meanwhile: erase it as it is now
		case errors.Is(err, ErrLogNotCleared):
			zerolog.Ctx(ctx).Warn().Err(err).Str("customer_id", c.ID).Msg("customer erased; old copies wait for the next checkpoint")
			return nil
		case err != nil:
			return fmt.Errorf("delete customer %s: %w", c.ID, err)
		}
		return nil
	}
}
