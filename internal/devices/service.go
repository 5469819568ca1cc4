package devices

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/names"
)

// Limits of what a customer may set.
const (
	MaxNameLength  = 64 // characters, after NFC normalisation
	MinTemperature = 5.0
	MaxTemperature = 35.0
)

var modes = []Mode{ModeOff, ModeHeat, ModeCool, ModeAuto, ModeEco}

// Service reads and changes devices.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now}
}

// OfCustomer returns the devices customerID owns in domainID, by name.
func (s *Service) OfCustomer(ctx context.Context, domainID, customerID string) ([]Device, error) {
	ds, err := s.store.DevicesByCustomer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ds, func(d Device) bool { return d.DomainID != domainID }), nil
}

// Get returns device id of domainID, or apperr.ErrNotFound when it does not
// exist or belongs to another domain.
func (s *Service) Get(ctx context.Context, domainID, id string) (Device, error) {
	d, err := s.store.DeviceByID(ctx, id)
	if err := domains.Owned("device", id, d.DomainID, domainID, err); err != nil {
		return Device{}, err
	}
	return d, nil
}

// Change is what a customer changes on a device; nil fields stay.
type Change struct {
	Name              *string
	TargetTemperature *float64
	Mode              *Mode
	Notifications     *bool
}

// Update applies ch to device id of customerID (for actor, who is the
// customer or an operator assisting it), audits it and announces it
// (DEVICE_UPDATED), in one write. It returns
// apperr.ErrNotFound for a device the customer does not own and a
// *apperr.ValidationError for values out of range or a name names.Clean
// refuses, changing nothing. A new name is stored as names.Clean returns it.
func (s *Service) Update(ctx context.Context, actor audit.Actor, customerID, id string, ch Change) (Device, error) {
	d, err := s.Get(ctx, actor.DomainID, id)
	if err == nil && d.CustomerID != customerID {
		err = fmt.Errorf("device %s: %w", id, apperr.ErrNotFound)
	}
	if err != nil {
		return Device{}, err
	}
	if ch.Name != nil {
		name, err := names.Clean("name", *ch.Name, MaxNameLength)
		if err != nil {
			return Device{}, err
		}
		d.Name = name
	}
	if t := ch.TargetTemperature; t != nil {
		if math.IsNaN(*t) || *t < MinTemperature || *t > MaxTemperature {
			return Device{}, apperr.Invalid("settings.targetTemperature", "INVALID",
				fmt.Sprintf("The target temperature is between %g and %g °C.", MinTemperature, MaxTemperature))
		}
		d.Settings.TargetTemperature = *t
	}
	if ch.Mode != nil {
		if !slices.Contains(modes, *ch.Mode) {
			return Device{}, apperr.Invalid("settings.mode", "INVALID", "Unknown mode.")
		}
		d.Settings.Mode = *ch.Mode
	}
	if ch.Notifications != nil {
		d.Settings.Notifications = *ch.Notifications
	}
	d.UpdatedAt = s.now()
	rec := actor.Record(audit.ActionDeviceUpdated, audit.TargetDevice, d.ID, "")
	rec.ID, rec.At, rec.RequestID = ids.New(), d.UpdatedAt, audit.RequestID(ctx)
	ev := events.Event{ID: ids.New(), DomainID: d.DomainID, Type: events.DeviceUpdated, CustomerID: d.CustomerID, ActorID: actor.ID,
		Data: map[string]string{events.KeyDeviceID: d.ID}, OccurredAt: d.UpdatedAt}
	if err := s.store.UpdateDevice(ctx, d, rec, ev); err != nil {
		return Device{}, err
	}
	return d, nil
}
