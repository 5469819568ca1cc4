// Package names holds the one rule for the names people and tools give
// things (device names, operator and customer names, domain names): text that
// a console shows to another person, so it must show exactly what is stored.
package names

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/iotconsole/bff/internal/apperr"
)

// Codes of the *apperr.ValidationError that Clean returns. They are values of
// the API's UserErrorCode enum.
const (
	CodeRequired          = "REQUIRED"
	CodeTooLong           = "TOO_LONG"
	CodeInvalidCharacters = "INVALID" // the API has no narrower code; the message says which
)

// Clean returns value as it is to be stored: in Unicode Normalization Form C
// (so "e" + COMBINING ACUTE ACCENT and "é" are one name), without leading and
// trailing white space. It returns a *apperr.ValidationError on field, and no
// name, when value
//
//   - is not valid UTF-8;
//   - contains a control character (Unicode category Cc: C0 including NUL,
//     tab, line feed and carriage return, DEL, C1 including NEXT LINE), or a
//     line or paragraph separator (U+2028, U+2029): a name is one line;
//   - contains a bidirectional formatting character (the Bidi_Control
//     property: U+061C ARABIC LETTER MARK, U+200E/U+200F LEFT-TO-RIGHT and
//     RIGHT-TO-LEFT MARK, the embeddings and overrides U+202A..U+202E and the
//     isolates U+2066..U+2069). Unicode TR9, the Bidirectional Algorithm
//     (section 2, "Directional Formatting Characters"), defines them to
//     reorder the text around them, invisibly; UTS #39, Unicode Security
//     Mechanisms (section 3.1, General Security Profile for Identifiers),
//     restricts them (Identifier_Type Default_Ignorable) because they make
//     one string display as another ("Trojan Source", CVE-2021-42574).
//     Names in right-to-left scripts need none of them: the algorithm orders
//     a name from its letters alone;
//   - contains an invisible character that joins nothing: a format
//     character (Unicode category Cf, such as U+200B ZERO WIDTH SPACE,
//     U+00AD SOFT HYPHEN, U+2060 WORD JOINER, U+FEFF ZERO WIDTH NO-BREAK
//     SPACE) or an Other_Default_Ignorable_Code_Point (such as the Hangul
//     fillers U+3164 and U+FFA0, which look like a blank name). "Jo" +
//     U+200B + "hn" shows as "John" and is not found by it; UTS #39
//     (section 3.1) restricts these (Identifier_Type Default_Ignorable);
//   - contains U+FFFD REPLACEMENT CHARACTER, which is what invalid UTF-8
//     becomes on its way through a JSON decoder: no name holds it; or
//     U+2800 BRAILLE PATTERN BLANK, which shows as a space;
//   - is blank: empty, or without any character that shows on its own
//     (a letter, digit, punctuation mark or symbol), such as marks alone;
//   - or is longer than maxRunes characters once normalised.
//
// ZERO WIDTH JOINER and NON-JOINER between two characters of an emoji
// sequence or of a script that joins (Persian, Devanagari), variation
// selectors after such a character, and the tags of the three subdivision
// flags stay allowed (strayJoiner, strayTag); elsewhere they are refused.
func Clean(field, value string, maxRunes int) (string, error) {
	return clean(field, value, maxRunes, refused)
}

// MaxReasonLength bounds the reason an operator gives for an action (a
// disabling, a remote assistance), in characters.
const MaxReasonLength = 500

// Reason returns the reason an operator gave for an action as it is to be
// stored, "" when it is blank (whether one is required is the caller's
// rule). It follows Clean, except that a reason is free text of several
// lines: line feeds are allowed (CR LF and CR become LF). The customer sees
// some reasons (a remote assistance's, on the dashboard), so they too must
// show exactly what is stored. It returns a *apperr.ValidationError on field
// for refused characters or more than MaxReasonLength characters.
func Reason(field, value string) (string, error) {
	value = strings.ReplaceAll(strings.ReplaceAll(value, "\r\n", "\n"), "\r", "\n")
	if strings.TrimSpace(value) == "" {
		return "", nil
	}
	return clean(field, value, MaxReasonLength, func(r rune) bool { return r != '\n' && refused(r) })
}

