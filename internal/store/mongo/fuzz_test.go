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
	for _, s := range []string{"jo", `.* ( [ \ " ^ $ + ? | {`, "a.b+c@d", "smith@exa", "x|y", "kowalczykowa", "żółćżółćżółć", "0199", "555 010 0199", "t100-2025-hall"} {
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
					want = want && slices.ContainsFunc(tokens, func(tok string) bool {
						return slices.ContainsFunc(customers.TermForms(tt), func(form string) bool { return strings.HasPrefix(tok, form) })
					})
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
		if !holds(t, clause.(bson.D)[0], tokens, prefixes) {
			return false
		}
	}
	return true
}

// holds evaluates one clause of a search filter on a customer of domain "d"
// with tokens and their prefixes.
func holds(t *testing.T, e bson.E, tokens, prefixes []string) bool {
	switch v := e.Value.(type) {
	case string:
		switch e.Key {
		case "domainId":
			return v == "d"
		case "searchPrefixes":
			return slices.Contains(prefixes, v)
		}
	case bson.Regex:
		if e.Key != "searchTokens" || !strings.HasPrefix(v.Pattern, "^") {
			t.Fatalf("unexpected pattern %v", e)
		}
		re, err := regexp.Compile(v.Pattern)
		if err != nil {
			t.Fatalf("pattern %q: %v", v.Pattern, err)
		}
		return slices.ContainsFunc(tokens, re.MatchString)
	case bson.A: // $or
		if e.Key == "$or" {
			return slices.ContainsFunc(v, func(c any) bool { return holds(t, c.(bson.D)[0], tokens, prefixes) })
		}
	case bson.D:
		switch {
		case e.Key == erasedAtKey: // notErased
			return true
		case e.Key == "searchPrefixes" && v[0].Key == "$in":
			return slices.ContainsFunc(v[0].Value.(bson.A), func(k any) bool { return slices.Contains(prefixes, k.(string)) })
		}
	}
	t.Fatalf("unexpected clause %v", e)
	return false
}
