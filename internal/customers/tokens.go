package customers

import (
	"slices"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// minPhoneSuffix is the shortest tail of a phone number that is indexed, so
// that the last digits a caller reads out ("0199") find the customer.
const minPhoneSuffix = 4

// undecomposable spells out the Latin letters that carry their mark inside
// the letter, so no Unicode decomposition strips it ("Łukasz", "Øster", "Weiß").
var undecomposable = strings.NewReplacer(
	"ł", "l", "ø", "o", "đ", "d", "ħ", "h", "ı", "i", "ŧ", "t", "ß", "ss", "æ", "ae", "œ", "oe", "þ", "th", "ð", "d",
)

// Fold returns s in the form every search token and query term is compared in:
// compatibility-decomposed (full-width letters become ASCII), combining marks
// removed ("Müller" becomes "muller"), lower case, and the few Latin letters
// with built-in marks spelled plainly ("Łukasz" becomes "lukasz"). Invalid
// UTF-8 bytes are dropped.
func Fold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s) // nothing to decompose: the common case, and 20 times faster
	}
	s = strings.ToValidUTF8(s, "")
	t := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	return undecomposable.Replace(strings.ToLower(folded))
}

// words splits folded text on everything that is not a letter or a digit.
// Every token is also cleaned (cleanToken) so that it holds only letters,
// digits and the punctuation of email addresses: the characters query terms
// keep too.
func words(folded string) []string {
	return strings.FieldsFunc(folded, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
}

// SearchTokens returns the sorted, distinct tokens a search term may be a
// prefix of: each word of the names (and a name joined across apostrophes and
// dashes, so "obrien" finds "O'Brien"), the whole email, its local part, the
// words of the local part and its domain, and the phone number's digits in
// international, national and raw form plus its tails (see PhoneTokens), and
// the external id whole, word by word and with its punctuation removed (the
// form a query term takes: "ext-42" is searched as "ext42").
func SearchTokens(c Customer, region string) []string {
	var tokens []string
	for _, name := range []string{c.FirstName, c.LastName} {
		parts := words(Fold(name))
		tokens = append(tokens, parts...)
		if len(parts) > 1 {
			tokens = append(tokens, strings.Join(parts, ""))
		}
	}
	if email := Fold(c.Email); email != "" {
		tokens = append(tokens, email)
		local, domain, found := strings.Cut(email, "@")
		tokens = append(tokens, local)
		tokens = append(tokens, words(local)...)
		if found && domain != "" {
			tokens = append(tokens, domain)
		}
	}
	tokens = append(tokens, PhoneTokens(c.Phone, region)...)
	if id := Fold(c.ExternalID); id != "" {
		parts := words(id)
		tokens = append(tokens, id, strings.Join(parts, ""))
		tokens = append(tokens, parts...)
	}
	for i, t := range tokens {
		tokens[i] = cleanToken(t)
	}
	slices.Sort(tokens)
	return slices.Compact(slices.DeleteFunc(tokens, func(t string) bool { return t == "" }))
}

// Digits returns only the ASCII digits of s, after folding full-width digits.
func Digits(s string) string {
	var b strings.Builder
	for _, r := range Fold(s) {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// PhoneTokens returns the digit strings a phone number is found by: its raw
// digits always, and when it parses (with region as the default country) its
// E.164 digits, its national significant number, its national dialling form
// and every tail of the national number of at least minPhoneSuffix digits.
func PhoneTokens(phone, region string) []string {
	raw := Digits(phone)
	if raw == "" {
		return nil
	}
	tokens := []string{raw}
	num, err := phonenumbers.Parse(phone, region)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return tokens
	}
	e164 := strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+")
	national := phonenumbers.GetNationalSignificantNumber(num)
	dialled := Digits(phonenumbers.Format(num, phonenumbers.NATIONAL))
	tokens = append(tokens, e164, national, dialled)
	for i := 1; len(national)-i >= minPhoneSuffix; i++ {
		tokens = append(tokens, national[i:])
	}
	slices.Sort(tokens)
	return slices.Compact(tokens)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
