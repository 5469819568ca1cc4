// Package customers describes the end users of a domain: the people who use the
// mobile app and the web dashboard, and whom operators look up and help.
package customers

import (
	"context"
	"time"
)

// Status is a customer's account state.
type Status string

// Statuses.
const (
	StatusActive   Status = "ACTIVE"
	StatusDisabled Status = "DISABLED"
)

// Customer is one end user of a domain.
type Customer struct {
	ID           string
	DomainID     string
	FirstName    string
	LastName     string
	Email        string // stored lower case; unique within the domain
	Phone        string // as the customer wrote it
	Status       Status
	PasswordHash string
	// SearchTokens are the normalized words a search term may be a prefix of;
	// see SearchTokens. Stores keep them in sync with the fields above.
	SearchTokens []string
	// Version grows by one with every change; updates are conditional on it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store persists customers.
type Store interface {
	// InsertCustomers stores new customers in one batch. It returns
	// apperr.ErrConflict if an email is already taken in its domain.
	InsertCustomers(ctx context.Context, cs []Customer) error
	// CustomerByID returns apperr.ErrNotFound if no customer has that id.
	CustomerByID(ctx context.Context, id string) (Customer, error)
	// CountCustomers returns how many customers the domain has.
	CountCustomers(ctx context.Context, domainID string) (int64, error)
	SearchStore
}
