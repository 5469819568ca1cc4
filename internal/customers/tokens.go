package customers

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/gosimple/slug"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/iotconsole/bff/internal/devices"
)

// minPhoneSuffix is the fewest digits a term must have to also find the
// phone numbers it ends (see TermForms), so that the last digits a caller
// reads out ("0199") find the customer.
const minPhoneSuffix = 4

// Phone numbers' tokens begin with a marker: phoneMarker before each of a
// number's digit forms ("@p5550100199"), reversedPhoneMarker before its
// national digits written backwards ("@rev9910010555" for 555 010 0199), so
// that a number's last digits are a prefix of a token: one token a number
// instead of one for every tail of it, which were 40 % of the SQLite search
// index and half the time to build it (docs/BENCHMARKS.md).
//
// The markers also keep the digits out of most of the SQLite store's FTS5
// prefix indexes (prefixes of 1 to 8 characters, which the marker's
// characters count in): phone numbers are nearly unique past their fourth or
// fifth digit, so every prefix index level past it held a list of one
// customer a number and form. Marked, a form's digits fill the levels after
// its marker only (6 digits after "@p"; 4 after "@rev", whose digits, a
// number's last, are uniform, where a number's first cluster by country and
// area); a longer prefix of digits is found by reading FTS5's terms in its
// range, few since the digits are nearly unique there. The demo million's
// index: 290.8 MiB unmarked, 244.0 MiB marked (docs/BENCHMARKS.md,
// "Phone numbers' markers").
//
// "@" is one of the token characters of the SQLite store's FTS5 tokenizer
// (its tokenchars; FTS5's unicode61 splits words at any other symbol, so
// "~" was dropped once and the reversed digits matched forward queries), and
// no other token begins with it: a query term never does (ParseQuery trims
// punctuation from its ends, TermForms joins words), nor another stored one
// (SearchTokens trims it from their starts; a valid email never begins with
// it). Only TermForms reaches these tokens.
const (
	phoneMarker         = "@p"
	reversedPhoneMarker = "@rev"
	// markerLead begins every marker, and no other token.
	markerLead = "@"
)

// undecomposable spells out the Latin letters that carry their mark inside
// the letter, so no Unicode decomposition strips it ("Łukasz", "Øster", "Weiß").
var undecomposable = strings.NewReplacer(
	"ł", "l", "ø", "o", "đ", "d", "ħ", "h", "ı", "i", "ŧ", "t", "ß", "ss", "æ", "ae", "œ", "oe", "þ", "th", "ð", "d",
)

// foldChains holds the transformer chains Fold uses, one goroutine at a time
// (a chain keeps state, and a cases.Caser may): a new chain allocates its
// buffers, about 12 KB, which was most of Fold's cost.
var foldChains = sync.Pool{New: func() any {
	return transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC, cases.Fold())
}}

// Fold returns s in the form every search token and query term is compared in:
// compatibility-decomposed (full-width letters and ligatures become their
// plain letters), combining marks removed ("Müller" becomes "muller", "İ"
// becomes "i"), fully case-folded (Unicode's CaseFolding.txt through
// golang.org/x/text/cases: "ß" and "ẞ" become "ss", every sigma "σ"), and the
// few Latin letters with built-in marks spelled plainly ("Łukasz" becomes
// "lukasz", Turkish "ı" becomes "i"). Invalid UTF-8 bytes are dropped. The
// same function folds what is stored and what is typed, so the stores never
// decide what matches.
func Fold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s) // ASCII folds to lower case: the common case, and 20 times faster
	}
	s = strings.ToValidUTF8(s, "")
	t := foldChains.Get().(transform.Transformer)
	defer foldChains.Put(t)
	folded, _, err := transform.String(t, s) // which resets t first
	if err != nil {
		folded = strings.ToLower(s)
	}
	return undecomposable.Replace(folded)
}

// transliterationLanguages are the languages whose customary spellings for
// letters people cannot type are indexed too, from gosimple/slug's maintained
// tables: German ("ö" as "oe", "ü" as "ue", "ß" as "ss") and Norwegian ("ø" as
// "oe", "æ" as "ae", "å" as "aa"); "" is the library's default, which also
// spells other scripts in Latin letters (Cyrillic "Иван" as "ivan").
var transliterationLanguages = []string{"", "de", "nb"}

// Transliterations returns the words of name as spelt with the customary
// transliterations of transliterationLanguages that differ from its folded
// words, so that "schroeder" finds "Schröder" as "schroder" does.
func Transliterations(name string) []string {
	if isASCII(name) {
		return nil
	}
	if out, ok := transliterated.Get(name); ok {
		return slices.Clone(out)
	}
	out := transliterate(name)
	transliterated.Add(name, out)
	return slices.Clone(out)
}

