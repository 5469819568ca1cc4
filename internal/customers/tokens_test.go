package customers

import (
	"slices"
	"strings"
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
		{"STRASSE", "strasse"}, {"Straße", "strasse"}, {"STRAẞE", "strasse"}, // full case folding, not lower-casing
		{"ΣΊΣΥΦΟΣ", "σισυφοσ"}, {"σίσυφος", "σισυφοσ"}, // every sigma, final or not
		{"İSTANBUL", "istanbul"}, {"ışık", "isik"}, {"IŞIK", "isik"}, // Turkish dotted and dotless i
		{"ﬁnn", "finn"}, {"ＪＯＨＮ", "john"}, // ligatures, full width
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSearchTokens(t *testing.T) {
	c := Customer{FirstName: "Siobhán", LastName: "O'Brien", Email: "Siobhan.OBrien@Example.com", Phone: "+1 (555) 010-0199"}
	got := SearchTokens(c, nil, "US")
	for _, want := range []string{
		"siobhan", "o", "brien", "obrien", // name words and the name joined across the apostrophe
		"siobhan.obrien@example.com", "siobhan.obrien", "example.com", // whole email, local part, domain
		"@p15550100199", "@p5550100199", "@p0100199", "@rev9910010555", // E.164, national, subscriber number, national backwards
	} {
		if !slices.Contains(got, want) {
			t.Errorf("SearchTokens lacks %q: %v", want, got)
		}
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("tokens not sorted and distinct: %v", got)
	}
}

// A number the library does not read as a possible number of the region (a
// UK mobile in a US domain, written without +44; too few or too many digits) is
// found by its last digits all the same: every such term's reversed form
// is a prefix of one of its tokens.
func TestImpossibleNumbersAreFoundByTheirLastDigits(t *testing.T) {
	for _, tc := range []struct{ phone, region string }{
		{"07700 900123", "US"}, {"(0)20 7946 0018", "US"}, {"+1 555 12", "GB"}, {"12345678901234567", "FR"},
	} {
		tokens := PhoneTokens(tc.phone, tc.region)
		digits := Digits(tc.phone)
		for n := minPhoneSuffix; n <= len(digits); n++ {
			term := digits[len(digits)-n:]
			forms := TermForms(term)
			if !slices.ContainsFunc(tokens, func(tok string) bool {
				return slices.ContainsFunc(forms, func(f string) bool { return strings.HasPrefix(tok, f) })
			}) {
				t.Errorf("%q (%s) is not found by %q: tokens %v", tc.phone, tc.region, term, tokens)
			}
		}
	}
}

func TestPhoneTokensUnparseableKeepsDigits(t *testing.T) {
	got := PhoneTokens("ext. 12", "US")
	if !slices.Equal(got, []string{"@p12"}) {
		t.Errorf("PhoneTokens(unparseable) = %v, want [@p12]", got)
	}
	if got := PhoneTokens("", "US"); got != nil {
		t.Errorf("PhoneTokens(empty) = %v, want nil", got)
	}
}

func TestPhoneTerm(t *testing.T) {
	tests := []struct{ text, region, want string }{
		{"+44 20 7946 6862", "US", "442079466862"},
		{"0044 20 7946 6862", "US", "442079466862"},
		{"011 44 20 7946 6862", "US", "442079466862"}, // the US's own international prefix
		{"+44 (0)20 7946 6862", "US", "442079466862"}, // the trunk prefix after the country code
		{"+44 (0", "US", "44"},                        // ... while it is typed
		{"0044 (0)20 79", "US", "442079"},
		{"+44 2", "US", "442"}, // too short for the library: the digits after the prefix
		{"020 7946 6862", "GB", "02079466862"},
		{"(555) 010-0199", "US", "5550100199"},
		{"00(0", "US", "000"}, // nothing after the prefixes yet: never an empty term
		{"+(0)", "US", "0"},
	}
	for _, tt := range tests {
		if got := PhoneTerm(tt.text, tt.region); got != tt.want {
			t.Errorf("PhoneTerm(%q, %s) = %q, want %q", tt.text, tt.region, got, tt.want)
		}
	}
}

func TestTransliterations(t *testing.T) {
	for name, want := range map[string]string{"Schröder": "schroeder", "Østergaard": "oestergaard", "Åsa": "aasa", "Иван": "ivan"} {
		if got := Transliterations(name); !slices.Contains(got, want) {
			t.Errorf("Transliterations(%q) = %v, want %q among them", name, got, want)
		}
	}
	if got := Transliterations("Smith"); got != nil {
		t.Errorf("Transliterations(Smith) = %v, want none", got)
	}
	// Names are remembered (transliterated); each caller gets its own copy.
	first := Transliterations("Schröder")
	want := slices.Clone(first)
	first[0] = "changed"
	if again := Transliterations("Schröder"); !slices.Equal(again, want) {
		t.Errorf("Transliterations(Schröder) again = %v, want %v", again, want)
	}
}

// The exact tier may leave out a term's reversed phone form: whenever it
// equals one of a number's tokens, another of the term's forms does too.
func TestExactTermFormsMatchAsAllFormsDo(t *testing.T) {
	for _, tc := range []struct{ phone, region string }{
		{"+1 (555) 010-0199", "US"}, {"020 7946 0018", "GB"}, {"07700 900123", "US"}, {"ext. 12345", "US"}, {"+49 (0)211 0140801", "US"},
	} {
		tokens := PhoneTokens(tc.phone, tc.region)
		digits := Digits(tc.phone)
		var terms []string
		for i := range len(digits) {
			terms = append(terms, digits[i:], digits[:i+1], reverseDigits(digits[i:]))
		}
		equalsOne := func(forms []string) bool {
			return slices.ContainsFunc(forms, func(f string) bool { return slices.Contains(tokens, f) })
		}
		for _, term := range terms {
			if all, exact := equalsOne(TermForms(term)), equalsOne(ExactTermForms(term)); all != exact {
				t.Errorf("%q (%s), term %q: a whole token equals one of all its forms %v, of its exact forms %v", tc.phone, tc.region, term, all, exact)
			}
		}
	}
}
