package passwords

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iotconsole/bff/internal/apperr"
)

// adaContext is a customer Ada Lovelace of the domain "Acme Heating" (slug
// acme-heating).
var adaContext = Context{
	Account: []string{"ada.lovelace@example.com", "ada.lovelace", "Ada", "Lovelace", "Ada Lovelace", "AdaLovelace"},
	Domain:  []string{"Acme Heating", "acme-heating"},
}

func TestPolicy(t *testing.T) {
	p, err := NewPolicy(12)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		password string
		code     string // "" when accepted
	}{
		{"short", CodeTooShort},
		{"elevenchars", CodeTooShort},
		{strings.Repeat("x", MaxLength+1), CodeTooLong},
		{"            ", CodeWhitespaceOnly}, // accepted before, and then signed in with
		{"\t\n \u00a0\u2003\u200b\u3000      ", CodeWhitespaceOnly},
		{"aaaaaaaaaaaa", CodeRepetitive},
		{strings.Repeat("x", 64), CodeRepetitive},
		{"abcabcabcabc", CodeRepetitive},
		{"passwordpassword", CodeRepetitive},
		{"aaaabbbbcccc", CodeRepetitive},
		{"abcdefghijkl", CodeSequential},
		{"ZYXWVUTSRQPO", CodeSequential},
		{"1234abcd9876", CodeSequential},
		{"123456789012", CodeSequential},
		{`asdfghjkl;'\\`, CodeSequential},      // a keyboard row: the estimator's spatial match
		{"qwertyuiopasdf", CodeCommonPassword}, // "qwertyuiop" is one of zxcvbn's common passwords
		{"ADA.LOVELACE@EXAMPLE.COM", CodeMatchesAccount},
		{"ada lovelace", CodeMatchesAccount},
		{"Ada  Lovelace", CodeMatchesAccount},
		{"adalovelace2024", CodeContextWord}, // zxcvbn alone scores it 3
		{"Lovelace.Ada.1815", CodeContextWord},
		{"Acme-Heating-2024!", CodeContextWord},
		{"acmeheating!!", CodeContextWord},
		{"iotconsole2024", CodeContextWord}, // the product's name
		{"1qaz2wsx3edc", CodeCommonPassword},
		{"qwerty123456", CodeCommonPassword},
		{"iloveyou12345", CodeCommonPassword},
		{"P@ssw0rd12345", CodeCommonPassword},
		{"Welcome2024!", CodeCommonPassword},
		{"Jennifer2024!", CodeTooGuessable},
		{"twelve chars", ""},
		{"ünïcödé pâss", ""}, // 12 characters, more bytes
		{"correct horse battery staple", ""},
		{"ada lovelace rides horses at dawn", ""}, // a name in a passphrase strong without it
		{"orbit-violin-marble", ""},
		{strings.Repeat("hazelnut spoon ", 18)[:MaxLength], ""}, // not one block repeated (cut); the repeat of a strong phrase is strong
	}
	for _, tt := range tests {
		err := p.Check("newPassword", tt.password, adaContext)
		var ve *apperr.ValidationError
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("%q refused: %v", tt.password, err)
		case tt.code != "" && (!errors.As(err, &ve) || ve.Code != tt.code || ve.Field != "newPassword"):
			t.Errorf("%q: %v, want %s on newPassword", tt.password, err, tt.code)
		case err != nil && strings.Contains(ve.Message, tt.password):
			t.Errorf("%q: the message quotes the password: %q", tt.password, ve.Message)
		}
	}
	for _, bad := range []int{7, 65} {
		if _, err := NewPolicy(bad); err == nil {
			t.Errorf("NewPolicy(%d) accepted", bad)
		}
	}
}

// Assess gives the estimator's score and feedback: none when accepted, a
// warning and suggestions when refused by the estimator.
func TestAssessFeedback(t *testing.T) {
	p := Policy{MinLength: DefaultMinLength}
	tests := []struct {
		password, code, warning string
	}{
		{"aaaaaaaaaaaa", CodeRepetitive, ""},
		{"Welcome2024!", CodeCommonPassword, "This is similar to a commonly used password"},
		{"Jennifer2024!", CodeTooGuessable, "Common names and surnames are easy to guess"},
		{`asdfghjkl;'\`, CodeSequential, "Straight rows of keys are easy to guess"},
		{"iloveyou12345", CodeCommonPassword, "This is similar to a commonly used password"},
		{"adalovelace2024", CodeContextWord, ""}, // the message says it (said twice before)
		{"correct horse battery staple", "", ""},
	}
	for _, tt := range tests {
		a := p.Assess(tt.password, adaContext)
		if a.Code != tt.code || a.Warning != tt.warning {
			t.Errorf("%q: code %q warning %q, want %q and %q", tt.password, a.Code, a.Warning, tt.code, tt.warning)
		}
		if a.Acceptable() != (a.Score >= MinScore && tt.code == "") || (a.Acceptable() && (a.Message != "" || a.Suggestions != nil)) {
			t.Errorf("%q: %+v", tt.password, a)
		}
		if !a.Acceptable() && len(a.Suggestions) == 0 {
			t.Errorf("%q: refused without a suggestion", tt.password)
		}
	}
}

// The estimator replaced the 10,000 most common passwords of the former
// blocklist (testdata/common-passwords.NOTICE): it refuses every one of
// them long enough for the policy's lowest minimum, and more besides
// (variants: capitals, l33t, reversal, digits added).
func TestFormerBlocklistRefused(t *testing.T) {
	text, err := os.ReadFile("testdata/common-passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	p, checked := Policy{MinLength: MinLengthFloor}, 0
	for _, w := range strings.Split(string(text), "\n") {
		if utf8.RuneCountInString(w) < MinLengthFloor {
			continue
		}
		checked++
		if a := p.Assess(w, Context{}); a.Acceptable() {
			t.Errorf("%q accepted (score %d)", w, a.Score)
		}
	}
	if checked < 3000 {
		t.Errorf("only %d entries of at least %d characters checked", checked, MinLengthFloor)
	}
}
