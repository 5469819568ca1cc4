package customers

import (
	"slices"
	"testing"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Müller", "muller"},
		{"MULLER", "muller"},
		{"Ｍüｌｌｅｒ", "muller"}, // full-width
		{"Łukasz Østergaard", "lukasz ostergaard"},
		{"Weiß", "weiss"},
		{"Nguyễn", "nguyen"},
		{"bad\xffutf8", "badutf8"},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSearchTokens(t *testing.T) {
	c := Customer{FirstName: "Siobhán", LastName: "O'Brien", Email: "Siobhan.OBrien@Example.com", Phone: "+1 (555) 010-0199"}
	got := SearchTokens(c, "US")
	for _, want := range []string{
		"siobhan", "o", "brien", "obrien", // name words and the name joined across the apostrophe
		"siobhan.obrien@example.com", "siobhan.obrien", "example.com", // whole email, local part, domain
		"15550100199", "5550100199", "0100199", "0199", // E.164, national, tails
	} {
		if !slices.Contains(got, want) {
			t.Errorf("SearchTokens lacks %q: %v", want, got)
		}
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("tokens not sorted and distinct: %v", got)
	}
}

func TestPhoneTokensUnparseableKeepsDigits(t *testing.T) {
	got := PhoneTokens("ext. 12", "US")
	if !slices.Equal(got, []string{"12"}) {
		t.Errorf("PhoneTokens(unparseable) = %v, want [12]", got)
	}
	if got := PhoneTokens("", "US"); got != nil {
		t.Errorf("PhoneTokens(empty) = %v, want nil", got)
	}
}
