// Package store names the whole of what a storage backend implements: every
// domain package's Store interface. internal/store/sqlite and
// internal/store/mongo implement it, internal/store/storetest checks both.
// Where a query follows a domain rule, the rule is said once here and each
// backend translates it (AboutCustomer).
package store

import (
	"context"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/imports"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/sessions"
)

// Store is a complete storage backend.
type Store interface {
	domains.Store
	operators.Store
	customers.Store
	devices.Store
	sessions.Store
	audit.Store
	events.Store
	assist.Store
	imports.Store
	imports.ExportStore
	domains.SettingsStore
	customers.ReindexStore

	// Ping returns an error if the backend cannot serve requests right now.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close(ctx context.Context) error
}
