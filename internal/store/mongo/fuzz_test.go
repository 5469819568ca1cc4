package mongo

import (
	"regexp"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/iotconsole/bff/internal/customers"
)

// Every search term becomes an anchored pattern that matches exactly the
// tokens starting with the term: never an unescaped metacharacter, never an
// unanchored pattern.
func FuzzSearchFilterPatterns(f *testing.F) {
	for _, s := range []string{"jo", `.* ( [ \ " ^ $ + ? | {`, "a.b+c@d", "smith@exa", "x|y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		terms, err := customers.ParseQuery(text, "US")
		if err != nil || len(terms) == 0 {
			return
		}
		filter := searchFilter(customers.SearchQuery{DomainID: "d", Terms: terms}, false)
		var patterns []string
		for _, clause := range filter[0].Value.(bson.A) {
			for _, e := range clause.(bson.D) {
				if re, ok := e.Value.(bson.Regex); ok {
					patterns = append(patterns, re.Pattern)
				}
			}
		}
		if len(patterns) != len(terms) {
			t.Fatalf("%d patterns for %d terms", len(patterns), len(terms))
		}
		for i, p := range patterns {
			if !strings.HasPrefix(p, "^") {
				t.Fatalf("unanchored pattern %q", p)
			}
			re, err := regexp.Compile(p)
			if err != nil {
				t.Fatalf("pattern %q: %v", p, err)
			}
			term := terms[i]
			for _, s := range []string{term, term + "tail", "\x01" + term, term[:len(term)-1] + "\x01", strings.ToUpper(term)} {
				if re.MatchString(s) != strings.HasPrefix(s, term) {
					t.Fatalf("pattern %q on %q: %v, want %v", p, s, re.MatchString(s), strings.HasPrefix(s, term))
				}
			}
		}
	})
}