func clean(field, value string, maxRunes int, refused func(rune) bool) (string, error) {
	if !utf8.ValidString(value) { // only a file can bring it (JSON decoding replaces such bytes)
		return "", apperr.Invalid(field, CodeInvalidCharacters, "This is not valid UTF-8 text: save the file as UTF-8.")
	}
	value = norm.NFC.String(value)
	if strings.IndexFunc(value, refused) >= 0 {
		return "", invalidCharacters(field)
	}
	if strayTag(value) || strayJoiner(value) {
		return "", invalidCharacters(field)
	}
	value = strings.TrimFunc(value, unicode.IsSpace)
	switch n := utf8.RuneCountInString(value); {
	case n == 0 || strings.IndexFunc(value, shows) < 0:
		return "", apperr.Invalid(field, CodeRequired, "This cannot be blank.")
	case n > maxRunes:
		return "", apperr.Invalid(field, CodeTooLong, fmt.Sprintf("Use at most %d characters.", maxRunes))
	}
	return value, nil
}

// refused reports whether Clean refuses r anywhere in a name.
func refused(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError || r == '\u2800' ||
		unicode.Is(unicode.Bidi_Control, r) || invisible(r)
}

// shows reports whether r is seen on its own: a letter, digit, punctuation
// mark or symbol. A name has at least one (Clean): marks alone show
// nothing.
func shows(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// subdivisionFlags are the emoji tag sequences Unicode recommends (TS #51,
// "Emoji Tag Sequences": RGI_Emoji_Tag_Sequence): U+1F3F4 WAVING BLACK
// FLAG, the tags of a subdivision's code, U+E007F CANCEL TAG.
var subdivisionFlags = []string{
	"\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", // England
	"\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", // Scotland
	"\U0001F3F4\U000E0067\U000E0062\U000E0077\U000E006C\U000E0073\U000E007F", // Wales
}

// strayTag reports whether value has a tag character (U+E0020..U+E007F)
// outside one of subdivisionFlags: elsewhere tags are invisible text
// ("Kitchen" followed by tags spelling "IGN" shows as "Kitchen", and so
// does a black flag followed by tags of no flag).
func strayTag(value string) bool {
	for _, flag := range subdivisionFlags {
		value = strings.ReplaceAll(value, flag, "")
	}
	return strings.ContainsFunc(value, func(r rune) bool { return r >= 0xE0020 && r <= 0xE007F })
}

// strayJoiner reports whether value has a ZERO WIDTH JOINER or NON-JOINER
// that is not between two characters that may need one, or a variation
// selector that does not follow such a character. Emoji sequences,
// Arabic, Persian and Indic scripts, CJK ideographs and Mongolian use them;
// next to a Latin, Greek or Cyrillic letter, a space or punctuation they
// only hide ("Jo" + U+200D + "hn" shows as John, "Demo Heating Co." +
// U+FE0F as another company's name).
func strayJoiner(value string) bool {
	needsNone := func(r rune) bool {
		return r == 0 || unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic) || unicode.IsSpace(r) || unicode.IsPunct(r)
	}
	runes := []rune(value)
	for i, r := range runes {
		prev, next := rune(0), rune(0)
		if i > 0 {
			prev = runes[i-1]
		}
		if i+1 < len(runes) {
			next = runes[i+1]
		}
		switch {
		case (r == '\u200c' || r == '\u200d') && (needsNone(prev) || needsNone(next)):
			return true
		case unicode.Is(unicode.Variation_Selector, r) && needsNone(prev):
			return true
		}
	}
	return false
}

// invisible reports whether r is a format character or an
// Other_Default_Ignorable_Code_Point that no emoji sequence or script
// needs (Clean's rule).
func invisible(r rune) bool {
	switch {
	case r == '\u200c' || r == '\u200d': // ZERO WIDTH NON-JOINER, ZERO WIDTH JOINER
		return false
	case r >= 0xE0020 && r <= 0xE007F: // tags: subdivision flags
		return false
	}
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

func invalidCharacters(field string) error {
	return apperr.Invalid(field, CodeInvalidCharacters,
		"Remove the control, invisible or text-direction characters: they make text show differently from what it is.")
}