// transliterated remembers the transliterations of the non-ASCII names
// derived last: names repeat (a million of the demo generator's customers
// have a few hundred), and spelling one out in three languages (gosimple/slug,
// regular expressions) cost a third of deriving a customer's search tokens,
// 7 % of an import's CPU (docs/BENCHMARKS.md). transliteratedNames entries
// of a few dozen bytes each: about a megabyte.
var transliterated, _ = lru.New[string, []string](transliteratedNames)

const transliteratedNames = 10_000

// transliterate spells name out as Transliterations returns it.
func transliterate(name string) []string {
	folded := words(Fold(name))
	var out []string
	for _, lang := range transliterationLanguages {
		spelt := slug.MakeLang(name, lang)
		if lang == "" {
			spelt = slug.Make(name)
		}
		for _, w := range strings.Split(spelt, "-") {
			if w = cleanToken(Fold(w)); w != "" && !slices.Contains(folded, w) && !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	return out
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

// NameTokens returns the tokens of a customer's names: each word, a name of
// several words joined ("obrien" for "O'Brien") and as written with its dashes
// ("mary-kate"), the customary transliterations (see Transliterations), and
// for names in scripts written without spaces (writtenTogether) the family
// and given names written together as they are ("李小龙").
// They are also the vocabulary that search suggestions are drawn from.
func NameTokens(first, last string) []string {
	var tokens []string
	for _, name := range []string{first, last} {
		folded := Fold(name)
		parts := words(folded)
		tokens = append(tokens, parts...)
		if len(parts) > 1 {
			tokens = append(tokens, strings.Join(parts, ""), strings.Trim(cleanToken(folded), "@.+-_"))
		}
		tokens = append(tokens, Transliterations(name)...)
	}
	if writtenTogether(first) && writtenTogether(last) { // "李小龙" of 李 (last) and 小龙 (first)
		tokens = append(tokens, strings.Join(words(Fold(last)), "")+strings.Join(words(Fold(first)), ""))
	}
	slices.Sort(tokens)
	return slices.Compact(slices.DeleteFunc(tokens, func(t string) bool { return t == "" }))
}

// untagged returns a folded email address without its subaddress (RFC 5233:
// "sarah@gmail.com" of "sarah+iot@gmail.com"), the mailbox people read out
// rather than the tag they signed up with, or "" for an address without one.
func untagged(email string) string {
	local, domain, found := strings.Cut(email, "@")
	mailbox, _, tagged := strings.Cut(local, "+")
	if !found || !tagged || mailbox == "" || domain == "" {
		return ""
	}
	return mailbox + "@" + domain
}

// writtenTogether reports whether name is in a script whose names are
// written without a space between family and given name, family name first
// (Chinese, Japanese, Korean: "李小龙", "山田太郎", "김민준"): it has a Han,
// Hiragana, Katakana or Hangul letter.
func writtenTogether(name string) bool {
	return strings.IndexFunc(name, func(r rune) bool {
		return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
	}) >= 0
}

// SearchTokens returns the sorted, distinct tokens a search term may be a
// prefix of: the name tokens (NameTokens), the whole email, its local part, the
// words of the local part, its domain and the address without its
// subaddress (the "+tag" of RFC 5233), the phone number's forms (see
// PhoneTokens), the external id word by word and without its punctuation
// (which a term with it reaches through TermForms), and the serial number and MAC address of each of the customer's devices
// (DeviceTokens). The phone number is read in the region it was written
// under (c.PhoneRegion), or for a customer stored without one, in region (its
// domain's default region now).
func SearchTokens(c Customer, devs []devices.Device, region string) []string {
	tokens := NameTokens(c.FirstName, c.LastName)
	if email := Fold(c.Email); email != "" {
		tokens = append(tokens, email)
		local, domain, found := strings.Cut(email, "@")
		tokens = append(tokens, local)
		tokens = append(tokens, words(local)...)
		if found && domain != "" {
			tokens = append(tokens, domain)
		}
		if mailbox := untagged(email); mailbox != "" {
			tokens = append(tokens, mailbox)
		}
	}
	if id := Fold(c.ExternalID); id != "" {
		parts := words(id)
		tokens = append(tokens, strings.Join(parts, ""))
		tokens = append(tokens, parts...)
	}
	for _, d := range devs {
		tokens = append(tokens, DeviceTokens(d)...)
	}
	for i, t := range tokens {
		tokens[i] = strings.TrimLeft(cleanToken(t), markerLead) // only a phone number's tokens begin with it
	}
	tokens = append(tokens, PhoneTokens(c.Phone, c.RegionOfPhone(region))...)
	slices.Sort(tokens)
	return slices.Compact(slices.DeleteFunc(tokens, func(t string) bool { return t == "" }))
}

// DeviceTokens returns the tokens a device's customer is found by: the serial
// number folded without its punctuation ("t1002025hall", which "t100-2025"
// reaches through its form without punctuation, TermForms) and the MAC
// address's twelve hex digits ("aabbccddeeff", which "aa:bb:cc" reaches, since
// a colon is not a token character, and "aa-bb-cc" through TermForms).
func DeviceTokens(d devices.Device) []string {
	var tokens []string
	if serial := strings.Join(words(Fold(d.SerialNumber)), ""); serial != "" {
		tokens = append(tokens, serial)
	}
	if mac := Fold(d.MACAddress); mac != "" {
		tokens = append(tokens, strings.ReplaceAll(mac, ":", ""))
	}
	return tokens
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

// PhoneTokens returns the tokens a phone number is found by, each after
// phoneMarker: its raw digits always, and when it parses (with region as
// the default country, or after an international prefix region does not
// dial, such as "00" in the US) its E.164 digits, its national significant number,
// its national dialling form, the subscriber number (the national number
// after its area or network code, "0100199" of 555 010 0199, as typed
// without the code); and after reversedPhoneMarker, the national number
// backwards, which a term's reversed form (TermForms) is a prefix of when
// the term ends the number. A number that does not parse as a possible one
// has its raw digits backwards instead (when they are longer than a term of
// its last digits), so that its last digits find it too.
func PhoneTokens(phone, region string) []string {
	forms, national := phoneForms(phone, region)
	forms = slices.DeleteFunc(forms, func(t string) bool { return t == "" })
	if national == "" && len(forms) > 0 && len(forms[0]) > minPhoneSuffix {
		national = forms[0] // the raw digits: their last minPhoneSuffix or more find it
	}
	var tokens []string
	for _, f := range forms {
		tokens = append(tokens, phoneMarker+f)
	}
	if national != "" {
		tokens = append(tokens, reversedPhoneMarker+reverseDigits(national))
	}
	slices.Sort(tokens)
	return slices.Compact(tokens)
}

// phoneForms returns a phone number's digit forms as PhoneTokens describes
// them (without the reversed one; the subscriber number may be "") and its
// national significant number ("" when the number does not parse as a
// possible one).
func phoneForms(phone, region string) (forms []string, national string) {
	raw := Digits(phone)
	if raw == "" {
		return nil, ""
	}
	num, err := phonenumbers.Parse(phone, region)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		// Written with an international prefix the region does not dial
		// ("0044 20 7946 0555" in the US, whose prefix is 011): read after it,
		// as PhoneTerm reads such a term.
		rest, international := withoutInternationalPrefix(raw, region)
		if !international {
			return []string{raw}, ""
		}
		if num, err = phonenumbers.Parse("+"+rest, ""); err != nil || !phonenumbers.IsPossibleNumber(num) {
			return []string{raw}, ""
		}
	}
	e164 := strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+")
	national = phonenumbers.GetNationalSignificantNumber(num)
	nationalFormat := phonenumbers.Format(num, phonenumbers.NATIONAL) // "(555) 010-0199", "020 7946 6862"
	return []string{raw, e164, national, Digits(nationalFormat), subscriberNumber(nationalFormat)}, national
}

// subscriberNumber returns the digits of a number in its national format
// after the first group of digits, the area or network code with any trunk
// prefix ("0100199" of "(555) 010-0199", "79466862" of "020 7946 6862"), or
// "" for a number written as one group. (The phone library's
// GetLengthOfNationalDestinationCode says the same but formats the number
// again: it doubled the time of PhoneTokens.)
func subscriberNumber(nationalFormat string) string {
	start := strings.IndexFunc(nationalFormat, func(r rune) bool { return r >= '0' && r <= '9' })
	if start < 0 {
		return ""
	}
	end := strings.IndexFunc(nationalFormat[start:], func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		return ""
	}
	return Digits(nationalFormat[start+end:])
}

// reverseDigits returns s, ASCII digits, backwards.
func reverseDigits(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}

// TermForms returns the forms a search term matches stored tokens by, any of
// which may match: the term itself; for a term with punctuation, its letters
// and digits alone ("t1002025" of "t100-2025": serial numbers, MAC
// addresses and external ids are stored without their punctuation, names
// and emails with and without it); each of those that is ASCII digits also
// after phoneMarker, the prefix of the phone numbers' forms it begins; and
// for a term of minPhoneSuffix or more ASCII digits, its reversed form after
// reversedPhoneMarker, the prefix of the reversed token (PhoneTokens) of
// every phone number whose national number the term ends. Both stores
// build their queries from it, so that they match alike.
func TermForms(term string) []string {
	forms := []string{term}
	if joined := strings.Join(words(term), ""); joined != term && joined != "" {
		forms = append(forms, joined)
	}
	for _, f := range slices.Clone(forms) {
		if isDigits(f) {
			forms = append(forms, phoneMarker+f)
		}
	}
	if digits, ok := vanityDigits(term); ok {
		forms = append(forms, phoneMarker+digits)
	}
	if len(term) >= minPhoneSuffix && isDigits(term) {
		forms = append(forms, reversedPhoneMarker+reverseDigits(term))
	}
	return forms
}

// vanityNumber is a term that may be a phone number written with letters,
// as on a keypad ("1-800-flowers", "800-got-junk", and "1-800-f" as it is
// typed): digits first, then a hyphen or a dot before the letters (so
// "sn200-x7" and "t200-06h3" are not, and a space keeps "415 john" two
// words).
var vanityNumber = regexp.MustCompile(`^\+?[0-9][0-9.-]*[.-][a-z][a-z0-9.-]*$`)

// vanityDigits returns the keypad digits of term (the phone library's
// ConvertAlphaCharactersInNumber), and whether term is a vanity number with
// at least three digits before its letters. The digits are another form of
// the term, not the term: a serial number written so ("200-abc") still
// finds its device.
func vanityDigits(term string) (string, bool) {
	if !vanityNumber.MatchString(term) || len(Digits(term[:strings.IndexFunc(term, unicode.IsLetter)])) < 3 {
		return "", false
	}
	return Digits(phonenumbers.ConvertAlphaCharactersInNumber(strings.ToUpper(term))), true
}

// ExactTermForms returns the forms of term (TermForms) that a whole token may
// equal, for the exact tier: all but the reversed phone form, which equals a
// token only when the term is a number's national digits, whose forward form
// then equals one too. One fewer index lookup for a term of digits, in each
// exact tier and in each prefix tier's exclusion of it.
func ExactTermForms(term string) []string {
	return slices.DeleteFunc(TermForms(term), func(f string) bool { return strings.HasPrefix(f, reversedPhoneMarker) })
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// PhoneTerm returns the digits a query that reads like a phone number is
// searched by, with region (the domain's) as the country of numbers written
// without a country code. A number written with its country code (after a
// "+", the international prefix "00" or the region's own, "011" for the US,
// from the phone library's metadata) is searched as its E.164 digits when the
// library reads it as a possible number, and as its digits after the prefix
// while it is still being typed; the trunk prefix some write after the
// country code ("+44 (0)20") is dropped. Any other number is searched as its
// digits, which the stored national, dialled and raw forms begin with. It
// never returns "" for text with a digit.
func PhoneTerm(text, region string) string {
	text = strings.TrimSpace(text)
	// The digits after the international prefix, or ok false.
	international := func(s string) (string, bool) {
		if strings.HasPrefix(s, "+") {
			return Digits(s), true
		}
		return withoutInternationalPrefix(Digits(s), region)
	}
	number, ok := international(text)
	if !ok {
		return Digits(text)
	}
	// The trunk prefix written after the country code: "(0)", or "(0" as it is being typed.
	if i := strings.Index(text, "(0"); i >= 0 {
		if rest := text[i+len("(0"):]; rest == "" || strings.HasPrefix(rest, ")") {
			before, _ := international(text[:i])
			number = before + Digits(rest)
		}
	}
	if num, err := phonenumbers.Parse("+"+number, ""); err == nil && phonenumbers.IsPossibleNumber(num) {
		return strconv.Itoa(int(num.GetCountryCode())) + phonenumbers.GetNationalSignificantNumber(num)
	}
	if number == "" { // only a prefix typed so far ("00(0"): its digits
		return Digits(text)
	}
	return number
}

// internationalPrefixes are the patterns of each region's international
// dialling prefix, from the phone library's metadata ("011" for the US).
var internationalPrefixes = sync.OnceValue(func() map[string]*regexp.Regexp {
	prefixes := map[string]*regexp.Regexp{}
	collection, err := phonenumbers.MetadataCollection()
	if err != nil {
		return prefixes
	}
	for _, m := range collection.GetMetadata() {
		if p := m.GetInternationalPrefix(); p != "" {
			if re, err := regexp.Compile("^(?:" + p + ")"); err == nil {
				prefixes[m.GetId()] = re
			}
		}
	}
	return prefixes
})

// withoutInternationalPrefix returns digits after the international dialling
// prefix they begin with ("00", ITU-T's recommended one, or region's own),
// and whether they began with one.
func withoutInternationalPrefix(digits, region string) (string, bool) {
	if rest, ok := strings.CutPrefix(digits, "00"); ok {
		return rest, true
	}
	if re := internationalPrefixes()[region]; re != nil {
		if loc := re.FindStringIndex(digits); loc != nil {
			return digits[loc[1]:], true
		}
	}
	return digits, false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
