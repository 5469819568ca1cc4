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
	// TemperatureStep: targets are whole or half degrees Celsius, the
	// dashboard's step and what a thermostat can hold (21.123456789 was
	// stored and shown as it came).
	TemperatureStep = 0.5
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
// (DEVICE_UPDATED), in one write; a change that leaves the device as it is
// writes nothing and returns it. It returns
// apperr.ErrNotFound for a device the customer does not own
// (apperr.ErrOtherCustomer when another customer of the domain owns it) and a
// *apperr.ValidationError for values out of range (OUT_OF_RANGE), a
// temperature between TemperatureStep steps or not a number (INVALID) or a
// name names.Clean refuses, changing nothing. A new name is stored as names.Clean returns it.
func (s *Service) Update(ctx context.Context, actor audit.Actor, customerID, id string, ch Change) (Device, error) {
	d, err := s.Get(ctx, actor.DomainID, id)
	if err == nil && d.CustomerID != customerID {
		err = fmt.Errorf("device %s: %w", id, apperr.ErrOtherCustomer)
	}
	if err != nil {
		return Device{}, err
	}
	before := d
	if ch.Name != nil {
		name, err := names.Clean("name", *ch.Name, MaxNameLength)
		if err != nil {
			return Device{}, err
		}
		d.Name = name
	}
	if t := ch.TargetTemperature; t != nil {
		switch {
		case math.IsNaN(*t) || math.IsInf(*t, 0):
			return Device{}, apperr.Invalid("settings.targetTemperature", "INVALID", "The target temperature is a number of degrees Celsius.")
		case *t < MinTemperature || *t > MaxTemperature:
			return Device{}, apperr.Invalid("settings.targetTemperature", "OUT_OF_RANGE",
				fmt.Sprintf("The target temperature is between %g and %g °C.", MinTemperature, MaxTemperature))
		case math.Remainder(*t, TemperatureStep) != 0:
			return Device{}, apperr.Invalid("settings.targetTemperature", "INVALID",
				fmt.Sprintf("The target temperature goes in steps of %g °C (21 or 21.5, not 21.3).", TemperatureStep))
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
	if d.Name == before.Name && d.Settings == before.Settings {
		return before, nil // nothing to change: nothing written, audited or announced
	}
	d.UpdatedAt = s.now()
	rec := actor.Record(audit.ActionDeviceUpdated, audit.TargetDevice, d.ID, "")
	rec.ID, rec.At, rec.RequestID = ids.New(), d.UpdatedAt, audit.RequestID(ctx)
	ev := events.Event{ID: ids.New(), DomainID: d.DomainID, Type: events.DeviceUpdated, CustomerID: d.CustomerID, ActorID: actor.ID,
		Data: map[string]string{events.KeyDeviceID: d.ID}, OccurredAt: d.UpdatedAt}
	if err := s.store.UpdateDevice(ctx, d, rec, ev); err != nil {
		return Device{}, err
	}
	for _, note := range changeNotes(before, d) {
		audit.Note(ctx, note)
	}
	return d, nil
}

// changeNotes says in words what changed from before to after, one note
// per field ("renamed the device Kitchen to Hall"), in the order of the
// dashboard's form.
func changeNotes(before, after Device) []string {
	var notes []string
	if before.Name != after.Name {
		notes = append(notes, fmt.Sprintf("renamed the device %s to %s", before.Name, after.Name))
	}
	b, a := before.Settings, after.Settings
	if b.TargetTemperature != a.TargetTemperature {
		notes = append(notes, fmt.Sprintf("set the target temperature of %s from %g °C to %g °C", after.Name, b.TargetTemperature, a.TargetTemperature))
	}
	if b.Mode != a.Mode {
		notes = append(notes, fmt.Sprintf("set the mode of %s from %s to %s", after.Name, b.Mode, a.Mode))
	}
	if b.Notifications != a.Notifications {
		state := "off"
		if a.Notifications {
			state = "on"
		}
		notes = append(notes, fmt.Sprintf("turned the notifications of %s %s", after.Name, state))
	}
	return notes
}
