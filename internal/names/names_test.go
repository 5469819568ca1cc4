package names

import (
	"errors"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/apperr"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // when code is ""
		code     string
	}{
		{"NUL", "Hall\x00way", "", CodeInvalidCharacters},
		{"right-to-left override", "Kitchen\u202egnp.exe", "", CodeInvalidCharacters},
		{"left-to-right embedding", "\u202aHall", "", CodeInvalidCharacters},
		{"pop directional formatting", "Hall\u202c", "", CodeInvalidCharacters},
		{"left-to-right isolate", "\u2066Hall\u2069", "", CodeInvalidCharacters},
		{"first strong isolate", "Hall\u2068x", "", CodeInvalidCharacters},
		{"right-to-left mark", "Hall\u200f", "", CodeInvalidCharacters},
		{"left-to-right mark", "\u200eHall", "", CodeInvalidCharacters},
		{"arabic letter mark", "\u061cHall", "", CodeInvalidCharacters},
		{"zero width space", "Jo\u200bhn", "", CodeInvalidCharacters},
		{"soft hyphen", "Jo\u00adhn", "", CodeInvalidCharacters},
		{"word joiner", "Jo\u2060hn", "", CodeInvalidCharacters},
		{"zero width no-break space", "\ufeffJohn", "", CodeInvalidCharacters},
		{"invisible times", "Jo\u2062hn", "", CodeInvalidCharacters},
		{"Mongolian vowel separator", "Jo\u180ehn", "", CodeInvalidCharacters},
		{"Hangul filler alone", "\u3164", "", CodeInvalidCharacters},
		{"halfwidth Hangul filler", "\uffa0\uffa0", "", CodeInvalidCharacters},
		{"combining grapheme joiner", "Jo\u034fhn", "", CodeInvalidCharacters},
		{"joiners alone", "\u200d\u200c", "", CodeInvalidCharacters},
		{"braille blank", "\u2800\u2800", "", CodeInvalidCharacters},
		{"braille blank inside", "Jo\u2800hn", "", CodeInvalidCharacters},
		{"variation selector alone", "\ufe0f", "", CodeInvalidCharacters},
		{"joiner inside a Latin name", "Jo\u200dhn", "", CodeInvalidCharacters},
		{"joiner first", "\u200dJohn", "", CodeInvalidCharacters},
		{"non-joiner last", "John\u200c", "", CodeInvalidCharacters},
		{"variation selector after a letter", "Demo Heating Co.\ufe0f", "", CodeInvalidCharacters},
		{"Mongolian variation selector after a Latin letter", "John\u180b", "", CodeInvalidCharacters},
		{"black flag and tags of no flag", "John\U0001F3F4\U000E0069\U000E0067\U000E006E\U000E007F", "", CodeInvalidCharacters},
		{"keycap", "Room 1\ufe0f\u20e3", "Room 1\ufe0f\u20e3", ""},
		{"tags after a word", "Kitchen\U000E0049\U000E0047\U000E004E", "", CodeInvalidCharacters},
		{"a tag alone", "\U000E0041tag", "", CodeInvalidCharacters},
		{"tab inside", "Hall\tway", "", CodeInvalidCharacters},
		{"tab around", "\tHall\t", "", CodeInvalidCharacters},
		{"newline", "Hall\nOperator note: verified", "", CodeInvalidCharacters},
		{"carriage return", "Hall\r", "", CodeInvalidCharacters},
		{"escape", "Hall\x1b[31m", "", CodeInvalidCharacters},
		{"DEL", "Hall\x7f", "", CodeInvalidCharacters},
		{"C1 next line", "Hall\u0085", "", CodeInvalidCharacters},
		{"C1 CSI", "Hall\u009b", "", CodeInvalidCharacters},
		{"line separator", "Hall\u2028way", "", CodeInvalidCharacters},
		{"paragraph separator", "Hall\u2029", "", CodeInvalidCharacters},
		{"invalid UTF-8", "Hall\xff", "", CodeInvalidCharacters},
		{"truncated UTF-8", "Caf\xc3", "", CodeInvalidCharacters},
		{"encoded surrogate", "\xed\xa0\x80", "", CodeInvalidCharacters},
		{"blank", "   ", "", CodeRequired},
		{"empty", "", "", CodeRequired},
		{"no-break spaces only", "\u00a0\u3000", "", CodeRequired},
		{"too long", strings.Repeat("a", 21), "", CodeTooLong},
		{"decomposed e acute becomes NFC", "e\u0301", "\u00e9", ""},
		{"decomposed within", "Rene\u0301e Lefe\u0300vre", "Ren\u00e9e Lef\u00e8vre", ""},
		{"decomposed counts once", strings.Repeat("e\u0301", 20), strings.Repeat("\u00e9", 20), ""},
		{"trimmed", "  Living room  ", "Living room", ""},
		{"ideographic space trimmed", "\u3000Hall\u3000", "Hall", ""},
		{"ascii", "Ada Admin", "Ada Admin", ""},
		{"apostrophe and hyphen", "O'Brien-Smith", "O'Brien-Smith", ""},
		{"CJK", "客厅空调", "客厅空调", ""},
		{"Japanese", "リビング", "リビング", ""},
		{"Arabic", "غرفة المعيشة", "غرفة المعيشة", ""},
		{"Hebrew", "סלון", "סלון", ""},
		{"Vietnamese", "Nguyễn Văn", "Nguyễn Văn", ""},
		{"Persian with ZWNJ", "می\u200cخواهم", "می\u200cخواهم", ""},
		{"emoji", "Nursery 👶🏽", "Nursery 👶🏽", ""},
		{"emoji ZWJ sequence", "🧖\u200d♀\ufe0f", "🧖\u200d♀\ufe0f", ""},
		{"England flag (tag sequence)", "Fan \U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", "Fan \U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", ""},
		{"Devanagari with ZWJ", "क्\u200dष", "क्\u200dष", ""},
		{"exactly the limit", "01234567890123456789", "01234567890123456789", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Clean("name", tt.in, 20)
			if tt.code == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Clean(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			var ve *apperr.ValidationError
			if !errors.As(err, &ve) || ve.Field != "name" || ve.Code != tt.code || ve.Message == "" {
				t.Fatalf("Clean(%q) = %q, %v; want a ValidationError on name with code %s", tt.in, got, err, tt.code)
			}
			if got != "" {
				t.Fatalf("Clean(%q) refused but returned %q", tt.in, got)
			}
		})
	}
}

