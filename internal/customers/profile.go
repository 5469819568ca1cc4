package customers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/shred"
)

// ErrEmailTaken is what Store.UpdateCustomer returns when the new email is
// another customer's of the domain.
var ErrEmailTaken = errors.New("email taken by another customer of the domain")

// errVersionMoved answers a change decided on a version the customer has
// left: someone else changed it meanwhile.
var errVersionMoved = apperr.Invalid("version", "CONFLICT",
	"These details were changed meanwhile (by someone else, or elsewhere). Read them again, then make your change.")

// The profile fields, named as the API names them (in the audit record's
// reason, its details and the PROFILE_UPDATED event).
const (
	FieldFirstName = "firstName"
	FieldLastName  = "lastName"
	FieldEmail     = "email"
	FieldPhone     = "phone"
)

// ProfileChange is an operator's correction of a customer's profile: nil
// fields stay as they are; an empty Phone removes the phone number.
type ProfileChange struct {
	FirstName, LastName, Email, Phone *string
	// PhoneRegion is the region a changed Phone is read in ("": the
	// domain's default region); an import may name one (imports.Record).
	PhoneRegion string
}

// checked returns ch as it is to be stored, each given field under the rule
// Profile.Check has for it, or the *apperr.ValidationError of the first bad
// one. Fields not given are not judged: a value stored under older rules
// does not block the correction of another field.
func (ch ProfileChange) checked() (ProfileChange, error) {
	// Check judges every field: the ones not given get values it accepts.
	p := Profile{FirstName: "x", LastName: "x", Email: "x@example.com"}
	for _, f := range []struct{ given, into *string }{
		{ch.FirstName, &p.FirstName}, {ch.LastName, &p.LastName}, {ch.Email, &p.Email}, {ch.Phone, &p.Phone},
	} {
		if f.given != nil {
			*f.into = *f.given
		}
	}
	p, err := p.Check()
	if err != nil {
		return ProfileChange{}, err
	}
	if ch.PhoneRegion != "" && !domains.KnownRegion(ch.PhoneRegion) {
		return ProfileChange{}, apperr.Invalid("phoneRegion", "INVALID", "Use a two-letter country code such as US, GB or DE.")
	}
	out := ProfileChange{PhoneRegion: ch.PhoneRegion}
	for _, f := range []struct {
		given *string
		value string
		into  **string
	}{
		{ch.FirstName, p.FirstName, &out.FirstName}, {ch.LastName, p.LastName, &out.LastName},
		{ch.Email, p.Email, &out.Email}, {ch.Phone, p.Phone, &out.Phone},
	} {
		if f.given != nil {
			*f.into = &f.value
		}
	}
	return out, nil
}

// valueChange is one field's old and new value, in an audit record's details.
type valueChange struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// A customer corrects its own profile ownEditsBurst times in a row, then
// once every ownEditsRefill (a token bucket, throttle.Bucket): each
// correction is an audit record and an event every console of the domain
// reads, and a tryout wrote 150 of them in a quarter of a second. People
// correcting a typo need a few.
const (
	ownEditsBurst  = 10
	ownEditsRefill = time.Minute
)

// UpdateProfile corrects the profile of customer id of domain d for actor
// (an operator, or the customer itself: updateProfile), if the customer is
// still at version: only the fields ch gives change. The change, its search
// tokens (a new phone number read in d's region now), its audit record
// (user_updated: the reason names the fields that changed, the details hold
// the old and new email and phone, sealed under the customer's data key)
// and a PROFILE_UPDATED event are one write. It returns the customer and
// whether anything changed (giving the values it has changes nothing and
// writes nothing), or a *apperr.ValidationError: a bad field
// (Profile.Check's rules), EMAIL_TAKEN for another customer's email, or
// CONFLICT on version when the customer changed since that version; nothing
// is written then. Another domain's customer is apperr.ErrNotFound. The
// customer's own corrections past its budget (ownEditsBurst) are
// apperr.ErrRateLimited (apperr.RetryAfter), writing nothing; only a
// correction written counts (a save that changes nothing or is refused
// gives its share back).
func (s *Service) UpdateProfile(ctx context.Context, actor audit.Actor, d domains.Domain, id string, version int64, ch ProfileChange) (Customer, bool, error) {
	if actor.Type != audit.ActorCustomer {
		return s.updateProfile(ctx, actor, d, id, version, ch)
	}
	if _, refused, err := s.ownEdits.Reserve(ctx, id); err != nil || refused > 0 {
		return Customer{}, false, cmp.Or(err, fmt.Errorf("correct profile: %w", apperr.RetryAfter(refused)))
	}
	c, changed, err := s.updateProfile(ctx, actor, d, id, version, ch)
	if err != nil || !changed {
		err = errors.Join(err, s.ownEdits.Refund(ctx, id))
	}
	return c, changed, err
}

