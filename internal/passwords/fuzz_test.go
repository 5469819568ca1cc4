package passwords

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iotconsole/bff/internal/apperr"
)

// The policy answers every input with acceptance or a validation error on
// the field asked for, within a bounded time; it never accepts what is too
// short, too long, blank or equal to the account's own words, and its
// message never quotes the password.
func FuzzPolicy(f *testing.F) {
	f.Add("correct horse battery staple", "ada@example.com", "acme")
	f.Add("\xff\xfe\x00", "", "")
	f.Add("1qaz2wsx3edc", "x", "y")
	f.Add("            ", "", "")
	f.Add(strings.Repeat("4@1!0$3|7+5", 23), "p@ss", "l33t")
	p := Policy{MinLength: DefaultMinLength}
	f.Fuzz(func(t *testing.T, password, personal, domain string) {
		started := time.Now()
		err := p.Check("newPassword", password, Context{Account: []string{personal}, Domain: []string{domain}})
		if d := time.Since(started); d > 2*time.Second {
			t.Fatalf("Check took %v", d)
		}
		if err == nil {
			n := utf8.RuneCountInString(password)
			switch {
			case n < p.MinLength || n > MaxLength:
				t.Fatalf("accepted a password of %d characters", n)
			case blank(password):
				t.Fatalf("accepted a blank password")
			case strings.EqualFold(strings.TrimSpace(personal), password):
				t.Fatalf("accepted the account's own word")
			}
			return
		}
		var ve *apperr.ValidationError
		if !errors.As(err, &ve) || ve.Field != "newPassword" || ve.Code == "" {
			t.Fatalf("Check(%q) = %v", password, err)
		}
		if len(password) >= 4 && strings.Contains(ve.Message, password) {
			t.Fatalf("the message quotes the password: %q", ve.Message)
		}
	})
}
