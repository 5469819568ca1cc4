package resolvers

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/iotconsole/bff/internal/apperr"
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
