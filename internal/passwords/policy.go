package passwords

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"

	"github.com/iotconsole/bff/internal/apperr"
)

// Policy limits, after NIST SP 800-63B §5.1.1.2 (rev. 3; §3.1.1.2 in rev. 4):
// a minimum length, a maximum far above the 64 characters verifiers must
// allow, no composition rules, and a refusal of values "commonly used,
// expected or compromised" (below: MinScore and the rules of Check).
const (
	MinLengthFloor   = 8
	MinLengthCeiling = 64
	DefaultMinLength = 12
	MaxLength        = 256 // characters; far above the 64 NIST asks verifiers to allow
)

// MinScore is the lowest zxcvbn score (0 to 4) a new password may have:
// 3, "safely unguessable", an estimate of at least 10^8 guesses (zxcvbn's
// README; github.com/trustelem/zxcvbn computes the same guesses and score
// as Dropbox's zxcvbn 4.4.2). Why 3:
//
//   - Score 2 (10^6 to 10^8 guesses) is zxcvbn's "protection from
//     unthrottled online attacks" only. Online guessing is throttled here,
//     but a copy of the store (a backup, a leak) is attacked offline, where
//     only the hash's cost protects: zxcvbn's paper (Wheeler, "zxcvbn:
//     Low-Budget Password Strength Estimation", USENIX Security 2016, §2)
//     puts 10^8 at the offline slow-hash attack it calls "moderate
//     protection", and we hash with argon2id (OWASP's parameters).
//   - Score 4 (10^10) refuses many passwords people can remember and type
//     on a phone ("twelve chars" scores 3): NIST SP 800-63B (rev. 3,
//     Appendix A) weighs usability, as onerous rules drive people to
//     predictable workarounds; a refused person is told why and how
//     (Assessment.Warning, Suggestions).
//   - Every generated passphrase (Passphrase: four EFF words, 7,776^4 ≈
//     3.7·10^15 draws; zxcvbn rates them above 10^15 guesses) passes with
//     room to spare.
const MinScore = 3

// estimatedRunes is how much of a password the estimator reads: its first
// 64 characters, the length NIST asks every verifier to accept. zxcvbn's
// time grows with the square of the length and more for l33t characters
// (measured: 43 ms for 64 of them, 140 ms for 100, 1 s for 253); a
// password whose first 64 characters are strong is strong.
const estimatedRunes = 64

// ProductName is the product's own name, a context word of every password
// (NIST SP 800-63B names "the name of the service" as one).
const ProductName = "IoT Console"

// Policy decides whether a new password is acceptable. The same policy
// applies to every way a password is set: sign-up, self-service change, an
// operator's reset or creation of a customer, an operator's setup and
// change of its own password, and the create-operator command (demo data
// excepted: its password is DEMO_PASSWORD or a random one).
type Policy struct {
	MinLength int // characters, MinLengthFloor to MinLengthCeiling
}

// Context is what a password must not be built on: NIST SP 800-63B's
// "context-specific words, such as the name of the service, the username,
// and derivatives thereof". The policy adds ProductName itself.
type Context struct {
	// Account holds the account's own words: its email, the email's local
	// part and the person's names (customers.PersonalWords,
	// operators.PersonalWords). A password equal to one is MATCHES_ACCOUNT.
	Account []string
	// Domain holds the domain's display name and slug.
	Domain []string
}

// The codes of Check's refusals, one per rule, in the order Check applies
// them; each is a UserErrorCode of the API (schema/schema.graphqls).
const (
	CodeTooShort       = "TOO_SHORT"
	CodeTooLong        = "TOO_LONG"
	CodeWhitespaceOnly = "WHITESPACE_ONLY"
	CodeRepetitive     = "REPETITIVE"
	CodeSequential     = "SEQUENTIAL"
	CodeMatchesAccount = "MATCHES_ACCOUNT"
	CodeContextWord    = "CONTEXT_WORD"
	CodeCommonPassword = "COMMON_PASSWORD"
	CodeTooGuessable   = "TOO_GUESSABLE"
)

// Assessment is what the policy says of a candidate password: the
// estimator's score and feedback, and the first rule it fails ("" when it
// is acceptable). It never holds the password.
type Assessment struct {
	MinLength   int      // the policy's minimum length, characters
	Score       int      // zxcvbn's 0 to 4 (of the first estimatedRunes characters); 0 for a refusal by length, whitespace, repetition or sequence
	Code        string   // the failed rule's code (Code* above), "" when accepted
	Message     string   // the failed rule in a sentence for the person, "" when accepted
	Warning     string   // the estimator's warning ("Repeats like \"aaa\" are easy to guess"), often ""
	Suggestions []string // the estimator's suggestions, nil when accepted
}

