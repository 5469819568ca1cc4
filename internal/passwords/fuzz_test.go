package passwords

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/iotconsole/bff/internal/apperr"
)

// The policy answers every input with acceptance or a validation error on
// the field asked for, and never accepts what is too short, too long or
// equal to the account's own words.
func FuzzPolicy(f *testing.F) {
	f.Add("correct horse battery staple", "ada@example.com")
	f.Add("\xff\xfe\x00", "")
	f.Add("1qaz2wsx3edc", "x")
	p := Policy{MinLength: DefaultMinLength}
	f.Fuzz(func(t *testing.T, password, personal string) {
		err := p.Check("newPassword", password, personal)
		if err == nil {
			n := utf8.RuneCountInString(password)
			if n < p.MinLength || n > MaxLength {
				t.Fatalf("accepted a password of %d characters", n)
			}
			return
		}
		var ve *apperr.ValidationError
		if !errors.As(err, &ve) || ve.Field != "newPassword" || ve.Code == "" {
			t.Fatalf("Check(%q) = %v", password, err)
		}
	})
}
