package customers

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/emails"
)

// Search limits. Longer input is refused with a *apperr.ValidationError
// rather than silently cut, so a client learns its input was not searched.
const (
	MaxQueryLength = 200 // characters
	MaxQueryTerms  = 8
	MaxPageSize    = 100
)

// SearchRequest is one page of a customer search.
type SearchRequest struct {
	Text    string  // what the operator typed; empty or blank lists everyone
	Status  Status  // "" for any status
	First   int     // page size, 1 to MaxPageSize
	After   *Cursor // continue after this position; nil for the first page
	Matches bool    // say what each hit matched (Hit.Matches): one more read of the page's devices
}

// Cursor is a position in the search order: exact matches first, then by
// folded last name, folded first name and id.
type Cursor struct {
	Exact    bool   `json:"e"`
	LastKey  string `json:"l"`
	FirstKey string `json:"f"`
	ID       string `json:"i"`
}

// Less reports whether a sorts before b in the search order.
func (a Cursor) Less(b Cursor) bool {
	if a.Exact != b.Exact {
		return a.Exact
	}
	if a.LastKey != b.LastKey {
		return a.LastKey < b.LastKey
	}
	if a.FirstKey != b.FirstKey {
		return a.FirstKey < b.FirstKey
	}
	return a.ID < b.ID
}

// Hit is one customer in a search result, with its position.
type Hit struct {
	Customer Customer
	Cursor   Cursor
	Matches  []Highlight // what the terms matched, when SearchRequest.Matches asks
}

// SearchQuery is one tier of a search, for a store to execute. Every term
// must be the prefix of some search token of a customer (AND). The exact tier
// holds the customers for whom every term equals one of their tokens; the
// other tier those that match as prefixes but not all exactly. Without terms,
// every customer of the domain is in the non-exact tier.
type SearchQuery struct {
	DomainID string
	Terms    []string
	Status   Status  // "" for any
	Exact    bool    // which tier
	After    *Cursor // nil, or a position in the same tier
	Limit    int
}

// SearchStore is what search needs from storage.
type SearchStore interface {
	// SearchCustomers returns up to q.Limit hits of q's tier after q.After, in
	// search order (folded last name, folded first name, id). Their customers
	// leave out PasswordHash and SearchTokens, which no page shows.
	SearchCustomers(ctx context.Context, q SearchQuery) ([]Hit, error)
	// CountCustomerMatches returns how many customers match q in either tier
	// (ignoring Exact, After and Limit).
	CountCustomerMatches(ctx context.Context, q SearchQuery) (int64, error)
}

// SortKeys returns the keys customers are ordered by: folded last and first name.
func SortKeys(c Customer) (last, first string) {
	return Fold(c.LastName), Fold(c.FirstName)
}

// isPhoneText reports whether s reads like a phone number: digits with only
// phone punctuation around them, and at least three digits.
func isPhoneText(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-()./ ", r):
		default:
			return false
		}
	}
	return digits >= 3
}

// phoneExtension is an extension written after a phone number's digits, as
// the phone library reads one when it parses a stored number (" ext. 23",
// " extension 23", " x23", " #23", ";ext=23"): PhoneTokens leaves it out of
// the number's forms, so a query does too (stripExtensions). A space before
// "x" and "#" keeps serial numbers such as "SN200X7" whole.
var phoneExtension = regexp.MustCompile(`([0-9)])(?:\s+(?:ext\.?|extension|x|#)\s*|\s*;\s*ext=)[0-9]{1,7}(\s|$)`)

// extensionTyped is the start of an extension being typed after a phone
// number's digits, at the end of a query ("0100 e", "0100 ext.", "0100 x"):
// left out too, so that the results do not vanish while it is typed and
// come back with its first digit. (A name typed after a number, "0100 eve",
// leaves the pattern at its second letter and narrows the results.)
var extensionTyped = regexp.MustCompile(`([0-9)])\s+(?:e|ex|ext|ext\.|exte|exten|extens|extensi|extensio|extension|x|#)\s*$`)

// stripExtensions returns folded text without the phone extensions in it.
func stripExtensions(folded string) string {
	return extensionTyped.ReplaceAllString(phoneExtension.ReplaceAllString(folded, "$1$2"), "$1")
}

// phoneQuery returns a query's text folded, without phone extensions, and
// whether it reads as one phone number (isPhoneText): the ways a stored
// number shows in a customer's details ("+1 415 555 0100 ext. 23").
func phoneQuery(text string) (string, bool) {
	folded := strings.TrimSpace(stripExtensions(Fold(text)))
	return folded, isPhoneText(folded)
}

