// Package customers describes the end users of a domain: the people who use the
// mobile app and the web dashboard, and whom operators look up and help.
package customers

import (
	"context"
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
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
	ID       string
	DomainID string
	// ExternalID is the customer's id in the system it was imported from
	// ("" for none): unique within the domain when given, and searchable.
	ExternalID string
	FirstName  string
	LastName   string
	Email      string // stored lower case; unique within the domain
	Phone      string // as the customer wrote it
	// PhoneRegion is the ISO 3166 region Phone was read in when it was
	// written: its domain's DefaultRegion then ("" for a customer the
	// MongoDB store kept before regions were: see RegionOfPhone). A later
	// change of the domain's region leaves it, and the tokens derived from
	// the number, as they were.
	PhoneRegion  string
	Status       Status
	PasswordHash string
	// SearchTokens are the normalized words a search term may be a prefix of;
	// see SearchTokens. A write passes them with the fields they come from;
	// read back, the MongoDB store gives them as stored, the embedded store
	// none (it derives them again where its index needs them, and indexes a
	// device as it stores it: devices.Store.InsertDevices).
	SearchTokens []string
	// MustChangePassword restricts the next sessions to changing the password.
	MustChangePassword bool
	// SessionEpoch grows whenever all sessions of the customer must end
	// (password reset, disabling): a session is valid only while the epoch it
	// was opened in is current, so ending them all is part of the customer's
	// own single-row (single-document) update.
	SessionEpoch int64
	// Version grows by one with every change; updates are conditional on it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RegionOfPhone returns the region c's phone number is read in: the one it
// was written under, or for a customer stored without one, the domain's
// default region now (current).
func (c Customer) RegionOfPhone(current string) string {
	if c.PhoneRegion != "" {
		return c.PhoneRegion
	}
	return current
}

// Store persists customers.
type Store interface {
	// CreateCustomer stores a new customer together with its audit record:
	// both or neither. It returns apperr.ErrConflict, writing nothing, if
	// the email is already taken in its domain (a unique index decides).
	CreateCustomer(ctx context.Context, c Customer, rec audit.Record) error
	// DomainBySlug returns apperr.ErrNotFound if no domain has that slug.
	DomainBySlug(ctx context.Context, slug string) (domains.Domain, error)
	// DomainsByName returns the domains whose display name would be taken
	// for name (domains.SameName).
	DomainsByName(ctx context.Context, name string) ([]domains.Domain, error)
	// DomainByID returns apperr.ErrNotFound if no domain has that id.
	DomainByID(ctx context.Context, id string) (domains.Domain, error)
	// CustomerByID returns apperr.ErrNotFound if no customer has that id.
	CustomerByID(ctx context.Context, id string) (Customer, error)
	// CustomersByIDs returns the customers that have one of ids, each once,
	// in no particular order, whatever their domain: ids that match nothing
	// are absent. It reads the store once (a few times for thousands of ids).
	CustomersByIDs(ctx context.Context, ids []string) ([]Customer, error)
	// CustomerByEmail returns apperr.ErrNotFound if the domain has no customer with that (lower-case) email.
	CustomerByEmail(ctx context.Context, domainID, email string) (Customer, error)
	// CountCustomers returns how many customers the domain has.
	CountCustomers(ctx context.Context, domainID string) (int64, error)
	// UpdateCustomer applies u if the customer is still at u.Version, together
	// with u's audit record and events: all of it or nothing. It returns the
	// customer as changed, apperr.ErrNotFound, apperr.ErrConflict when the
	// version moved (the caller reads again and retries), or ErrEmailTaken
	// when u.Email is another customer's of the domain (the unique index
	// decides); nothing is written then.
	UpdateCustomer(ctx context.Context, u Update) (Customer, error)
	// DevicesByCustomer returns the customer's devices (their serial numbers
	// and MAC addresses are among its search tokens).
	DevicesByCustomer(ctx context.Context, customerID string) ([]devices.Device, error)
	// DevicesOfCustomers returns the devices of the customers ids, in no
	// particular order.
	DevicesOfCustomers(ctx context.Context, ids []string) ([]devices.Device, error)
	SearchStore
	SuggestStore
	KeyStore
	Eraser
}

// Update is one change of a customer; nil fields stay as they are.
type Update struct {
	ID                 string
	Version            int64 // the version the change was decided on
	PasswordHash       *string
	Status             *Status
	MustChangePassword *bool
	EndSessions        bool // advance SessionEpoch
	At                 time.Time
	Audit              audit.Record
	Events             []events.Event

	// The profile. A change of either name gives both (the search order
	// follows the whole name); SearchTokens, given with any profile field,
	// are the customer's tokens after the change (nil: unchanged).
	FirstName, LastName, Email, Phone *string
	// PhoneRegion is stored with Phone (Customer.PhoneRegion): the domain's
	// default region the number was read in.
	PhoneRegion  string
	SearchTokens []string
	// ExternalID sets the customer's id in another system (an import).
	ExternalID *string
}