// Acceptable reports whether the password passed every rule.
func (a Assessment) Acceptable() bool { return a.Code == "" }

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

// Check returns nil when Assess accepts password for an account of c,
// otherwise a *apperr.ValidationError on field whose Code is the failed
// rule's and whose Message is the rule's sentence followed by the
// estimator's warning (never the password itself).
func (p Policy) Check(field, password string, c Context) error {
	a := p.Assess(password, c)
	if a.Acceptable() {
		return nil
	}
	msg := a.Message
	if a.Warning != "" {
		msg += " " + a.Warning + "."
	}
	return apperr.Invalid(field, a.Code, msg)
}

// Assess applies the policy's rules to password, in this order, and
// returns the first it fails (Assessment.Code), with the estimator's score
// and feedback. No composition rule: character classes never count.
//
//  1. TOO_SHORT, TOO_LONG: fewer than p.MinLength or more than MaxLength
//     characters (Unicode code points, as NIST counts); TOO_SHORT too when
//     fewer than p.MinLength are visible (see 2).
//  2. WHITESPACE_ONLY: only characters that show as nothing: white space,
//     controls, Unicode's Default_Ignorable_Code_Point (format characters
//     Cf, zero-width characters, the Hangul fillers U+115F, U+1160, U+3164,
//     U+FFA0, variation selectors) and U+2800 BRAILLE PATTERN BLANK
//     ("            " was accepted, and then signed in with). From here on
//     the rules read the password NFC-normalized and without its
//     default-ignorable code points (NIST SP 800-63B §5.1.1.2: Unicode
//     normalization; "pass\u200bword" is "password").
//  3. REPETITIVE, SEQUENTIAL: the whole password is made of repeats and
//     sequences, NIST's "repetitive or sequential characters": one block
//     repeated ("aaaaaaaaaaaa", "abcabcabcabc", "passwordpassword"), or
//     runs of at least 3 equal characters or of characters one code point
//     apart ("abcdefghijkl", "1234abcd9876", "aaaabbbbcccc"), case
//     ignored. SEQUENTIAL when a run is a sequence. For a password with
//     non-ASCII characters, which the estimator reads as random, also when
//     its repeats and sequences leave fewer than 10^8 guesses
//     (structureGuesses: "ééééééééééééé1", twelve 🙂 and a digit).
//  4. MATCHES_ACCOUNT: equal to one of c.Account (case and spaces ignored,
//     or in compact form: folded, accents stripped, l33t mapped, without
//     separators, see compactForms).
//  5. The estimator (zxcvbn, with every context word as a user input)
//     rates the password below MinScore: CONTEXT_WORD when its weakest
//     reading uses a context word, COMMON_PASSWORD when it is mostly a
//     common password (zxcvbn's 30,000 from the same leaked lists as the
//     10,000 the policy had before, with capitals, l33t and reversal), then
//     REPETITIVE or SEQUENTIAL (keyboard rows too) by its longest part,
//     TOO_GUESSABLE otherwise. It rates non-ASCII letters that look like an
//     ASCII one as that one (lookalikes, Unicode's confusables: Cyrillic
//     "раssword1234" is "password1234").
//  6. CONTEXT_WORD: it contains a context word of 3 or more characters
//     (the account's words and their parts, the domain's name, slug and
//     their words, ProductName, and their Latin transliterations), forwards
//     or backwards, compared in compact form (compactForms: "44r4v.4nd3rs0n"
//     is "aaravanderson", "JÜRGEN-GRÖSSE" "jurgengrosse", "Juergen Groesse"
//     matches "Jürgen Größe", "Olga" "Ольга", "gnitaeh omed" "Demo
//     Heating"), and what is left without them would be rated below
//     MinScore: "adalovelace2024", "Acme-Heating-2024!".
//
// The context read is bounded (maxContextWords words of maxContextRunes
// characters), so a rating costs a few milliseconds whatever the caller
// sends.
func (p Policy) Assess(password string, c Context) Assessment {
	a := p.assess(password, c)
	a.MinLength = p.MinLength
	return a
}

