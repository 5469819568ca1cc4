package customers

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/iotconsole/bff/internal/apperr"
)

var hostile = []string{
	"", " ", "jo smi", `.* ( [ \ " ^ $ + ? | { NEAR AND OR`, "O'Brien", "+1 (555) 010-0199", "smith@exa",
	"\x00\xff\xfe", "ｊｏｈｎ", strings.Repeat("a", 300), "a b c d e f g h i", `"*"`, "john*", "-john", "NOT john",
}

// Every term is a non-empty run of token characters: nothing can reach a
// query language as an operator, a quote or a wildcard.
func FuzzParseQuery(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		terms, err := ParseQuery(text, "US")
		var ve *apperr.ValidationError
		if err != nil {
			if !errors.As(err, &ve) {
				t.Fatalf("ParseQuery(%q) failed with %v, want a validation error", text, err)
			}
			return
		}
		if len(terms) > MaxQueryTerms {
			t.Fatalf("%d terms", len(terms))
		}
		for _, term := range terms {
			if term == "" || !utf8.ValidString(term) {
				t.Fatalf("bad term %q from %q", term, text)
			}
			for _, r := range term {
				if !tokenRune(r) {
					t.Fatalf("term %q from %q holds %q", term, text, r)
				}
			}
		}
	})
}

// Tokens are sorted, distinct, non-empty and made of token characters only
// (after a phone number's marker, which begins a token of digits),
// whatever a customer's name, email or phone holds.
func FuzzSearchTokens(f *testing.F) {
	f.Add("Zoë", "O'Brien", "zoe.o@example.com", "+1 (555) 010-0199", "US")
	f.Add("\x00", "\xff", "@@", "+", "ZZ")
	f.Fuzz(func(t *testing.T, first, last, email, phone, region string) {
		tokens := SearchTokens(Customer{FirstName: first, LastName: last, Email: email, Phone: phone}, nil, region)
		if !slices.IsSorted(tokens) || len(slices.Compact(slices.Clone(tokens))) != len(tokens) {
			t.Fatalf("tokens not sorted and distinct: %q", tokens)
		}
		for _, tok := range tokens {
			if tok == "" {
				t.Fatal("empty token")
			}
			rest, marked := strings.CutPrefix(tok, phoneMarker) // rest: the token after its marker, or all of it
			if !marked {
				rest, marked = strings.CutPrefix(tok, reversedPhoneMarker)
			}
			if marked && !isDigits(rest) || !marked && strings.HasPrefix(tok, markerLead) {
				t.Fatalf("token %q: a marker before other than digits, or another token beginning like one", tok)
			}
			for _, r := range rest {
				if !tokenRune(r) {
					t.Fatalf("token %q holds %q", tok, r)
				}
			}
		}
	})
}

// Whatever a customer's phone number and name hold, and whatever is typed,
// Matches neither panics nor gives a range outside the value it marks
// (characters that fold to several digits, "⑩", once indexed past the end).
func FuzzMatches(f *testing.F) {
	f.Add("⑩⑩⑩⑩⑩", "1010", "US")
	f.Add("⒈⒉⒊⒋⒌⒍", "+1 23", "US")
	f.Add("０２０ ７９４６ ００１８", "+44 20", "GB")
	f.Add("(415) 555-0199", "001 4", "US")
	f.Add("\xff9", "\xff", "ZZ")
	f.Fuzz(func(t *testing.T, phone, query, region string) {
		c := Customer{ID: "c1", FirstName: phone, LastName: "Last", Email: "a@example.com", Phone: phone}
		terms, err := ParseQuery(query, region)
		if err != nil {
			return
		}
		for _, h := range Matches(c, nil, terms, region) {
			units := len(utf16.Encode([]rune(h.Value)))
			for _, r := range h.Ranges {
				if r.Start < 0 || r.Length <= 0 || r.Start+r.Length > units {
					t.Fatalf("%q in %q: range %+v outside %d UTF-16 units", query, h.Value, r, units)
				}
			}
		}
	})
}
