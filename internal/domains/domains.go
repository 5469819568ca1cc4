// Package domains describes tenants: each IoT company is one domain, and every
// operator and customer belongs to exactly one.
package domains

import (
	"context"
	"regexp"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
)

// Domain is one tenant.
type Domain struct {
	ID   string
	Slug string
	Name string
	// DefaultRegion is the ISO 3166 region used to read phone numbers written
	// without a country code ("US", "DE").
	DefaultRegion string
	CreatedAt     time.Time
}

// Store persists domains.
type Store interface {
	// CreateDomain stores d. It returns apperr.ErrConflict if the slug is taken.
	CreateDomain(ctx context.Context, d Domain) error
	// DomainBySlug returns apperr.ErrNotFound if no domain has that slug.
	DomainBySlug(ctx context.Context, slug string) (Domain, error)
	// DomainByID returns apperr.ErrNotFound if no domain has that id.
	DomainByID(ctx context.Context, id string) (Domain, error)
}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Validate returns a *apperr.ValidationError for the first bad field of d.
func (d Domain) Validate() error {
	if !slugPattern.MatchString(d.Slug) {
		return apperr.Invalid("slug", "INVALID", "slug must be 1 to 63 lower-case letters, digits or dashes")
	}
	if d.Name == "" {
		return apperr.Invalid("name", "REQUIRED", "name is required")
	}
	if len(d.DefaultRegion) != 2 {
		return apperr.Invalid("defaultRegion", "INVALID", "default region must be a two-letter region code")
	}
	return nil
}
