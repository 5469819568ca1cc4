package sqlite

import (
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/customers"
)

// Every FTS5 query built from user input is the terms' forms as quoted
// phrases, joined by OR within a term and by AND between terms (and one NOT):
// nothing of the input can be read as FTS5 syntax.
func FuzzMatchExpr(f *testing.F) {
	for _, s := range []string{"jo smi", `NEAR(a b) "x" * ^ AND OR NOT`, `"`, "a*", "x:y", "{col}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		terms, err := customers.ParseQuery(text, "US")
		if err != nil || len(terms) == 0 {
			return
		}
		for _, exact := range []bool{true, false} {
			expr := matchExpr(customers.SearchQuery{DomainID: "dom", Terms: terms}, exact)
			// Remove the quoted phrases; what is left must be our own syntax.
			rest, inQuote := strings.Builder{}, false
			for i := 0; i < len(expr); i++ {
				switch {
				case expr[i] == '"' && inQuote && i+1 < len(expr) && expr[i+1] == '"':
					i++ // an escaped quote inside a phrase
				case expr[i] == '"':
					inQuote = !inQuote
				case !inQuote:
					rest.WriteByte(expr[i])
				}
			}
			if inQuote {
				t.Fatalf("unbalanced quotes in %q", expr)
			}
			for _, word := range strings.Fields(strings.NewReplacer("(", " ", ")", " ", "*", " ").Replace(rest.String())) {
				if word != "AND" && word != "OR" && word != "NOT" {
					t.Fatalf("%q leaks %q outside the quotes in %q", text, word, expr)
				}
			}
		}
	})
}
