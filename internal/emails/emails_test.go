package emails

import (
	"errors"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/apperr"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want, code string
	}{
		{"admin@acme.example", "admin@acme.example", ""},
		{"  Alex.Admin+ops@Acme.Example ", "alex.admin+ops@acme.example", ""},
		{"o'brien@mail.example.org", "o'brien@mail.example.org", ""},
		{"jürgen@müller.example", "jürgen@müller.example", ""},
		// One mailbox, one form (Canonical): full-width letters and "＠",
		// punycode and capitals in an internationalised domain.
		{"ｕma.two@example.com", "uma.two@example.com", ""},
		{"tess@ｅxample.com", "tess@example.com", ""},
		{"ＴＥＳＳ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "tess@example.com", ""},
		{"user@xn--bcher-kva.example", "user@bücher.example", ""},
		{"user@BÜCHER.example", "user@bücher.example", ""},
		{"not-an-email", "", "INVALID"},
		{"", "", "REQUIRED"},
		{"   ", "", "REQUIRED"},
		{"alex@localhost", "", "INVALID"},
		{"alex@acme.", "", "INVALID"},
		{"alex@.acme.example", "", "INVALID"},
		{"alex@acme..example", "", "INVALID"},
		{"@acme.example", "", "INVALID"},
		{"alex@", "", "INVALID"},
		{"alex@@acme.example", "", "INVALID"},
		{"Alex <alex@acme.example>", "", "INVALID"},
		{"<alex@acme.example>", "", "INVALID"},
		{"alex@acme.example (Alex)", "", "INVALID"},
		{"alex@acme.example, eve@evil.example", "", "INVALID"},
		{"alex smith@acme.example", "", "INVALID"},
		{"alex@[127.0.0.1]", "", "INVALID"},
		{"alex\u202e@acme.example", "", "INVALID"},
		{"victim.one\u200b@example.com", "", "INVALID"},
		{"victim.one@exa\u200bmple.com", "", "INVALID"},
		{"\ufeffalex@acme.example", "", "INVALID"},
		{"alex@-acme.example", "", "INVALID"},
		{"alex@acme-.example", "", "INVALID"},
		{"alex@ac_me.example", "", "INVALID"},
		{"alex@" + strings.Repeat("b", 64) + ".com", "", "INVALID"},
		{"alex@xn--mller-kva.example", "alex@müller.example", ""},
		{"alex@acme.example\x00", "", "INVALID"},
		{"alex@acme.example\nBcc: eve@evil.example", "", "INVALID"},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", "", "TOO_LONG"},
		{strings.Repeat("a", 64) + "@acme.example", strings.Repeat("a", 64) + "@acme.example", ""},
		{strings.Repeat("a", 65) + "@acme.example", "", "TOO_LONG"},
		{strings.Repeat("é", 33) + "@acme.example", "", "TOO_LONG"}, // 66 octets in UTF-8
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse("email", tt.in)
			if tt.code == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			var ve *apperr.ValidationError
			if !errors.As(err, &ve) || ve.Field != "email" || ve.Code != tt.code || got != "" {
				t.Fatalf("Parse(%q) = %q, %v; want a ValidationError on email with code %s", tt.in, got, err, tt.code)
			}
		})
	}
}

// Canonical gives sign-in the form Parse stores, for every way of writing
// one address, and leaves what it cannot read as typed, in lower case.
func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		" Uma.Two@Example.COM ":      "uma.two@example.com",
		"ｕma.two@ｅｘａｍｐｌｅ.com":        "uma.two@example.com",
		"user@xn--bcher-kva.example": "user@bücher.example",
		"u\u0308nal@example.com":     "ünal@example.com",
		"no-at-sign":                 "no-at-sign",
		"Odd@exa_mple.com":           "odd@exa_mple.com",
	} {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
		if parsed, err := Parse("email", in); err == nil && parsed != Canonical(in) {
			t.Errorf("Parse(%q) = %q but Canonical gives %q", in, parsed, Canonical(in))
		}
	}
}
