package customers

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"

	"github.com/iotconsole/bff/internal/devices"
)

// MatchField is a part of a customer a search term matched.
type MatchField string

// The parts of a customer a search matches.
const (
	MatchName       MatchField = "NAME"
	MatchEmail      MatchField = "EMAIL"
	MatchPhone      MatchField = "PHONE"
	MatchDevice     MatchField = "DEVICE" // a device's serial number or MAC address
	MatchExternalID MatchField = "EXTERNAL_ID"
	MatchID         MatchField = "ID" // the whole id, when the search was for it (Service.Search)
)

// TextRange is a part of a shown value: Start and Length count UTF-16 code
// units, as JavaScript strings index text.
type TextRange struct {
	Start, Length int
}

// Highlight says where a customer's shown value holds what was typed.
type Highlight struct {
	Field  MatchField
	Value  string      // the value as shown: "First Last", the email, the phone, a serial number, ...
	Ranges []TextRange // the typed parts, in order, not overlapping
}

// Matches returns, for the search terms (ParseQuery's), the parts of c (with
// its devices) they match, in MatchField order, each with the value shown and
// where the terms are in it. A term reached through a form the value does not
// show (a transliteration, the E.164 digits of a national number) highlights
// the word or the value it belongs to. The phone number is read as
// SearchTokens reads it (region: the domain's default region now).
func Matches(c Customer, devs []devices.Device, terms []string, region string) []Highlight {
	if len(terms) == 0 {
		return nil
	}
	var out []Highlight
	phoneRegion := c.RegionOfPhone(region)
	forms := make([][]string, len(terms)) // what each term matches tokens by
	for i, term := range terms {
		forms[i] = TermForms(term)
	}
	add := func(field MatchField, value string, tokens []string) {
		var ranges []TextRange
		for i, term := range terms {
			if !slices.ContainsFunc(tokens, func(t string) bool { return hasAnyPrefix(t, forms[i]) }) {
				continue
			}
			if field == MatchPhone {
				ranges = append(ranges, digitsRange(value, term, phoneRegion))
			} else {
				ranges = append(ranges, wordRange(value, term))
			}
		}
		if len(ranges) > 0 {
			out = append(out, Highlight{Field: field, Value: value, Ranges: mergeRanges(ranges)})
		}
	}
	add(MatchName, c.FirstName+" "+c.LastName, NameTokens(c.FirstName, c.LastName))
	if c.Email != "" {
		folded := Fold(c.Email)
		add(MatchEmail, c.Email, append(searchWords(folded), untagged(folded)))
	}
	if c.Phone != "" {
		add(MatchPhone, c.Phone, PhoneTokens(c.Phone, phoneRegion))
	}
	for _, d := range devs {
		add(MatchDevice, d.SerialNumber, DeviceTokens(devices.Device{SerialNumber: d.SerialNumber}))
		if d.MACAddress != "" {
			add(MatchDevice, d.MACAddress, DeviceTokens(devices.Device{MACAddress: d.MACAddress}))
		}
	}
	if c.ExternalID != "" {
		id := Fold(c.ExternalID)
		add(MatchExternalID, c.ExternalID, append(searchWords(id), strings.Join(words(id), "")))
	}
	return out
}

// hasAnyPrefix reports whether one of prefixes (a term's forms, TermForms)
// is a prefix of token: whether the term matches the stored token.
func hasAnyPrefix(token string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(token, p) })
}

// searchWords returns the tokens of a folded email or id as SearchTokens
// makes them: the whole, and what follows each "@" or other punctuation.
func searchWords(folded string) []string {
	tokens := []string{cleanToken(folded)}
	for i, r := range folded {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && i+1 < len(folded) {
			tokens = append(tokens, cleanToken(folded[i+1:]))
		}
	}
	return tokens
}

