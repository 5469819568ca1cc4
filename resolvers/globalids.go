package resolvers

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/ids"
)

// Global id type names.
const (
	typeCustomer = "Customer"
	typeOperator = "Operator"
	typeDevice   = "Device"
	typeAssist   = "AssistSession"
)

// globalID returns the opaque id clients see: base64url of "Type:id".
func globalID(typ, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id))
}

// parseGlobalID returns the type and internal id inside gid. It returns
// apperr.ErrNotFound for anything that is not a well-formed global id, so a
// forged id looks like a missing object.
func parseGlobalID(gid string) (typ, id string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	if err != nil || len(raw) > 200 {
		return "", "", fmt.Errorf("global id: %w", apperr.ErrNotFound)
	}
	typ, id, ok := strings.Cut(string(raw), ":")
	if !ok || typ == "" || id == "" {
		return "", "", fmt.Errorf("global id: %w", apperr.ErrNotFound)
	}
	return typ, id, nil
}

// filterID returns the internal id that a list's filter argument field
// names: the global id of an object of type typ, or a bare id as the audit
// log shows one (ids.IsNew's form), white space around either aside. Anything else is refused with a
// *apperr.ValidationError on field (BAD_USER_INPUT), so that a badly pasted
// id is told, not answered with an empty list as if it named no one's
// records; a well-formed id that names no object of the domain still gives
// an empty list (it tells nothing of other domains).
func filterID(typ, field, gid string) (string, error) {
	gid = strings.TrimSpace(gid)
	if ids.IsNew(gid) {
		return gid, nil
	}
	id, err := idOf(typ, gid)
	if err != nil {
		return "", apperr.Invalid(field, "INVALID", fmt.Sprintf("%s is not the id of a %s (its id, as the API gives it, or the bare id the audit log shows)", field, typ))
	}
	return id, nil
}

// idOf returns the internal id inside gid if it names an object of type typ.
func idOf(typ, gid string) (string, error) {
	t, id, err := parseGlobalID(gid)
	if err != nil {
		return "", err
	}
	if t != typ {
		return "", fmt.Errorf("global id of %s, want %s: %w", t, typ, apperr.ErrNotFound)
	}
	return id, nil
}
