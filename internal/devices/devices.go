// Package devices describes the connected things a customer owns and operates
// from the dashboard.
package devices

import (
	"context"
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
)

// Mode is a device's operating mode.
type Mode string

// Modes.
const (
	ModeOff  Mode = "OFF"
	ModeHeat Mode = "HEAT"
	ModeCool Mode = "COOL"
	ModeAuto Mode = "AUTO"
	ModeEco  Mode = "ECO"
)

// Settings are what a customer can change on a device.
type Settings struct {
	TargetTemperature float64 // degrees Celsius
	Mode              Mode
	Notifications     bool
}

// Device is one connected thing owned by a customer.
type Device struct {
	ID         string
	DomainID   string
	CustomerID string
	Name       string
	Model      string
	// SerialNumber is the manufacturer's serial number, as ParseSerial
	// returns it; no two devices of a domain share one (the stores enforce
	// it).
	SerialNumber string
	// MACAddress is the device's network address as ParseMAC returns it,
	// "AA:BB:CC:DD:EE:FF"; "" when it has none.
	MACAddress string
	Online     bool
	Settings   Settings
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Store persists devices.
type Store interface {
	// InsertDevices stores new devices in one batch. It returns an error
	// wrapping apperr.ErrConflict if a device's serial number is already
	// another device's in its domain.
	InsertDevices(ctx context.Context, ds []Device) error
	// DevicesByCustomer returns a customer's devices ordered by name then id.
	DevicesByCustomer(ctx context.Context, customerID string) ([]Device, error)
	// DeviceByID returns apperr.ErrNotFound if no device has that id.
	DeviceByID(ctx context.Context, id string) (Device, error)
	// UpdateDevice stores d's name, settings and update time together with
	// its audit record: both or neither.
	UpdateDevice(ctx context.Context, d Device, rec audit.Record, evs ...events.Event) error
}
