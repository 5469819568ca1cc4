package resolvers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/iotconsole/bff/internal/apperr"
)

// maxCursorLength bounds the cursor text a client may send.
const maxCursorLength = 1024

// encodeCursor returns the opaque form of a position in a list: base64url
// of its JSON.
func encodeCursor(position any) string {
	b, _ := json.Marshal(position) // positions are structs of plain fields
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeAfter reads the position of an `after` argument made by
// encodeCursor from a position of type C, of which id returns the part no
// position lacks. It returns nil for a nil after, and a
// *apperr.ValidationError for anything the API did not make.
func decodeAfter[C any](after *string, id func(C) string) (*C, error) {
	if after == nil {
		return nil, nil
	}
	var position C
	if err := decodeCursor(*after, &position); err != nil || id(position) == "" {
		return nil, apperr.Invalid("after", "INVALID", "after is not a cursor returned by this API")
	}
	return &position, nil
}

// decodeCursor reads s into position, refusing anything but one JSON object
// of position's fields, base64url encoded, within maxCursorLength.
func decodeCursor(s string, position any) error {
	if len(s) > maxCursorLength {
		return errors.New("cursor too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(position); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the cursor")
	}
	return nil
}
