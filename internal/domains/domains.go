// Package domains describes tenants: each IoT company is one domain, and every
// operator and customer belongs to exactly one.
package domains

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/names"
)

// Domain is one tenant.
type Domain struct {
	ID   string
	Slug string
	Name string
	// DefaultRegion is the ISO 3166 region used to read phone numbers written
	// without a country code ("US", "DE").
	DefaultRegion string
	// SignUpPolicy says whether customers may create their own accounts
	// (signUp); "" reads as SignUpClosed.
	SignUpPolicy SignUpPolicy
	CreatedAt    time.Time
	// RequireOperatorMFA: operators must sign in with a second factor; one
	// without may only enrol one, and privileged operations refuse sessions
	// not verified by one.
	RequireOperatorMFA bool
	// AssistTTL bounds a remote assistance; 0 for the server's ASSIST_TTL.
	AssistTTL time.Duration
	// PasswordMinLength is the password policy's minimum length; 0 for the
	// server's PASSWORD_MIN_LENGTH.
	PasswordMinLength int
	// AssistConsent says which remote assistance waits for the customer's
	// agreement; "" reads as AssistConsentControl (a new domain's default),
	// and a domain stored before the setting existed reads as
	// AssistConsentNone (what it had: assistance at once).
	AssistConsent AssistConsent
}

// AssistConsent says which remote assistance needs the customer's agreement.
type AssistConsent string

// Consent settings (issue "Remote assistance a customer can trust"): NONE
// starts every assistance at once (the customer is told), CONTROL starts a
// view-only one at once and asks for control, ALL asks for everything.
const (
	AssistConsentNone    AssistConsent = "NONE"
	AssistConsentControl AssistConsent = "CONTROL"
	AssistConsentAll     AssistConsent = "ALL"
)

// OrDefault returns c, or AssistConsentControl for "" (a new domain's default).
func (c AssistConsent) OrDefault() AssistConsent {
	if c == "" {
		return AssistConsentControl
	}
	return c
}

// Needed reports whether an assistance that may act (control) or only look
// (!control) needs the customer's agreement under c.
func (c AssistConsent) Needed(control bool) bool {
	switch c.OrDefault() {
	case AssistConsentAll:
		return true
	case AssistConsentControl:
		return control
	}
	return false
}

// SignUpPolicy says whether a domain's customers may sign themselves up.
type SignUpPolicy string

// Sign-up policies. New domains start closed: a company opens sign-up when
// its app is ready for it.
const (
	SignUpOpen   SignUpPolicy = "OPEN"
	SignUpClosed SignUpPolicy = "CLOSED"
)

// NormalizeSlug returns slug as domains are stored and looked up by:
// trimmed, full-width letters as their ASCII selves (width.Fold: "ＡＣＭＥ"
// typed on a phone's full-width keyboard) and in lower case.
func NormalizeSlug(slug string) string {
	return strings.ToLower(width.Fold.String(strings.TrimSpace(slug)))
}

// Finder looks a domain up by what a person signing in types.
type Finder interface {
	DomainBySlug(ctx context.Context, slug string) (Domain, error)
	DomainsByName(ctx context.Context, name string) ([]Domain, error)
}

// Find returns the domain a person means by typed: the domain whose slug it
// is (trimmed, case aside), else the one domain whose display name it would
// be taken for (SameName). It returns apperr.ErrNotFound when there is
// none, and when several domains share that name: a person must then type
// the slug.
func Find(ctx context.Context, st Finder, typed string) (Domain, error) {
	d, err := st.DomainBySlug(ctx, NormalizeSlug(typed))
	if !errors.Is(err, apperr.ErrNotFound) {
		return d, err
	}
	name := norm.NFC.String(strings.TrimSpace(typed))
	if name == "" || utf8.RuneCountInString(name) > MaxNameLength {
		return Domain{}, err
	}
	found, ferr := st.DomainsByName(ctx, name)
	if ferr != nil {
		return Domain{}, fmt.Errorf("domain by name: %w", ferr)
	}
	if len(found) != 1 {
		return Domain{}, fmt.Errorf("domain by name (%d found): %w", len(found), apperr.ErrNotFound)
	}
	return found[0], nil
}

