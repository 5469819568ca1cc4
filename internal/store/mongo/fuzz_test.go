package mongo

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/iotconsole/bff/internal/customers"
)

// The prefix tier's filter of any query matches exactly the customers each
// of whose terms starts one of their tokens: evaluated here on documents of
// a few tokens, with their searchPrefixes, so that no escaped or unescaped
// metacharacter, unanchored pattern, or prefix key cut inside a character
// goes unnoticed.
func FuzzSearchFilterPatterns(f *testing.F) {
	for _, s := range []string{"jo", `.* ( [ \ " ^ $ + ? | {`, "a.b+c@d", "smith@exa", "x|y", "kowalczykowa", "żółćżółćżółć"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		terms, err := customers.ParseQuery(text, "US")
		if err != nil || len(terms) == 0 {
			return
		}
		filter := searchFilter(customers.SearchQuery{DomainID: "d", Terms: terms}, false)
		for i, term := range terms {
			others := slices.Delete(slices.Clone(terms), i, i+1)
			for _, s := range []string{term, term + "tail", "\x01" + term, term[:len(term)-1] + "\x01", strings.ToUpper(term)} {
				tokens := append([]string{s}, others...)
				want := true
				for _, tt := range terms {
					want = want && slices.ContainsFunc(tokens, func(tok string) bool { return strings.HasPrefix(tok, tt) })
				}
				if got := matches(t, filter, tokens); got != want {
					t.Fatalf("query %q on tokens %q: match %v, want %v (filter %v)", text, tokens, got, want, filter)
				}
			}
		}
	})
}

// matches evaluates a search filter (an $and of one-key clauses) on a
// customer of domain "d" with tokens.
func matches(t *testing.T, filter bson.D, tokens []string) bool {
	prefixes := searchPrefixes(tokens)
	for _, clause := range filter[0].Value.(bson.A) {
		e := clause.(bson.D)[0]
		switch v := e.Value.(type) {
		case string:
			switch e.Key {
			case "domainId":
				if v != "d" {
					return false
				}
			case "searchPrefixes":
				if !slices.Contains(prefixes, v) {
					return false
				}
			default:
				t.Fatalf("unexpected clause %v", e)
			}
		case bson.Regex:
			if e.Key != "searchTokens" || !strings.HasPrefix(v.Pattern, "^") {
				t.Fatalf("unexpected pattern %v", e)
			}
			re, err := regexp.Compile(v.Pattern)
			if err != nil {
				t.Fatalf("pattern %q: %v", v.Pattern, err)
			}
			if !slices.ContainsFunc(tokens, re.MatchString) {
				return false
			}
		case bson.D: // notErased
			if e.Key != erasedAtKey {
				t.Fatalf("unexpected clause %v", e)
			}
		default:
			t.Fatalf("unexpected clause %v", e)
		}
	}
	return true
}
