package passwords

import (
	"regexp"
	"strings"
	"testing"
)

// A passphrase is lower-case words joined by '-' (a few EFF words have a
// '-' of their own), at least four of them and as many more as the
// policy's minimum needs, and the policy accepts it.
func TestPassphrase(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z]+(-[a-z]+){3,}$`)

	for _, minLength := range []int{MinLengthFloor, DefaultMinLength, 40, MinLengthCeiling} {
		p, err := NewPolicy(minLength)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for range 20 {
			phrase, err := p.Passphrase(adaContext)
			if err != nil {
				t.Fatalf("minimum %d: %v", minLength, err)
			}
			if !shape.MatchString(phrase) || len(phrase) < minLength {
				t.Fatalf("minimum %d: %q is not four or more words of at least %d characters", minLength, phrase, minLength)
			}
			if err := p.Check("newPassword", phrase, adaContext); err != nil {
				t.Fatalf("minimum %d: the policy refuses %q: %v", minLength, phrase, err)
			}
			if seen[phrase] {
				t.Fatalf("minimum %d: %q drawn twice in 20 draws", minLength, phrase)
			}
			seen[phrase] = true
		}
		if minLength == MinLengthCeiling {
			for phrase := range seen {
				if strings.Count(phrase, "-") < 5 { // 64 characters need more than four words of at most 9 letters
					t.Errorf("minimum 64: %q has too few words", phrase)
				}
			}
		}
	}
}