// NameKey returns what two display names share when a person reading them
// would take them for one name (SameName): the PRECIS Nickname profile's
// comparison key (RFC 8266 section 2.4: every kind of space as one space,
// none at the ends, compatibility forms such as full-width letters as their
// plain ones, then lower case), then the confusable skeleton of that (Unicode
// Technical Standard #39, section 4, with Unicode's confusables.txt through
// github.com/mtibben/confusables: Cyrillic а and Latin a, dotless ı and i,
// "rn" and "m" alike), without a dot above an i or j, which has one already
// (the lower case of İ). A name the profile refuses (one with a control
// character, as Check would not leave) keys on its lower case.
func NameKey(name string) string {
	key, err := precis.Nickname.CompareKey(name)
	if err != nil {
		key = strings.ToLower(norm.NFC.String(name))
	}
	key = confusables.Skeleton(key)
	return strings.NewReplacer("i\u0307", "i", "j\u0307", "j").Replace(key)
}

// SameName reports whether a and b, display names, would be taken for one
// name (NameKey).
func SameName(a, b string) bool { return NameKey(a) == NameKey(b) }

// CheckNameFree returns a *apperr.ValidationError (name, NAME_TAKEN) when
// name, a domain's display name as Check leaves it, is one that another
// domain than ownID is found by (Find): another domain's slug, or a name
// that would be taken for another domain's display name (SameName: a
// no-break space, full-width letters or a Cyrillic а do not make a new
// name, so an ADMIN cannot dress a domain as another company to its
// customers). People sign in with a domain's name,
// and a name two domains share finds neither, so a second domain taking a
// name would stop the first one's sign-in by name. It returns the store's
// error when it cannot tell.
//
// Two domains renamed to one name at the same moment can both pass the
// check (it is no unique index); sign-in by slug then still works, and
// either ADMIN renames its domain again.
func CheckNameFree(ctx context.Context, st Finder, name, ownID string) error {
	taken := apperr.Invalid("name", "NAME_TAKEN", "Another company signs in with this name: choose another.")
	bySlug, err := st.DomainBySlug(ctx, NormalizeSlug(name))
	switch {
	case err == nil && bySlug.ID != ownID:
		return taken
	case err != nil && !errors.Is(err, apperr.ErrNotFound):
		return fmt.Errorf("domain by slug: %w", err)
	}
	byName, err := st.DomainsByName(ctx, name)
	if err != nil {
		return fmt.Errorf("domain by name: %w", err)
	}
	for _, d := range byName {
		if d.ID != ownID {
			return taken
		}
	}
	return nil
}

// SignUpIsOpen reports whether d's customers may sign themselves up.
func (d Domain) SignUpIsOpen() bool { return d.SignUpPolicy == SignUpOpen }

// Owned checks a look-up of an object (what, id) made for a caller of
// callerDomain. It returns the look-up's error, wrapped with what and id;
// apperr.ErrOtherDomain when the object belongs to objectDomain, another
// domain (which answers as apperr.ErrNotFound: nobody learns what other
// domains hold); nil when it is the caller's domain's.
func Owned(what, id, objectDomain, callerDomain string, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("%s %s: %w", what, id, err)
	case objectDomain != callerDomain:
		return fmt.Errorf("%s %s: %w", what, id, apperr.ErrOtherDomain)
	}
	return nil
}

// Batch is the answer to a look-up of several objects by id made for a
// caller of one domain: the caller's domain's objects, and for every other
// id what Owned says of it. Make one with OwnedBatch.
type Batch[T any] struct {
	what, callerDomain string
	found              map[string]T
	elsewhere          map[string]string // id -> the other domain it belongs to
}

