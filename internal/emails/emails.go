// Package emails holds the one rule for the email addresses accounts are
// created with, so every way of creating an account checks them alike.
package emails

import (
	"net/mail"
	"strings"

	"golang.org/x/net/idna"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/names"
)

// MaxLength is the longest address that can be used on the internet: a
// forward path of RFC 5321 (section 4.5.3.1.3) is at most 256 octets,
// including two angle brackets.
const MaxLength = 254

// Parse returns the address value names, as it is to be stored and compared
// (lower case, the way sign-in looks accounts up). It returns a
// *apperr.ValidationError on field, code INVALID (REQUIRED when blank), unless
// value, without surrounding white space, is one bare RFC 5322 addr-spec as
// net/mail reads it (no display name, no angle brackets, no comments),
// exactly as written, whose domain is a name of at least two labels that
// can be looked up (domainNames: "localhost", "example.", "-example.com"
// and "[192.0.2.1]" are refused), of at most MaxLength characters and passing
// names.Clean (no control, invisible or text-direction characters).
func Parse(field, value string) (string, error) {
	value, err := names.Clean(field, value, MaxLength)
	if err != nil {
		return "", err
	}
	a, err := mail.ParseAddress(value)
	if err != nil || a.Name != "" || a.Address != value {
		return "", invalid(field)
	}
	at := strings.LastIndexByte(value, '@')
	if at < 1 || !validDomain(value[at+1:]) {
		return "", invalid(field)
	}
	return strings.ToLower(value), nil
}

// domainNames checks an address's domain as a name that can be looked up:
// IDNA's lookup mapping with the hostname rules of STD 3 (letters, digits
// and hyphens, no hyphen at a label's ends: "-example.com" and
// "exa_mple.com" are refused), the Bidi rule of RFC 5893 and DNS's lengths
// (labels of at most 63 octets, once in ASCII). Internationalised names
// ("bücher.de") pass.
var domainNames = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true), idna.StrictDomainName(true))

// validDomain reports whether d is a dot-separated name of two or more
// non-empty labels that domainNames accepts: net/mail already refused
// anything but atoms, dots and a domain literal ("[192.0.2.1]"), which no
// account needs.
func validDomain(d string) bool {
	if strings.HasPrefix(d, "[") || strings.Count(d, ".") < 1 {
		return false
	}
	_, err := domainNames.ToASCII(d)
	return err == nil
}

func invalid(field string) error {
	return apperr.Invalid(field, "INVALID", "Enter an email address such as name@example.com.")
}