// updateProfile is UpdateProfile without the customer's budget.
func (s *Service) updateProfile(ctx context.Context, actor audit.Actor, d domains.Domain, id string, version int64, ch ProfileChange) (Customer, bool, error) {
	ch, err := ch.checked()
	if err != nil {
		return Customer{}, false, err
	}
	c, err := s.Get(ctx, d.ID, id)
	if err != nil {
		return Customer{}, false, err
	}
	if c.Version != version {
		return Customer{}, false, errVersionMoved
	}
	after, u := c, Update{ID: c.ID, Version: version}
	var changed []string
	details := map[string]valueChange{}
	for _, f := range []struct {
		name         string
		given        *string
		field        *string
		into         **string
		sealedInFull bool
	}{
		{FieldFirstName, ch.FirstName, &after.FirstName, &u.FirstName, false},
		{FieldLastName, ch.LastName, &after.LastName, &u.LastName, false},
		{FieldEmail, ch.Email, &after.Email, &u.Email, true},
		{FieldPhone, ch.Phone, &after.Phone, &u.Phone, true},
	} {
		if f.given == nil || *f.given == *f.field {
			continue
		}
		if f.sealedInFull {
			details[f.name] = valueChange{Old: *f.field, New: *f.given}
		}
		*f.field, *f.into = *f.given, f.given
		changed = append(changed, f.name)
	}
	if len(changed) == 0 {
		return c, false, nil
	}
	if u.FirstName != nil || u.LastName != nil { // the search order needs the whole name
		u.FirstName, u.LastName = &after.FirstName, &after.LastName
	}
	if u.Phone != nil { // read in the domain's region now; a number left as it was keeps its own
		region := cmp.Or(ch.PhoneRegion, d.DefaultRegion)
		after.PhoneRegion, u.PhoneRegion = region, region
	}
	devs, err := s.store.DevicesByCustomer(ctx, c.ID)
	if err != nil {
		return Customer{}, false, err
	}
	u.SearchTokens = SearchTokens(after, devs, d.DefaultRegion)
	u.At = s.now()
	u.Audit = AuditRecord(actor, audit.ActionUserUpdated, c.ID, "changed: "+strings.Join(changed, ", "), u.At, audit.RequestID(ctx))
	if len(details) > 0 {
		if u.Audit.Details, err = s.seal(ctx, c.ID, details); err != nil {
			return Customer{}, false, err
		}
	}
	u.Events = []events.Event{{ID: ids.New(), DomainID: c.DomainID, Type: events.ProfileUpdated, CustomerID: c.ID, ActorID: actor.ID,
		Data: map[string]string{events.KeyFields: strings.Join(changed, ",")}, OccurredAt: u.At}}
	updated, err := s.store.UpdateCustomer(ctx, u)
	switch {
	case errors.Is(err, ErrEmailTaken):
		return Customer{}, false, errEmailTaken
	case errors.Is(err, apperr.ErrConflict):
		return Customer{}, false, errVersionMoved
	case err != nil:
		return Customer{}, false, err
	}
	return updated, true, nil
}

// seal returns v as JSON sealed under the data key of customer id.
func (s *Service) seal(ctx context.Context, id string, v any) (string, error) {
	text, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	key, err := s.store.CustomerKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("data key of customer %s: %w", id, err)
	}
	return shred.Seal(key, id, string(text))
}