func (p Policy) assess(password string, c Context) Assessment {
	n := utf8.RuneCountInString(password)
	switch {
	case n < p.MinLength:
		return refuse(CodeTooShort, fmt.Sprintf("Use at least %d characters.", p.MinLength), "", nil)
	case n > MaxLength:
		return refuse(CodeTooLong, fmt.Sprintf("Use at most %d characters.", MaxLength), "", nil)
	case blank(password):
		return refuse(CodeWhitespaceOnly, "A password of spaces or invisible characters only is easy to guess; use words or characters too.", "", nil)
	}
	seen := visible(password)
	if utf8.RuneCountInString(seen) < p.MinLength {
		return refuse(CodeTooShort, fmt.Sprintf("Use at least %d characters (invisible ones do not count).", p.MinLength), "", nil)
	}
	lower := strings.ToLower(seen)
	if code := repeatsAndSequences([]rune(lower)); code != "" {
		return refuse(code, messages[code], "", []string{suggestRepeats})
	}
	if !isASCII(seen) {
		// zxcvbn sees no repeat nor sequence among non-ASCII characters.
		if g, code := structureGuesses(lowerRunes(seen)); code != "" && g < minGuesses {
			return refuse(code, messages[code], "", []string{suggestRepeats})
		}
	}
	squeezed, compact := strings.Join(strings.Fields(lower), ""), compactWord(seen)
	if compact == "" {
		compact = "\x00" // symbols only: matches no word
	}
	for i, w := range c.Account {
		if i == maxContextWords {
			break
		}
		if r := []rune(w); len(r) > maxContextRunes {
			w = string(r[:maxContextRunes])
		}
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" && (lower == w || squeezed == strings.Join(strings.Fields(w), "") || compact == compactWord(w)) {
			return refuse(CodeMatchesAccount, messages[CodeMatchesAccount], "", nil)
		}
	}
	words, rated := contextWords(c), lookalikes(seen)
	a := estimate(rated, words.inputs)
	if a.Score < MinScore {
		return a
	}
	rest, found := withoutWords(seen, words.compact)
	if !found {
		rest, found = withoutWords(rated, words.compact)
	}
	if found {
		if r := estimate(lookalikes(rest), words.inputs); r.Score < MinScore {
			return Assessment{Score: r.Score, Code: CodeContextWord, Message: messages[CodeContextWord],
				Suggestions: []string{"Add another word or two that have nothing to do with you or the company."}}
		}
	}
	return a
}

// minGuesses is the fewest guesses of score MinScore (zxcvbn's scale:
// score 3 from 10^8 guesses).
const minGuesses = 1e8

// Sentences of the refusals.
var messages = map[string]string{
	CodeRepetitive:     "This password is a repetition, easy to guess; choose another.",
	CodeSequential:     "This password is a sequence (like abcd or 4321, or a row of keys), easy to guess; choose another.",
	CodeMatchesAccount: "The password must not be the email address or name.",
	CodeContextWord:    "This password is built on a name, an email address or the company's name (even spelled differently or backwards), easy to guess; choose another.",
	CodeCommonPassword: "This password is one of the most common ones, or close to one; choose another.",
	CodeTooGuessable:   "This password is too easy to guess; choose a longer or less predictable one.",
}

const (
	suggestRepeats = "Avoid repeated words and characters."
	suggestMore    = "Add another word or two. Uncommon words are better."
)

func refuse(code, message, warning string, suggestions []string) Assessment {
	return Assessment{Code: code, Message: message, Warning: warning, Suggestions: suggestions}
}

// repeatsAndSequences returns REPETITIVE or SEQUENTIAL when r is wholly
// one block repeated, or wholly runs of at least 3 (see Assess, rule 3),
// and "" otherwise.
func repeatsAndSequences(r []rune) string {
	n := len(r)
	for size := 1; size <= n/2; size++ {
		if n%size == 0 && slices.Equal(r[size:], r[:n-size]) {
			return CodeRepetitive
		}
	}
	code := CodeRepetitive
	for i := 0; i < n; {
		same, step := run(r, i, 0), max(run(r, i, 1), run(r, i, -1))
		switch {
		case step >= 3 && step >= same:
			code, i = CodeSequential, i+step
		case same >= 3:
			i += same
		default:
			return ""
		}
	}
	return code
}

// run returns how many runes from r[i] on go up by step each.
func run(r []rune, i int, step rune) int {
	j := i + 1
	for j < len(r) && r[j] == r[j-1]+step {
		j++
	}
	return j - i
}

// Bounds of the context: at most maxContextWords words of c are read, and
// each at most maxContextRunes characters (an email address is at most 254,
// a name 100: see customers.Profile.Check), so that no caller can make a
// rating slow with a long context.
const (
	maxContextWords = 16
	maxContextRunes = 254
)

// words are the context words in the two forms the policy uses.
type words struct {
	inputs  []string // for zxcvbn as user inputs: lower case, with and without spaces, and their parts
	compact []string // for rule 6: compactWord of each input and of its transliterations
}

