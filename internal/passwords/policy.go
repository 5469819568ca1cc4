package passwords

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/iotconsole/bff/internal/apperr"
)

// Policy limits, after NIST SP 800-63B: length and a blocklist, no
// composition rules.
const (
	MinLengthFloor   = 8
	MinLengthCeiling = 64
	DefaultMinLength = 12
	MaxLength        = 256 // characters; far above the 64 NIST asks verifiers to allow
)

//go:embed common-passwords.txt
var commonPasswordsText string

// common is the blocklist: the 10,000 most common passwords (see
// common-passwords.NOTICE), lower case.
var common = func() map[string]struct{} {
	m := make(map[string]struct{}, 10000)
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			m[strings.ToLower(line)] = struct{}{}
		}
	}
	return m
}()

// Policy decides whether a new password is acceptable. The same policy
// applies to every way a password is set: sign-up, self-service change and an
// operator's reset (demo data excepted).
type Policy struct {
	MinLength int // characters, MinLengthFloor to MinLengthCeiling
}

// ErrSamePassword answers a new password that is the current one: a
// change, forced or not, must change it.
var ErrSamePassword = apperr.Invalid("newPassword", "SAME_PASSWORD", "Choose a new password, different from the current one.")

// ForDomain returns p with a domain's own minimum length (its setting),
// or p itself for 0 (the domain keeps the server's).
func (p Policy) ForDomain(minLength int) Policy {
	if minLength > 0 {
		p.MinLength = minLength
	}
	return p
}

// NewPolicy returns a Policy, or an error if minLength is out of range.
func NewPolicy(minLength int) (Policy, error) {
	if minLength < MinLengthFloor || minLength > MinLengthCeiling {
		return Policy{}, fmt.Errorf("password minimum length %d: want %d to %d", minLength, MinLengthFloor, MinLengthCeiling)
	}
	return Policy{MinLength: minLength}, nil
}

// Check returns a *apperr.ValidationError on field when password is too
// short, too long, one of the most common passwords, or the same as one of
// personal (the account's email, its local part, names), case-insensitively.
func (p Policy) Check(field, password string, personal ...string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.MinLength:
		return apperr.Invalid(field, "TOO_SHORT", fmt.Sprintf("Use at least %d characters.", p.MinLength))
	case n > MaxLength:
		return apperr.Invalid(field, "TOO_LONG", fmt.Sprintf("Use at most %d characters.", MaxLength))
	}
	lower := strings.ToLower(password)
	if _, found := common[lower]; found {
		return apperr.Invalid(field, "COMMON_PASSWORD", "This password is one of the most common ones; choose another.")
	}
	for _, v := range personal {
		if v = strings.ToLower(strings.TrimSpace(v)); v != "" && lower == v {
			return apperr.Invalid(field, "MATCHES_ACCOUNT", "The password must not be your email address or name.")
		}
	}
	return nil
}
