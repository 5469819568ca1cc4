package customers

import (
	"slices"
	"testing"

	"github.com/iotconsole/bff/internal/devices"
)

func TestMatches(t *testing.T) {
	c := Customer{ID: "01KBCUSTOMER0000000000000", FirstName: "Zoë", LastName: "Schröder", Email: "t_underhill@mail.example",
		Phone: "+1 (555) 010-0199", ExternalID: "CRM-42"}
	devs := []devices.Device{{SerialNumber: "T100-2025-HALL", MACAddress: "02:10:C0:00:4A:11"}}
	type hl struct {
		field MatchField
		value string
		parts []string
	}
	tests := []struct {
		query string
		want  []hl
	}{
		{"zo", []hl{{MatchName, "Zoë Schröder", []string{"Zo"}}}},
		{"zoe schr", []hl{{MatchName, "Zoë Schröder", []string{"Zoë", "Schr"}}}},
		{"schroeder", []hl{{MatchName, "Zoë Schröder", []string{"Schröder"}}}},
		{"t_und", []hl{{MatchEmail, "t_underhill@mail.example", []string{"t_und"}}}},
		{"mail.ex", []hl{{MatchEmail, "t_underhill@mail.example", []string{"mail.ex"}}}},
		{"0199", []hl{{MatchPhone, "+1 (555) 010-0199", []string{"0199"}}}},
		{"+1 555 010", []hl{{MatchPhone, "+1 (555) 010-0199", []string{"1 (555) 010"}}}},
		{"555 010", []hl{{MatchPhone, "+1 (555) 010-0199", []string{"555) 010"}}}},
		{"t100-20", []hl{{MatchDevice, "T100-2025-HALL", []string{"T100-20"}}}},
		// Typed without the value's punctuation: the part it stands for, not the whole value.
		{"t1002025", []hl{{MatchDevice, "T100-2025-HALL", []string{"T100-2025"}}}},
		{"021", []hl{{MatchDevice, "02:10:C0:00:4A:11", []string{"02:1"}}}},
		{"crm42", []hl{{MatchExternalID, "CRM-42", []string{"CRM-42"}}}},
		{"02:10:c0", []hl{{MatchDevice, "02:10:C0:00:4A:11", []string{"02:10:C0"}}}},
		{"crm-4", []hl{{MatchExternalID, "CRM-42", []string{"CRM-4"}}}},
		{"01kbcustomer0000000000000", nil}, // an id is no search token: a search for it is a point read
	}
	for _, tt := range tests {
		terms, err := ParseQuery(tt.query, "US")
		if err != nil {
			t.Fatal(err)
		}
		var got []hl
		for _, h := range Matches(c, devs, terms, "US") {
			var parts []string
			units := []rune(h.Value) // the values here are in the BMP: a rune is a UTF-16 unit
			for _, r := range h.Ranges {
				parts = append(parts, string(units[r.Start:r.Start+r.Length]))
			}
			got = append(got, hl{h.Field, h.Value, parts})
		}
		if !slices.EqualFunc(got, tt.want, func(a, b hl) bool {
			return a.field == b.field && a.value == b.value && slices.Equal(a.parts, b.parts)
		}) {
			t.Errorf("Matches(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

// A number written without its country code, found by a query with one,
// highlights the national digits typed after the country code, however few
// (not the whole number): "+1 415" marks "415" of "(415) 555-0199".
func TestMatchesNationalNumberByItsCountryCode(t *testing.T) {
	tests := []struct {
		phone, region, query, want string
	}{
		{"(415) 555-0199", "US", "+1 415", "415"},
		{"(415) 555-0199", "US", "+1 41", "41"},
		{"(415) 555-0199", "US", "001 4", "4"},
		{"(415) 555-0199", "US", "+1 415 555 0199", "415) 555-0199"},
		{"020 7946 0018", "GB", "+44 20", "20"},
		{"020 7946 0018", "GB", "0044 20 79", "20 79"},
		{"030 901820", "DE", "+49 30", "30"},
		{"+44 20 7946 0019", "GB", "020", "20"},
		{"0044 20 7946 0021", "GB", "0207", "20 7"},
		{"+1 (555) 010-0199", "US", "1555", "1 (555"},
	}
	for _, tt := range tests {
		c := Customer{ID: "c1", FirstName: "Una", LastName: "States", Email: "una@example.com", Phone: tt.phone, PhoneRegion: tt.region}
		terms, err := ParseQuery(tt.query, tt.region)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range Matches(c, nil, terms, tt.region) {
			if h.Field != MatchPhone {
				continue
			}
			for _, r := range h.Ranges {
				got = append(got, tt.phone[r.Start:r.Start+r.Length]) // ASCII values: a byte is a UTF-16 unit
			}
		}
		if !slices.Equal(got, []string{tt.want}) {
			t.Errorf("%q in %s highlights %q of %q, want %q", tt.query, tt.region, got, tt.phone, tt.want)
		}
	}
}

// A term reaching a customer through a form its value does not show (the
// address without its tag, a name written together) names the field, and
// highlights the whole value.
func TestMatchesThroughFormsNotShown(t *testing.T) {
	c := Customer{FirstName: "小龙", LastName: "李", Email: "sarah.jane.smith+iot@gmail.com"}
	for query, want := range map[string]MatchField{"sarah.jane.smith@gmail.com": MatchEmail, "sarah.jane.smith@gm": MatchEmail, "李小": MatchName} {
		terms, err := ParseQuery(query, "US")
		if err != nil {
			t.Fatal(err)
		}
		hs := Matches(c, nil, terms, "US")
		if len(hs) != 1 || hs[0].Field != want || len(hs[0].Ranges) != 1 || hs[0].Ranges[0] != (TextRange{0, len([]rune(hs[0].Value))}) {
			t.Errorf("Matches(%q) = %+v, want %s, the whole value", query, hs, want)
		}
	}
}
