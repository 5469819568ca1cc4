package gqlmarshal

import (
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/iotconsole/bff/internal/apperr"
)

// MarshalTime writes the schema's Time scalar: an RFC 3339 date and time
// with nanoseconds where there are some (gqlgen's graphql.MarshalTime).
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.MarshalTime(t)
}

// UnmarshalTime reads the schema's Time scalar: a string in RFC 3339 with
// its offset ("2026-01-31T09:30:00Z", fractions of a second allowed).
// Anything else, from a variable or an inline literal, is an
// apperr.ValidationError (BAD_USER_INPUT), never an internal error, and its
// message does not repeat the value (gqlgen's graphql.UnmarshalTime failed
// with an error the server answered INTERNAL and logged as one).
func UnmarshalTime(v any) (time.Time, error) {
	if s, ok := v.(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &apperr.ValidationError{Code: "INVALID",
		Message: "a Time is a date and time in RFC 3339 with its offset, such as 2026-01-31T09:30:00Z"}
}
