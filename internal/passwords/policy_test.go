package passwords

import (
	"errors"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/apperr"
)

func TestPolicy(t *testing.T) {
	p, err := NewPolicy(12)
	if err != nil {
		t.Fatal(err)
	}
	personal := []string{"ada.lovelace@example.com", "ada.lovelace", "Ada", "Lovelace", "Ada Lovelace"}
	tests := []struct {
		password string
		code     string // "" when accepted
	}{
		{"short", "TOO_SHORT"},
		{"elevenchars", "TOO_SHORT"},
		{"twelve chars", ""},
		{"ünïcödé pâss", ""}, // 12 characters, more bytes
		{strings.Repeat("x", 64), ""},
		{strings.Repeat("x", MaxLength+1), "TOO_LONG"},
		{"1qaz2wsx3edc", "COMMON_PASSWORD"},
		{"QAZWSXEDCRFV", "COMMON_PASSWORD"},
		{"qwerty123456", "COMMON_PASSWORD"},
		{"ADA.LOVELACE@EXAMPLE.COM", "MATCHES_ACCOUNT"},
		{"ada lovelace", "MATCHES_ACCOUNT"},
		{"correct horse battery staple", ""},
	}
	for _, tt := range tests {
		err := p.Check("newPassword", tt.password, personal...)
		var ve *apperr.ValidationError
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("%q refused: %v", tt.password, err)
		case tt.code != "" && (!errors.As(err, &ve) || ve.Code != tt.code || ve.Field != "newPassword"):
			t.Errorf("%q: %v, want %s on newPassword", tt.password, err, tt.code)
		}
	}
	if lines := strings.Count(commonPasswordsText, "\n"); lines != 10000 || len(common) < 9900 {
		t.Errorf("blocklist: %d lines, %d distinct in lower case; want the 10,000 most common", lines, len(common))
	}
	for _, bad := range []int{7, 65} {
		if _, err := NewPolicy(bad); err == nil {
			t.Errorf("NewPolicy(%d) accepted", bad)
		}
	}
}
