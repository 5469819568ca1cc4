// Package resolvers is the thin GraphQL layer: each resolver checks who is
// asking, calls one domain service and maps the result to the API type.
package resolvers

//go:generate go tool gqlgen generate

import (
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/sessions"
)

// Resolver holds the domain services every resolver calls.
type Resolver struct {
	Sessions      *sessions.Service
	Operators     *operators.Service
	Customers     *customers.Service
	DeviceService *devices.Service // not "Devices": Customer.devices is a resolver method of that name
	Domains       domains.Store
}
