package domains

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
)

// Bounds of the settings an ADMIN changes: the same as the server's flags
// (ASSIST_TTL must be positive, PASSWORD_MIN_LENGTH 8 to 64; an assistance
// is bounded to a working day).
const (
	MinAssistTTL         = time.Minute
	MaxAssistTTL         = 24 * time.Hour
	MinPasswordMinLength = 8
	MaxPasswordMinLength = 64
)

// SettingsChange is an ADMIN's change of its domain's settings; nil fields
// stay as they are. A zero AssistTTL or PasswordMinLength goes back to the
// server's default.
type SettingsChange struct {
	Name               *string
	DefaultRegion      *string
	SignUpPolicy       *SignUpPolicy
	RequireOperatorMFA *bool
	AssistTTL          *time.Duration
	PasswordMinLength  *int
	AssistConsent      *AssistConsent
	// BySecondFactor: the change comes from a session opened with a second
	// factor, which requiring one of operators needs.
	BySecondFactor bool
}

// SettingsStore is what changing settings writes.
type SettingsStore interface {
	Finder
	DomainByID(ctx context.Context, id string) (Domain, error)
	// UpdateDomain stores d's settings (not its slug) with rec, its audit
	// record, and evs, its events; apperr.ErrNotFound for no domain of that
	// id.
	UpdateDomain(ctx context.Context, d Domain, rec audit.Record, evs ...events.Event) error
}

// Service changes domains' settings.
type Service struct {
	store SettingsStore
	now   func() time.Time
}

// NewService returns a Service over store on the clock now.
func NewService(store SettingsStore, now func() time.Time) *Service {
	return &Service{store: store, now: now}
}