// wordRange returns the part of value that term, a prefix of one of its
// tokens, stands for: the folded prefix of the first word (or of the text
// after a punctuation mark) that begins with term, else the first such
// prefix that holds term's letters and digits with value's punctuation
// between them ("T100-2025" for "t1002025"), else the first word one of
// whose spellings does (a transliteration), else the whole value.
func wordRange(value, term string) TextRange {
	runes := []rune(value)
	starts := []int{0}
	for i := 1; i < len(runes); i++ {
		if !isWordRune(runes[i-1]) && isWordRune(runes[i]) {
			starts = append(starts, i)
		}
	}
	for _, start := range starts {
		if end, ok := coveringPrefix(runes, start, term, cleanToken); ok {
			return utf16Range(runes, start, end)
		}
	}
	if bare := wordRunesOf(term); bare != "" {
		for _, start := range starts {
			if end, ok := coveringPrefix(runes, start, bare, wordRunesOf); ok {
				return utf16Range(runes, start, end)
			}
		}
	}
	for _, start := range starts {
		end := start
		for end < len(runes) && isWordRune(runes[end]) {
			end++
		}
		word := string(runes[start:end])
		spellings := append(words(Fold(word)), Transliterations(word)...)
		if slices.ContainsFunc(spellings, func(s string) bool { return strings.HasPrefix(s, term) }) {
			return utf16Range(runes, start, end)
		}
	}
	return utf16Range(runes, 0, len(runes))
}

// coveringPrefix folds runes from start, one by one and kept to what keep
// keeps, until the text covers term; it returns where that text ends and
// whether it begins with term.
func coveringPrefix(runes []rune, start int, term string, keep func(string) string) (int, bool) {
	folded := ""
	for end := start; end < len(runes); end++ {
		folded += keep(Fold(string(runes[end])))
		if len(folded) >= len(term) {
			return end + 1, strings.HasPrefix(folded, term)
		}
	}
	return 0, false
}

// digitsRange returns the digits of the shown phone number (read in region)
// that the digits term stands for: where they appear in it; or, for a term
// that begins the number's E.164 digits or its national dialling form when
// the number is written otherwise, the national digits the term holds after
// the country code or trunk prefix ("415" of "(415) 555-0199" for "+1 415",
// "20" of "+44 20 7946 0018" for "020"); or, when the term holds a prefix the
// number is not written with, the longest tail of the term that appears;
// else the whole number.
func digitsRange(value, term, region string) TextRange {
	runes := []rune(value)
	var digitAt []int // the rune index of each digit (a rune may fold to several: "⑩")
	var digits strings.Builder
	for i, r := range runes {
		d := Digits(string(r))
		for range len(d) {
			digitAt = append(digitAt, i)
		}
		digits.WriteString(d)
	}
	shown := digits.String()
	if i := strings.Index(shown, term); i >= 0 {
		return utf16Range(runes, digitAt[i], digitAt[i+len(term)-1]+1)
	}
	if forms, national := phoneForms(value, region); national != "" {
		// The E.164 digits (country code, national number) and the national
		// dialling form (trunk prefix, national number): a term that begins
		// one of them stands for the national digits it holds after its prefix.
		for _, form := range []string{forms[1], forms[3]} {
			prefix, ok := strings.CutSuffix(form, national)
			if typed := len(term) - len(prefix); ok && typed > 0 && strings.HasPrefix(form, term) {
				if i := strings.Index(shown, national); i >= 0 {
					return utf16Range(runes, digitAt[i], digitAt[i+typed-1]+1)
				}
			}
		}
	}
	for drop := 1; drop < len(term); drop++ {
		part := term[drop:]
		if len(part) < minPhoneSuffix {
			break
		}
		if i := strings.Index(shown, part); i >= 0 {
			return utf16Range(runes, digitAt[i], digitAt[i+len(part)-1]+1)
		}
	}
	return utf16Range(runes, 0, len(runes))
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

// wordRunesOf returns s without the runes that are not letters or digits.
func wordRunesOf(s string) string { return keepRunes(s, isWordRune) }

// utf16Range returns the UTF-16 range of runes[start:end].
func utf16Range(runes []rune, start, end int) TextRange {
	return TextRange{Start: len(utf16.Encode(runes[:start])), Length: len(utf16.Encode(runes[start:end]))}
}

// mergeRanges sorts ranges and joins those that overlap or touch.
func mergeRanges(ranges []TextRange) []TextRange {
	slices.SortFunc(ranges, func(a, b TextRange) int { return a.Start - b.Start })
	out := ranges[:1]
	for _, r := range ranges[1:] {
		last := &out[len(out)-1]
		if r.Start <= last.Start+last.Length {
			last.Length = max(last.Length, r.Start+r.Length-last.Start)
			continue
		}
		out = append(out, r)
	}
	return out
}
