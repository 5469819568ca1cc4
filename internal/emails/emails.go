// Package emails holds the one rule for the email addresses accounts are
// created with, so every way of creating an account checks them alike.
package emails

import (
	"net/mail"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/names"
)

// MaxLength is the longest address that can be used on the internet: a
// forward path of RFC 5321 (section 4.5.3.1.3) is at most 256 octets,
// including two angle brackets.
const MaxLength = 254

// MaxLocalPartLength is the longest part before the "@" a mail server must
// accept, in octets (RFC 5321 section 4.5.3.1.1): a longer one may receive
// no mail, so no reset or notice would reach its account.
const MaxLocalPartLength = 64

// Parse returns the address value names, as it is to be stored and compared
// (Canonical: the form sign-in looks accounts up by). It returns a
// *apperr.ValidationError on field, code INVALID (REQUIRED when blank), unless
// value, without surrounding white space, is one bare RFC 5322 addr-spec as
// net/mail reads it (no display name, no angle brackets, no comments),
// exactly as written, whose domain is a name of at least two labels that
// can be looked up (domainNames: "localhost", "example.", "-example.com"
// and "[192.0.2.1]" are refused), of at most MaxLength characters (TOO_LONG)
// with at most MaxLocalPartLength octets before the "@" (TOO_LONG), and
// passing names.Clean (no control, invisible or text-direction characters).
func Parse(field, value string) (string, error) {
	value, err := names.Clean(field, value, MaxLength)
	if err != nil {
		return "", err
	}
	value = width.Fold.String(value) // full-width letters and "＠" are their ASCII selves
	a, err := mail.ParseAddress(value)
	if err != nil || a.Name != "" || a.Address != value {
		return "", invalid(field)
	}
	at := strings.LastIndexByte(value, '@')
	if at < 1 || !validDomain(value[at+1:]) {
		return "", invalid(field)
	}
	if at > MaxLocalPartLength {
		return "", apperr.Invalid(field, "TOO_LONG", "The part before the @ is at most 64 characters long: mail to a longer one may never arrive.")
	}
	return Canonical(value), nil
}

// Canonical returns the one form of an address that accounts are stored
// and looked up by, so that the ways of writing one mailbox are one
// account: trimmed, in NFC ("u" and a combining diaeresis are "ü"),
// full-width characters as their ASCII selves
// (width.Fold: "ｕma@ｅxample.com"), in lower case, and the domain as IDNA's
// lookup mapping gives it in Unicode ("xn--bcher-kva.example" and
// "BÜCHER.example" are "bücher.example", UTS #46). A domain the mapping
// refuses is left as it is (Parse refuses such an address; sign-in then
// finds no account). Addresses stored before this rule (2026-12-02) may be
// in another form: sign-in also tries the address as typed (see
// sessions.Service).
func Canonical(address string) string {
	address = strings.ToLower(width.Fold.String(norm.NFC.String(strings.TrimSpace(address))))
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return address
	}
	return address[:at+1] + CanonicalDomain(address[at+1:])
}

// CanonicalDomain returns a domain name as Canonical writes an address's:
// as IDNA's lookup mapping gives it in Unicode ("xn--bcher-kva.example" is
// "bücher.example"), or as it is when the mapping refuses it.
func CanonicalDomain(domain string) string {
	unicode, err := domainNames.ToUnicode(domain)
	if err != nil {
		return domain
	}
	return unicode
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