// UpdateSettings applies ch to actor's domain for actor (an ADMIN) and
// returns the domain and whether anything changed. Every instance reads
// the domain afresh where a setting applies, so a change takes effect at
// once everywhere: requiring a second factor of operators ends, on every
// instance, the operator sessions not opened with one, whose operators
// sign in again with their code or set an app up
// (events.SecondFactorRequired). Audited (domain_updated, its reason each
// field changed with its value before and after: `changed: assistConsent
// NONE → ALL`). It returns a *apperr.ValidationError for each bad field,
// joined (errors.Join), nothing changed: the name
// (names.Clean), the region (a region the phone library knows, ISO 3166
// alpha-2), the sign-up policy, the assistance length (MinAssistTTL to
// MaxAssistTTL, whole seconds), the password minimum (8 to 64) or the
// assistance consent (NONE, CONTROL or ALL); NAME_TAKEN on name for a name
// another domain signs in with (CheckNameFree); SECOND_FACTOR_REQUIRED on
// requireOperatorMfa for turning it on from a session not opened with a
// second factor (ch.BySecondFactor).
func (s *Service) UpdateSettings(ctx context.Context, actor audit.Actor, ch SettingsChange) (Domain, bool, error) {
	d, err := s.store.DomainByID(ctx, actor.DomainID)
	if err != nil {
		return Domain{}, false, err
	}
	next, changed := d, []string{}
	var invalid []error // every bad value is answered at once, not one a save
	// change notes a field's change for the audit record, with its value
	// before and after (a domain's settings hold nothing personal).
	change := func(field string, from, to any) {
		changed = append(changed, fmt.Sprintf("%s %v → %v", field, from, to))
	}
	if ch.Name != nil && *ch.Name != d.Name {
		next.Name = *ch.Name
		change("name", strconv.Quote(d.Name), strconv.Quote(*ch.Name))
	}
	if ch.DefaultRegion != nil {
		region := strings.ToUpper(strings.TrimSpace(*ch.DefaultRegion))
		if !KnownRegion(region) {
			invalid = append(invalid, apperr.Invalid("defaultRegion", "INVALID", "Use a two-letter country code such as US, GB or DE."))
		} else if region != d.DefaultRegion {
			next.DefaultRegion = region
			change("defaultRegion", d.DefaultRegion, region)
		}
	}
	if ch.SignUpPolicy != nil && *ch.SignUpPolicy != d.SignUpPolicy {
		next.SignUpPolicy = *ch.SignUpPolicy
		change("signUpPolicy", d.SignUpPolicy, *ch.SignUpPolicy)
	}
	if ch.RequireOperatorMFA != nil && *ch.RequireOperatorMFA != d.RequireOperatorMFA {
		if *ch.RequireOperatorMFA && !ch.BySecondFactor {
			// It would end the actor's own session, and leave the domain to
			// an ADMIN who has not been through the set-up it imposes.
			invalid = append(invalid, apperr.Invalid("requireOperatorMfa", "SECOND_FACTOR_REQUIRED",
				"Set up your own authenticator app first (Security): requiring a second factor ends every operator session opened without one."))
		} else {
			next.RequireOperatorMFA = *ch.RequireOperatorMFA
			change("requireOperatorMfa", d.RequireOperatorMFA, *ch.RequireOperatorMFA)
		}
	}
	if ch.AssistTTL != nil {
		ttl := *ch.AssistTTL
		if ttl != 0 && (ttl < MinAssistTTL || ttl > MaxAssistTTL || ttl%time.Second != 0) {
			invalid = append(invalid, apperr.Invalid("assistTtlSeconds", "OUT_OF_RANGE",
				fmt.Sprintf("An assistance lasts %d to %d seconds (0: the server's default).", int(MinAssistTTL/time.Second), int(MaxAssistTTL/time.Second))))
		} else if ttl != d.AssistTTL {
			next.AssistTTL = ttl
			change("assistTtlSeconds", int(d.AssistTTL/time.Second), int(ttl/time.Second))
		}
	}
	if ch.PasswordMinLength != nil {
		n := *ch.PasswordMinLength
		if n != 0 && (n < MinPasswordMinLength || n > MaxPasswordMinLength) {
			invalid = append(invalid, apperr.Invalid("passwordMinLength", "OUT_OF_RANGE",
				fmt.Sprintf("The minimum password length is %d to %d characters (0: the server's default).", MinPasswordMinLength, MaxPasswordMinLength)))
		} else if n != d.PasswordMinLength {
			next.PasswordMinLength = n
			change("passwordMinLength", d.PasswordMinLength, n)
		}
	}
	if ch.AssistConsent != nil && *ch.AssistConsent != d.AssistConsent {
		next.AssistConsent = *ch.AssistConsent
		change("assistConsent", d.AssistConsent, *ch.AssistConsent)
	}
	if next, err = next.Check(); err != nil {
		invalid = append(invalid, err)
	}
	if len(invalid) > 0 {
		return Domain{}, false, errors.Join(invalid...)
	}
	if next.Name != d.Name {
		if err := CheckNameFree(ctx, s.store, next.Name, d.ID); err != nil {
			return Domain{}, false, err
		}
	}
	if len(changed) == 0 {
		return d, false, nil
	}
	at := s.now()
	rec := actor.Record(audit.ActionDomainUpdated, audit.TargetDomain, d.ID, "changed: "+strings.Join(changed, ", "))
	rec.ID, rec.At, rec.RequestID = ids.New(), at, audit.RequestID(ctx)
	var evs []events.Event
	if next.RequireOperatorMFA && !d.RequireOperatorMFA {
		evs = append(evs, events.Event{ID: ids.New(), DomainID: d.ID, Type: events.SecondFactorRequired, ActorID: actor.ID, OccurredAt: at})
	}
	if err := s.store.UpdateDomain(ctx, next, rec, evs...); err != nil {
		return Domain{}, false, fmt.Errorf("update domain %s: %w", d.ID, err)
	}
	return next, true, nil
}

// KnownRegion reports whether region is a two-letter (ISO 3166 alpha-2)
// region the phone library reads numbers of.
func KnownRegion(region string) bool {
	if !regionPattern.MatchString(region) {
		return false
	}
	_, ok := phonenumbers.GetSupportedRegions()[region]
	return ok
}