// OwnedBatch checks a batch look-up of objects (what) made for a caller of
// callerDomain, as Owned checks one: stored is what the store returned for
// the ids asked (missing ids absent, other domains' objects included), ref
// gives an object's id and domain. Another domain's objects are dropped.
func OwnedBatch[T any](what, callerDomain string, stored []T, ref func(T) (id, domain string)) Batch[T] {
	b := Batch[T]{what: what, callerDomain: callerDomain, found: make(map[string]T, len(stored))}
	for _, o := range stored {
		id, domain := ref(o)
		if domain == callerDomain {
			b.found[id] = o
			continue
		}
		if b.elsewhere == nil {
			b.elsewhere = map[string]string{}
		}
		b.elsewhere[id] = domain
	}
	return b
}

// Get returns the object id of the caller's domain. It returns
// apperr.ErrOtherDomain (wrapped) when the object belongs to another domain,
// and apperr.ErrNotFound (wrapped) when there was none: what Owned returns
// for the same look-up made alone.
func (b Batch[T]) Get(id string) (T, error) {
	if o, ok := b.found[id]; ok {
		return o, nil
	}
	var zero T
	if domain, ok := b.elsewhere[id]; ok {
		return zero, Owned(b.what, id, domain, b.callerDomain, nil)
	}
	return zero, Owned(b.what, id, "", b.callerDomain, apperr.ErrNotFound)
}

// Len returns how many of the objects found are the caller's domain's.
func (b Batch[T]) Len() int { return len(b.found) }

// Store persists domains.
type Store interface {
	// CreateDomain stores d. It returns apperr.ErrConflict if the slug is taken.
	CreateDomain(ctx context.Context, d Domain) error
	// DomainBySlug returns apperr.ErrNotFound if no domain has that slug.
	DomainBySlug(ctx context.Context, slug string) (Domain, error)
	// DomainsByName returns the domains whose display name would be taken
	// for name (SameName); none is no error.
	DomainsByName(ctx context.Context, name string) ([]Domain, error)
	// DomainByID returns apperr.ErrNotFound if no domain has that id.
	DomainByID(ctx context.Context, id string) (Domain, error)
}

var (
	slugPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	regionPattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

// MaxNameLength bounds a domain's display name, in characters after NFC
// normalisation.
const MaxNameLength = 100

// Check returns d with its name as it is to be stored (names.Clean), or a
// *apperr.ValidationError for the first bad field: the slug (1 to 63
// lower-case letters, digits or dashes), the name, the default region (two
// upper-case letters) or the sign-up policy ("" becomes SignUpClosed).
func (d Domain) Check() (Domain, error) {
	if !slugPattern.MatchString(d.Slug) {
		return Domain{}, apperr.Invalid("slug", "INVALID", "slug must be 1 to 63 lower-case letters, digits or dashes")
	}
	name, err := names.Clean("name", d.Name, MaxNameLength)
	if err != nil {
		return Domain{}, err
	}
	d.Name = name
	if !regionPattern.MatchString(d.DefaultRegion) {
		return Domain{}, apperr.Invalid("defaultRegion", "INVALID", "default region must be a two-letter region code")
	}
	switch d.SignUpPolicy {
	case "":
		d.SignUpPolicy = SignUpClosed
	case SignUpOpen, SignUpClosed:
	default:
		return Domain{}, apperr.Invalid("signUpPolicy", "INVALID", "the sign-up policy is OPEN or CLOSED")
	}
	switch d.AssistConsent = d.AssistConsent.OrDefault(); d.AssistConsent {
	case AssistConsentNone, AssistConsentControl, AssistConsentAll:
	default:
		return Domain{}, apperr.Invalid("assistConsent", "INVALID", "the assistance consent is NONE, CONTROL or ALL")
	}
	return d, nil
}
