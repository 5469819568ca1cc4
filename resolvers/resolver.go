// Package resolvers is the thin GraphQL layer: each resolver checks who is
// asking, calls one domain service and maps the result to the API type.
package resolvers

//go:generate go run ../internal/graphgen

import (
	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/exports"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/sessions"
)

// Resolver holds the domain services every resolver calls. The fields end in
// Service so that they never clash with the resolver methods gqlgen names
// after schema fields (Customers, Devices, ...).
type Resolver struct {
	SessionService  *sessions.Service
	OperatorService *operators.Service
	CustomerService *customers.Service
	DeviceService   *devices.Service
	DomainStore     domains.Store
	EventBroker     *events.Broker
	AssistService   *assist.Service
	DomainService   *domains.Service
	AuditService    *audit.Service
	ExportService   *exports.Service
	// PasswordRatings limits checkPassword per account and client address.
	PasswordRatings *passwords.RatingLimiter
	// DashboardURL is where the customer dashboard is served; startAssist
	// appends "#assist=<ticket>".
	DashboardURL string
	// ConsoleURL is where the console is served; inviteOperator and
	// reissueOperatorSetup append "#setup=<ticket>".
	ConsoleURL string

	statusChanges  eventMemo[*model.CustomerStatusChange]
	profileChanges eventMemo[*model.CustomerProfileChange]
	detailsChanges eventMemo[*model.CustomerDetailsChange]
	deletions      eventMemo[*model.CustomerDeletion]
}

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