// contextWords returns the words zxcvbn is given as user inputs and that
// rule 6 looks for: each of c's words (the first maxContextWords, the first
// maxContextRunes characters of each) and ProductName in lower case, with
// and without its spaces, and its parts of 3 or more characters (split at
// anything but letters and digits: "ada.lovelace@example.com" gives "ada",
// "lovelace", "example" and "com"), without duplicates; and for rule 6 the
// same words in compact form (compactWord: folded, accents stripped, l33t
// mapped, without separators) with their Latin transliterations
// ("Ольга" is "olga" too, "Größe" "groesse" and "grosse").
func contextWords(c Context) words {
	var out words
	seen := map[string]bool{}
	add := func(w string) {
		if utf8.RuneCountInString(w) >= 3 && !seen[w] {
			seen[w] = true
			out.inputs = append(out.inputs, w)
		}
	}
	addCompact := func(w string) {
		if w = compactWord(w); utf8.RuneCountInString(w) >= 3 && !seen["\x00"+w] {
			seen["\x00"+w] = true
			out.compact = append(out.compact, w)
		}
	}
	all := append(slices.Clone(c.Account[:min(len(c.Account), maxContextWords)]), c.Domain[:min(len(c.Domain), maxContextWords)]...)
	for _, w := range append(all, ProductName) {
		if r := []rune(w); len(r) > maxContextRunes {
			w = string(r[:maxContextRunes])
		}
		w = strings.ToLower(strings.TrimSpace(w))
		add(w)
		add(strings.Join(strings.Fields(w), ""))
		addCompact(w)
		parts := strings.FieldsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		for _, part := range parts {
			add(part)
			addCompact(part)
		}
		for _, t := range transliterations(w) {
			addCompact(t)
		}
	}
	return out
}

// withoutWords returns s without the characters that spell any of words
// (compact forms, see compactWord) forwards or backwards in a compact form
// of s (compactForms): "D3m0_H34t1ng_C0" without "demoheating" is "_C0",
// "gnitaeh omed 2024" without "demo" and "heating" is "  2024". It
// reports whether any was found.
func withoutWords(s string, words []string) (string, bool) {
	covered := make([]bool, len(s))
	found := false
	for _, form := range compactForms(s) {
		text := make([]rune, len(form))
		for i, c := range form {
			text[i] = c.r
		}
		for _, w := range words {
			wr := []rune(w)
			for _, pattern := range [][]rune{wr, reversed(wr)} {
				for i := 0; i+len(pattern) <= len(text); i++ {
					if slices.Equal(text[i:i+len(pattern)], pattern) {
						found = true
						for _, c := range form[i : i+len(pattern)] {
							for b := c.start; b < c.end; b++ {
								covered[b] = true
							}
						}
					}
				}
			}
		}
	}
	var rest strings.Builder
	for i := 0; i < len(s); i++ {
		if !covered[i] {
			rest.WriteByte(s[i])
		}
	}
	return rest.String(), found
}

func reversed(r []rune) []rune {
	out := slices.Clone(r)
	slices.Reverse(out)
	return out
}

// estimate rates password's first estimatedRunes characters with zxcvbn
// and, below MinScore, names the rule from its weakest reading (see Assess,
// rule 5) with zxcvbn's feedback.
func estimate(password string, userInputs []string) Assessment {
	if r := []rune(password); len(r) > estimatedRunes {
		password = string(r[:estimatedRunes])
	}
	if strings.TrimSpace(password) == "" {
		return refuse(CodeTooGuessable, messages[CodeTooGuessable], "", []string{suggestMore})
	}
	res := zxcvbn.PasswordStrength(password, userInputs)
	a := Assessment{Score: res.Score}
	if res.Score >= MinScore {
		return a
	}
	a.Warning, a.Suggestions = feedback(res.Sequence)
	a.Code = CodeTooGuessable
	var longest *match.Match
	for _, m := range res.Sequence {
		if m.Pattern == "dictionary" && m.DictionaryName == "user_inputs" {
			a.Code = CodeContextWord
			break
		}
		if longest == nil || utf8.RuneCountInString(m.Token) > utf8.RuneCountInString(longest.Token) {
			longest = m
		}
	}
	if a.Code == CodeTooGuessable && longest != nil && 2*utf8.RuneCountInString(longest.Token) >= utf8.RuneCountInString(password) {
		switch {
		case longest.Pattern == "dictionary" && longest.DictionaryName == "passwords":
			a.Code = CodeCommonPassword
		case longest.Pattern == "repeat":
			a.Code = CodeRepetitive
		case longest.Pattern == "sequence" || longest.Pattern == "spatial":
			a.Code = CodeSequential
		}
	}
	a.Message = messages[a.Code]
	return a
}