// unicodeDomain returns word, a query's folded word, with a domain written
// in punycode as emails.Canonical stores it ("puny@xn--bcher-kva.example"
// and "xn--bcher-kva.example" as "bücher.example"), once its punycode label
// is whole (a dot after it) and decodes to letters and digits: a label
// being typed ("xn--bch") decodes to whatever its letters happen to mean,
// and one that decodes to a symbol ("xn--ls8h", an emoji) would leave no
// term and list everyone. Otherwise word as it is.
func unicodeDomain(word string) string {
	i := strings.Index(word, "xn--")
	if i < 0 || !strings.Contains(word[i:], ".") {
		return word
	}
	var decoded string
	if strings.ContainsRune(word, '@') {
		decoded = Fold(emails.Canonical(word))
	} else {
		decoded = Fold(emails.CanonicalDomain(word))
	}
	if cleanToken(decoded) != decoded {
		return word
	}
	return decoded
}

// tokenRune reports whether r may appear in a search token or term: letters,
// digits, and the punctuation of email addresses.
func tokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || strings.ContainsRune("@.+-_", r)
}

// cleanToken keeps only the runes tokenRune allows.
func cleanToken(s string) string { return keepRunes(s, tokenRune) }

// keepRunes returns s with only the runes keep allows.
func keepRunes(s string, keep func(rune) bool) string {
	return strings.Map(func(r rune) rune {
		if keep(r) {
			return r
		}
		return -1
	}, s)
}

// ParseQuery turns what an operator typed into search terms, folded like the
// stored tokens, phone extensions left out ("ext. 23": stripExtensions). A
// query that reads like a phone number (phoneQuery) is one term of its
// digits (see PhoneTerm; region is the domain's, for numbers without a
// country code); a vanity number's letters find its digits as a term's
// other form (TermForms). Otherwise each whitespace-separated word is a term of its
// letters, digits and the punctuation tokens keep ("@.+-_": "t_u" is a
// prefix of "t_underhill@mail.example", "o'brien" is searched as
// "obrien"), without punctuation at its ends (a trailing "@" or "." only
// shortens the prefix, so a result never disappears as the next character
// is typed); a word with "@" is read as an email is stored
// (emails.Canonical: a domain in punycode, "xn--bcher-kva.example", is
// searched as "bücher.example"; so is a domain alone). It returns a *apperr.ValidationError when
// the text is longer than MaxQueryLength characters or has more than
// MaxQueryTerms terms.
func ParseQuery(text, region string) ([]string, error) {
	text = strings.ToValidUTF8(text, "")
	if utf8.RuneCountInString(text) > MaxQueryLength {
		return nil, apperr.Invalid("query", "TOO_LONG", fmt.Sprintf("search text is limited to %d characters", MaxQueryLength))
	}
	folded, phone := phoneQuery(text)
	if phone {
		return []string{PhoneTerm(folded, region)}, nil
	}
	var terms []string
	for _, word := range strings.FieldsFunc(folded, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		word = unicodeDomain(word)
		term := strings.TrimFunc(cleanToken(word), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
		if term != "" {
			terms = append(terms, term)
		}
	}
	if len(terms) > MaxQueryTerms {
		return nil, apperr.Invalid("query", "TOO_LONG", fmt.Sprintf("search text is limited to %d words", MaxQueryTerms))
	}
	return terms, nil
}

// OptimizeAfterBulkLoad lets st tidy its search index after a bulk load
// (seed or import) that has just created `written` customers, when st has an
// index to tidy (the embedded store: see its OptimizeAfterBulkLoad, which
// decides whether the load was large enough to be worth it, and builds the
// index a load deferred). It returns the store's error.
func OptimizeAfterBulkLoad(ctx context.Context, st any, written int) error {
	o, ok := st.(interface {
		OptimizeAfterBulkLoad(ctx context.Context, written int) error
	})
	if !ok {
		return nil
	}
	return o.OptimizeAfterBulkLoad(ctx, written)
}

// DeferSearchIndex lets st write a bulk load's customers without indexing
// them one by one, when st can build its search index at the end of the load
// instead (the embedded store, into an empty store that no other process
// uses: see its DeferSearchIndex). Call it before the load and OptimizeAfterBulkLoad after
// it; until then the load's customers may not be found. It reports whether
// the index is deferred, and returns the store's error.
func DeferSearchIndex(ctx context.Context, st any) (bool, error) {
	d, ok := st.(interface {
		DeferSearchIndex(ctx context.Context) (bool, error)
	})
	if !ok {
		return false, nil
	}
	return d.DeferSearchIndex(ctx)
}