// Text in another encoding (a Latin-1 file) is named as such, not as
// control characters.
func TestCleanNamesInvalidUTF8(t *testing.T) {
	var v *apperr.ValidationError
	if _, err := Clean("name", "Caf\xe9", 20); !errors.As(err, &v) || v.Code != CodeInvalidCharacters || !strings.Contains(v.Message, "not valid UTF-8") {
		t.Errorf("Latin-1 text: %v, want a message naming UTF-8", err)
	}
}

// FuzzClean checks that whatever Clean accepts is valid NFC UTF-8 without any
// refused character, within the limit, and stays the same when cleaned again.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"Hall", "e\u0301", "a\u202eb", "\u2066x\u2069", "\x00", "\xff", " 客厅 ", "Ω\u0345\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Clean("name", s, 64)
		if err != nil {
			return
		}
		if strings.IndexFunc(got, refused) >= 0 {
			t.Fatalf("Clean(%q) = %q, which has a refused character", s, got)
		}
		again, err := Clean("name", got, 64)
		if err != nil || again != got {
			t.Fatalf("Clean is not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

func TestReason(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // when code is ""
		code     string
	}{
		{"blank", "  \n ", "", ""},
		{"one line", " The customer called about billing ", "The customer called about billing", ""},
		{"several lines", "Ticket 4711\r\nCaller verified\rby phone", "Ticket 4711\nCaller verified\nby phone", ""},
		{"decomposed", "Rene\u0301 asked", "René asked", ""},
		{"right-to-left override", "Ticket \u202e1174", "", CodeInvalidCharacters},
		{"isolate", "\u2066Ticket\u2069", "", CodeInvalidCharacters},
		{"tab", "Ticket\t4711", "", CodeInvalidCharacters},
		{"NUL", "Ticket\x00", "", CodeInvalidCharacters},
		{"invalid UTF-8", "Ticket \xff", "", CodeInvalidCharacters},
		{"too long", strings.Repeat("é", MaxReasonLength+1), "", CodeTooLong},
		{"as long as allowed", strings.Repeat("é", MaxReasonLength), strings.Repeat("é", MaxReasonLength), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Reason("reason", tt.in)
			var ve *apperr.ValidationError
			switch {
			case tt.code == "" && (err != nil || got != tt.want):
				t.Fatalf("Reason(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			case tt.code != "" && (!errors.As(err, &ve) || ve.Code != tt.code || ve.Field != "reason" || got != ""):
				t.Fatalf("Reason(%q) = %q, %v; want code %s on reason", tt.in, got, err, tt.code)
			}
		})
	}
}

func TestReplacementCharacterIsRefused(t *testing.T) {
	// Invalid UTF-8 sent in JSON reaches the service as U+FFFD.
	for _, in := range []string{"Sam\uFFFD", "\uFFFD"} {
		if _, err := Clean("firstName", in, 100); err == nil {
			t.Errorf("Clean(%q) accepted", in)
		}
	}
}
