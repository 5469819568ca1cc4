package customers

import (
	"context"
	"strings"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/domains"
)

// ImportReason is the reason of the audit records and events an import's
// changes leave.
const ImportReason = "import"

// ApplyImport brings current, a customer of domain d, to what an import file
// says of it (wanted), for actor, and reports whether anything changed. Each
// kind of change goes through the rule that owns it, each audited as an
// import:
//   - names, email and phone as UpdateProfile (PROFILE_UPDATED);
//   - the status as SetStatus (disabling ends the sessions; STATUS_CHANGED),
//     only ever to DISABLED (importedStatus);
//   - the external id, only when the customer has none, the password hash,
//     only when the customer has no password (so that rerunning an old file
//     never undoes a password the customer chose since), and the search
//     tokens, when the external id is set or devicesAdded (the import stored
//     devices of the customer before this call, or an import killed after
//     storing them did, see imports.tokensHoldSerials) and no profile change
//     just derived them, in one user_updated write.
//
// The steps are separate writes: an interrupted call leaves some done, and
// calling it again with the same wanted finishes the rest. It returns the
// errors of those methods (a *apperr.ValidationError such as EMAIL_TAKEN,
// or CONFLICT when the customer changed meanwhile).
func (s *Service) ApplyImport(ctx context.Context, actor audit.Actor, d domains.Domain, current, wanted Customer, devicesAdded bool) (bool, error) {
	changed := false
	var ch ProfileChange
	for _, f := range []struct {
		have, want string
		into       **string
	}{
		{current.FirstName, wanted.FirstName, &ch.FirstName}, {current.LastName, wanted.LastName, &ch.LastName},
		{current.Email, wanted.Email, &ch.Email}, {current.Phone, wanted.Phone, &ch.Phone},
	} {
		if f.have != f.want {
			*f.into = &f.want
		}
	}
	if ch.Phone != nil {
		ch.PhoneRegion = wanted.PhoneRegion
	}
	if ch != (ProfileChange{}) {
		if _, _, err := s.UpdateProfile(ctx, actor, d, current.ID, current.Version, ch); err != nil {
			return changed, err
		}
		changed = true
	}
	if status := importedStatus(current.Status, wanted.Status); status != current.Status {
		if _, _, err := s.SetStatus(ctx, actor, current.ID, status, ImportReason); err != nil {
			return changed, err
		}
		changed = true
	}
	_, wrote, err := s.update(ctx, d.ID, current.ID, func(c Customer) (*Update, error) {
		u := &Update{At: s.now()}
		var fields []string
		if c.ExternalID == "" && wanted.ExternalID != "" {
			c.ExternalID, u.ExternalID = wanted.ExternalID, &wanted.ExternalID
			fields = append(fields, "externalId")
		}
		if c.PasswordHash == "" && wanted.PasswordHash != "" {
			u.PasswordHash = &wanted.PasswordHash
			fields = append(fields, "passwordHash")
		}
		// The tokens hold the external id and the devices: derived again when
		// this sets the one, or the import added devices and no profile
		// change above derived them (UpdateProfile derives with every
		// device), unless the store keeps no tokens (it gives none back: the
		// embedded one), which indexed the devices as it stored them.
		if u.ExternalID != nil || (devicesAdded && ch == (ProfileChange{})) {
			if len(fields) == 0 { // the devices the import added are found by the search
				fields = append(fields, "devices")
			}
			if u.ExternalID != nil || c.SearchTokens != nil {
				devs, err := s.store.DevicesByCustomer(ctx, c.ID)
				if err != nil {
					return nil, err
				}
				u.SearchTokens = SearchTokens(c, devs, d.DefaultRegion)
			}
		}
		if len(fields) == 0 {
			return nil, nil
		}
		u.Audit = AuditRecord(actor, audit.ActionUserUpdated, c.ID, ImportReason+": set "+strings.Join(fields, ", "), u.At, audit.RequestID(ctx))
		return u, nil
	})
	return changed || wrote, err
}

// importedStatus is the status an import leaves a stored customer in:
// DISABLED when the file says so, otherwise the customer's own. An import
// never enables an account: enabling is an operator's decision
// (setAccountStatus), and a file without statuses (read as ACTIVE) or an
// old one, run again after an operator disabled an account for fraud, would
// silently undo it.
func importedStatus(current, wanted Status) Status {
	if wanted == StatusDisabled {
		return wanted
	}
	return current
}

// ImportChanges names the fields ApplyImport would change in current to
// bring it to wanted (none: the record is unchanged).
func ImportChanges(current, wanted Customer) []string {
	var fields []string
	for _, f := range []struct {
		name       string
		have, want string
	}{
		{FieldFirstName, current.FirstName, wanted.FirstName}, {FieldLastName, current.LastName, wanted.LastName},
		{FieldEmail, current.Email, wanted.Email}, {FieldPhone, current.Phone, wanted.Phone}, {"status", string(current.Status), string(importedStatus(current.Status, wanted.Status))},
	} {
		if f.have != f.want {
			fields = append(fields, f.name)
		}
	}
	if current.ExternalID == "" && wanted.ExternalID != "" {
		fields = append(fields, "externalId")
	}
	if current.PasswordHash == "" && wanted.PasswordHash != "" {
		fields = append(fields, "passwordHash")
	}
	return fields
}
