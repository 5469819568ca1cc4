package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store"
)

// The kinds of input an operator types while a caller spells something out: each kind holds for
// every input of its shape (generated where the shape allows), on every store alike.

// finds reports whether searching text in domainID finds the customer with email.
func finds(t *testing.T, svc *customers.Service, domainID, text, email string) bool {
	t.Helper()
	return slices.Contains(searchAll(t, svc, domainID, text, "", 100), email)
}

// kindsRand is the generator of the generated cases: seeded, so a failure repeats.
func kindsRand() *rand.Rand { return rand.New(rand.NewPCG(19, 2026)) }

// testSearchEmailPrefixes: every prefix (of at least two characters) of an address and of its
// local part finds its customer, whatever punctuation the address holds.
func testSearchEmailPrefixes(t *testing.T, s store.Store) {
	d := NewDomain(t, s)
	rng := kindsRand()
	const localChars = "abcdefghijklmnopqrstuvwxyz0123456789_+-."
	word := func(n int, chars string) string {
		var b strings.Builder
		for range n {
			b.WriteByte(chars[rng.IntN(len(chars))])
		}
		return b.String()
	}
	emails := []string{"t_underhill@mail.example", "a+b-c.d_e@x-y.example", "9lives@cat.test", "jo.@dot.test"}
	for len(emails) < 12 {
		// Letters at both ends of the local part, anything of localChars between.
		local := word(1, "abcdefghij") + word(1+rng.IntN(8), localChars) + word(1, "xyz0")
		emails = append(emails, local+"@"+word(2+rng.IntN(5), "abcdefgh")+"."+word(2+rng.IntN(3), "abcdefgh"))
	}
	var cs []customers.Customer
	for i, e := range emails {
		cs = append(cs, NewCustomer(d, "Pat", fmt.Sprintf("Mail%02d", i), e, ""))
	}
	if err := s.ImportCustomers(context.Background(), cs, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	for _, e := range emails {
		for n := 2; n <= len(e); n++ {
			if prefix := e[:n]; !finds(t, svc, d.ID, prefix, e) {
				t.Errorf("%q does not find %s", prefix, e)
			}
		}
		if upper := strings.ToUpper(e); !finds(t, svc, d.ID, upper, e) {
			t.Errorf("%q does not find %s", upper, e)
		}
	}
}

// testSearchEmailsWithoutTheirTag: an address with a subaddress (RFC 5233, "local+tag@domain") is
// found by the address without its tag, the mailbox people read out, and by every prefix of it
// that reaches its "@", generated.
func testSearchEmailsWithoutTheirTag(t *testing.T, s store.Store) {
	d := NewDomain(t, s)
	rng := kindsRand()
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte("abcdefghijklmnopqrstuvwxyz"[rng.IntN(26)])
		}
		return b.String()
	}
	type address struct{ tagged, mailbox string }
	addresses := []address{{"sarah.jane.smith+iot@gmail.com", "sarah.jane.smith@gmail.com"}, {"Lucja.Nunez+Phone@Example.ORG", "lucja.nunez@example.org"}}
	for len(addresses) < 10 {
		local, domain := word(2+rng.IntN(4))+"."+word(2+rng.IntN(6)), word(3+rng.IntN(5))+".example"
		addresses = append(addresses, address{local + "+" + word(1+rng.IntN(8)) + "@" + domain, local + "@" + domain})
	}
	var cs []customers.Customer
	for i, a := range addresses {
		cs = append(cs, NewCustomer(d, "Tag", fmt.Sprintf("Mail%02d", i), a.tagged, ""))
	}
	if err := s.ImportCustomers(context.Background(), cs, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	for i, a := range addresses {
		stored := cs[i].Email
		for n := strings.Index(a.mailbox, "@") + 1; n <= len(a.mailbox); n++ {
			if q := a.mailbox[:n]; !finds(t, svc, d.ID, q, stored) {
				t.Errorf("%q, the address %s without its tag as it is typed, does not find it", q, stored)
				break
			}
		}
		if q := strings.ToUpper(a.mailbox); !finds(t, svc, d.ID, q, stored) {
			t.Errorf("%q does not find %s", q, stored)
		}
	}
}

// testSearchNamesWrittenTogether: a name in a script written without spaces (Chinese, Japanese,
// Korean) is found by family and given name written together, as they are written, and by every
// prefix of that, as it is typed, generated from their syllables.
func testSearchNamesWrittenTogether(t *testing.T, s store.Store) {
	d := NewDomain(t, s)
	rng := kindsRand()
	scripts := map[string]struct{ family, given []string }{
		"han":    {[]string{"李", "王", "张", "刘", "陈", "欧阳"}, []string{"小龙", "伟", "秀英", "志明", "静"}},
		"kana":   {[]string{"山田", "佐藤", "たなか", "スズキ"}, []string{"太郎", "花子", "ゆき", "ケン"}},
		"hangul": {[]string{"김", "이", "박", "최"}, []string{"민준", "서연", "지호", "하은"}},
	}
	type person struct{ family, given, email string }
	var people []person
	var cs []customers.Customer
	for script, names := range scripts {
		for i := range 5 {
			p := person{names.family[rng.IntN(len(names.family))], names.given[rng.IntN(len(names.given))], fmt.Sprintf("%s%d@together.test", script, i)}
			people = append(people, p)
			cs = append(cs, NewCustomer(d, p.given, p.family, p.email, ""))
		}
	}
	if err := s.ImportCustomers(context.Background(), cs, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	for _, p := range people {
		written := []rune(p.family + p.given)
		for n := len([]rune(p.family)) + 1; n <= len(written); n++ {
			if q := string(written[:n]); !finds(t, svc, d.ID, q, p.email) {
				t.Errorf("%q (typing %q) does not find %s %s", q, string(written), p.family, p.given)
				break
			}
		}
		if q := p.family + " " + p.given; !finds(t, svc, d.ID, q, p.email) {
			t.Errorf("%q does not find %s %s", q, p.family, p.given)
		}
	}
}

// testSearchWhatDetailsShow: a phone number or an email pasted as a customer's details
// show it, or as another program writes the same, finds the customer, alone or after its
// name: a number with an extension (which the number's forms leave out), a vanity number's
// letters (their keypad digits, as they are typed too), an email whose domain is in
// punycode (stored in Unicode), and that domain alone. Words around digits stay words:
// "415 john" is a digit and a name, not a number; a serial number written like a vanity
// number still finds its device. (A tryout pasted each of the first three and found no one,
// then a name and such a number, and typed "1-800-F".)
func testSearchWhatDetailsShow(t *testing.T, s store.Store) {
	d := NewDomain(t, s) // region US
	people := []struct {
		email, phone string
		queries      []string
	}{
		{"ext@example.com", "+1 415 555 0100 ext. 23", []string{"+1 415 555 0100 ext. 23", "415-555-0100 x23", "(415) 555-0100 #23",
			"+1 415 555 0100;ext=23", "+1 415 555 0100 extension 23", "pasted00 +1 415 555 0100 ext. 23", "+1 415 555 0100 ext. 23 pat",
			// an extension as it is typed
			"+1 415 555 0100 e", "+1 415 555 0100 ex", "+1 415 555 0100 ext", "+1 415 555 0100 ext.", "+1 415 555 0100 ext. ", "+1 415 555 0100 x",
			"+1 415 555 0100 #", "+1 415 555 0100 ext. 2"}},
		{"vanity@example.com", "1-800-FLOWERS", []string{"1-800-FLOWERS", "800-FLOWERS", "1-800-flowers", "1.800.FLOWERS", "+1-800-FLOWERS",
			"1-800-F", "1-800-FL", "1-800-FLO", "1-800-FLOWERS.", "pasted01 1-800-FLOWERS"}},
		{"words@example.com", "1-800-GOT-JUNK", []string{"1-800-GOT-JUNK", "800-got-junk", "800-G", "800-GO", "pat 800-got-junk"}},
		{"puny@bücher.example", "", []string{"puny@bücher.example", "puny@xn--bcher-kva.example", "PUNY@XN--BCHER-KVA.EXAMPLE", "puny@BÜCHER.example",
			"xn--bcher-kva.example", "@xn--bcher-kva.example", "pasted03 puny@xn--bcher-kva.example"}},
	}
	cs := []customers.Customer{NewCustomer(d, "John", "Smith", "john@example.com", "+1 415 555 0188")}
	for i, p := range people {
		cs = append(cs, NewCustomer(d, "Pat", fmt.Sprintf("Pasted%02d", i), p.email, p.phone))
	}
	owner := NewCustomer(d, "Sam", "Serial", "serial@example.com", "")
	dev := devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: owner.ID, Name: "Hall", Model: "T-200", SerialNumber: "200-ABC",
		Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto}, CreatedAt: now(), UpdatedAt: now()}
	owner.SearchTokens = customers.SearchTokens(owner, []devices.Device{dev}, d.DefaultRegion)
	if err := s.ImportCustomers(context.Background(), append(cs, owner), []devices.Device{dev}); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	if got := searchAll(t, svc, d.ID, "200-ABC", "", 100); !slices.Contains(got, owner.Email) {
		t.Errorf(`"200-ABC" finds %v, want the owner of the device with that serial number`, got)
	}
	for _, p := range people {
		for _, q := range p.queries {
			if !finds(t, svc, d.ID, q, p.email) {
				t.Errorf("%q does not find %s (stored %q, %q)", q, p.email, p.email, p.phone)
			}
		}
	}
	if got := searchAll(t, svc, d.ID, "415 john", "", 100); !slices.Equal(got, []string{"john@example.com"}) {
		t.Errorf(`"415 john" finds %v, want John alone (a digit and a name)`, got)
	}
	// Punycode being typed, or decoding to a symbol, is no domain: it finds no one (it listed
	// everyone, its decoded word leaving no term).
	for _, q := range []string{"xn--", "xn--bch", "xn--bcher", "xn--ls8h", "xn--ls8h.example", "ann@xn--ls8h.example", "xn--ida"} {
		if got := searchAll(t, svc, d.ID, q, "", 100); len(got) != 0 {
			t.Errorf("%q finds %v, want no one", q, got)
		}
	}
}

// testSearchPhoneForms: a number is found by every way people dial and write it, with and
// without the country code, by every prefix of each of those forms as it is typed, and by
// its last digits, four or more, as a caller reads them out.
func testSearchPhoneForms(t *testing.T, s store.Store) {
	d := NewDomain(t, s) // region US
	people := []struct {
		phone    string
		national string // the national significant number (the digits, for a number that is not possible), whose every tail of 4 digits or more finds it
		forms    []string
	}{
		{"+44 20 7946 6862", "2079466862", []string{
			"+44 20 7946 6862", "0044 20 7946 6862", "011 44 20 7946 6862", "+44 (0)20 7946 6862", "+44 (0) 20 7946 6862",
			"0044 (0)20 7946 6862", "+44.20.7946.6862", "+44-20-7946-6862", "+44/20/7946/6862", "020 7946 6862", "(020) 7946 6862",
			"20 7946 6862", "2079466862", "442079466862", "7946 6862",
		}},
		{"(555) 010-0199", "5550100199", []string{
			"+1 555 010 0199", "001 555 010 0199", "011 1 555 010 0199", "+1 (555) 010-0199", "555.010.0199", "555/010/0199",
			"1-555-010-0199", "5550100199", "010-0199",
		}},
		{"+49 30 901820", "30901820", []string{"+49 30 901820", "0049 30 901820", "+49 (0)30 901820", "030 901820", "30 901820"}},
		// Not a possible US number (a UK mobile written without +44): its digits as written.
		{"07700 900123", "07700900123", []string{"07700 900123", "07700900123", "0770-090-0123"}},
	}
	// The same forms find a number however it was written with its country code when stored,
	// an international prefix the domain's region does not dial ("00" in the US) included.
	for i, written := range []string{"0044 20 7946 %s", "011 44 20 7946 %s", "+44 (0)20 7946 %s", "0044 (0) 20 7946 %s", "00 44 20 7946 %s"} {
		last := fmt.Sprintf("%04d", 6870+i)
		p := people[0]
		forms := make([]string, len(p.forms))
		for j, f := range p.forms {
			forms[j] = strings.ReplaceAll(f, "6862", last)
		}
		people = append(people, struct {
			phone    string
			national string
			forms    []string
		}{fmt.Sprintf(written, last), strings.ReplaceAll(p.national, "6862", last), forms})
	}
	people = append(people, struct {
		phone    string
		national string
		forms    []string
	}{"0049 30 901821", "30901821", []string{"+49 30 901821", "0049 30 901821", "030 901821", "30 901821"}})
	var cs []customers.Customer
	for i, p := range people {
		cs = append(cs, NewCustomer(d, "Phil", fmt.Sprintf("Phone%02d", i), fmt.Sprintf("phone%02d@example.com", i), p.phone))
	}
	if err := s.ImportCustomers(context.Background(), cs, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	for i, p := range people {
		email := cs[i].Email
		for n := 4; n < len(p.national); n++ {
			tail := p.national[len(p.national)-n:]
			if strings.HasPrefix(tail, "00") || strings.HasPrefix(tail, "011") {
				continue // read as an international dialling prefix: the start of a number with its country code
			}
			if !finds(t, svc, d.ID, tail, email) {
				t.Errorf("its last digits %q do not find %s (stored %q)", tail, email, p.phone)
			}
		}
		// The number's digits read backwards are no part of it: they find nothing (the
		// store keeps the national number backwards, for its last digits, as a token of
		// its own that only a term's reversed form reaches).
		backwards := []byte(p.national)
		slices.Reverse(backwards)
		for n := 4; n <= len(backwards); n++ {
			if q := string(backwards[:n]); !strings.Contains(p.national, q) && finds(t, svc, d.ID, q, email) {
				t.Errorf("%q, its digits backwards, finds %s (stored %q)", q, email, p.phone)
			}
		}
		for _, form := range p.forms {
			if !finds(t, svc, d.ID, form, email) {
				t.Errorf("%q does not find %s (stored %q)", form, email, p.phone)
				continue
			}
			// As typed: every prefix that holds at least three digits (less is not read as a number).
			digits := 0
			for n := 1; n <= len(form); n++ {
				if c := form[n-1]; c >= '0' && c <= '9' {
					digits++
				}
				if digits >= 4 && !finds(t, svc, d.ID, form[:n], email) {
					t.Errorf("%q (typing %q) does not find %s (stored %q)", form[:n], form, email, p.phone)
					break
				}
			}
		}
	}
}

// testSearchCaseFolding: full Unicode case folding on both sides: upper, lower and title case of
// a stored name find it, in Latin, Greek, Cyrillic and Turkish names, generated.
func testSearchCaseFolding(t *testing.T, s store.Store) {
	d := NewDomain(t, s)
	alphabets := map[string][]string{
		"latin":    {"straße", "weiß", "ﬁsch", "œuvre", "ǆungla", "ångström", "ĳssel", "øre", "ﬀion"},
		"greek":    {"σίσυφος", "ὀδυσσεύς", "ἀριστοτέλης", "ωκεανός", "σοφοκλής"},
		"cyrillic": {"ёжиков", "щукин", "іваненко", "љубица", "ўладзімір"},
		"turkish":  {"ışık", "iğdır", "ılgın", "şimşek", "çiçek", "iyiyim"},
	}
	rng := kindsRand()
	type person struct{ first, last, email string }
	var people []person
	var cs []customers.Customer
	for script, names := range alphabets {
		for i := range 6 {
			p := person{names[rng.IntN(len(names))], names[rng.IntN(len(names))], fmt.Sprintf("%s%d@fold.test", script, i)}
			people = append(people, p)
			cs = append(cs, NewCustomer(d, p.first, p.last, p.email, ""))
		}
	}
	// Stored in title case (as people write their names), searched in every case.
	title := cases.Title(language.Und)
	for i := range cs {
		cs[i].FirstName, cs[i].LastName = title.String(cs[i].FirstName), title.String(cs[i].LastName)
		cs[i].SearchTokens = customers.SearchTokens(cs[i], nil, d.DefaultRegion)
	}
	if err := s.ImportCustomers(context.Background(), cs, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	turkishUpper, turkishLower := cases.Upper(language.Turkish), cases.Lower(language.Turkish)
	for i, p := range people {
		name := cs[i].FirstName + " " + cs[i].LastName
		for _, form := range []string{name, strings.ToUpper(name), strings.ToLower(name), title.String(strings.ToLower(name)),
			turkishUpper.String(name), turkishLower.String(name), cases.Upper(language.Und).String(name)} {
			if !finds(t, svc, d.ID, form, p.email) {
				t.Errorf("%q does not find %q", form, name)
			}
		}
		// A prefix in upper case too: what is typed so far.
		if r, _ := utf8.DecodeRuneInString(cs[i].LastName); unicode.IsLetter(r) {
			prefix := strings.ToUpper(string([]rune(cs[i].LastName)[:2]))
			if !finds(t, svc, d.ID, prefix, p.email) {
				t.Errorf("%q does not find %q", prefix, name)
			}
		}
	}
}

// testSearchTransliterations: the spellings people use when they cannot type a letter find the
// name, as the plain folded spelling does.
func testSearchTransliterations(t *testing.T, s store.Store) {
	d := NewDomain(t, s)
	people := []struct {
		first, last string
		queries     []string
	}{
		{"Gerhard", "Schröder", []string{"schroeder", "schroder", "Schröder", "SCHROEDER", "schroe"}},
		{"Jürgen", "Müller", []string{"juergen mueller", "jurgen muller", "muel"}},
		{"Søren", "Østergaard", []string{"soeren oestergaard", "soren ostergaard", "oester"}},
		{"Åsa", "Ærø", []string{"aasa aeroe", "asa aero"}},
		{"Hans", "Weiß", []string{"weiss", "weis"}},
		{"Иван", "Петров", []string{"ivan petrov", "иван петров", "petr"}},
	}
	var cs []customers.Customer
	for i, p := range people {
		cs = append(cs, NewCustomer(d, p.first, p.last, fmt.Sprintf("translit%d@example.com", i), ""))
	}
	if err := s.ImportCustomers(context.Background(), cs, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	for i, p := range people {
		for _, q := range p.queries {
			if got := searchAll(t, svc, d.ID, q, "", 100); !slices.Equal(got, []string{cs[i].Email}) {
				t.Errorf("%q finds %v, want only %s %s", q, got, p.first, p.last)
			}
		}
	}
}

// testSearchDevicesAndIDs: the box finds a customer by a device's serial number (prefix, any
// case), by its MAC address (prefix, with colons, dashes or no separators, any case), by the
// customer's id and by its external id.
func testSearchDevicesAndIDs(t *testing.T, s store.Store) {
	d := NewDomain(t, s)
	ctx := context.Background()
	c := NewCustomer(d, "Dev", "Owner", "dev.owner@example.com", "")
	c.ExternalID = "CRM-00042"
	other := NewCustomer(d, "Other", "Person", "other@example.com", "")
	dev := devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: c.ID, Name: "Hall", Model: "T-100",
		SerialNumber: "T100-2025-HALL", MACAddress: "02:10:C0:00:4A:11", Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto},
		CreatedAt: now(), UpdatedAt: now()}
	c.SearchTokens = customers.SearchTokens(c, []devices.Device{dev}, d.DefaultRegion)
	if err := s.ImportCustomers(ctx, []customers.Customer{c, other}, []devices.Device{dev}); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	for _, q := range []string{
		"T100", "t100-2025", "T100-2025-HALL", "t100-2025-hall", "T1002025H", // a serial number typed without its dashes too
		"02:10:C0", "02:10:c0:00:4a:11", "02-10-C0-00", "0210c0004a", "0210C0004A11", "02:10:C0:00:4A:11",
		strings.ToLower(c.ID), c.ID,
		"CRM-00042", "crm-000", "crm00042",
	} {
		if got := searchAll(t, svc, d.ID, q, "", 100); !slices.Equal(got, []string{c.Email}) {
			t.Errorf("%q finds %v, want only %s", q, got, c.Email)
		}
	}
	// A device added later (an import adds devices to a customer it finds) is found too.
	later := devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: other.ID, Name: "Loft", Model: "T-200",
		SerialNumber: "T200-2026-LOFT", MACAddress: "02:10:C0:00:4B:22", Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto},
		CreatedAt: now(), UpdatedAt: now()}
	if err := s.InsertDevices(ctx, []devices.Device{later}); err != nil {
		t.Fatal(err)
	}
	o, err := s.CustomerByID(ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	tokens := customers.SearchTokens(o, []devices.Device{later}, d.DefaultRegion)
	if _, err := s.UpdateCustomer(ctx, customers.Update{ID: o.ID, Version: o.Version, At: now(), SearchTokens: tokens,
		Audit: profileUpdate(o, o, d.DefaultRegion).Audit}); err != nil {
		t.Fatal(err)
	}
	if got := searchAll(t, svc, d.ID, "t200-2026", "", 100); !slices.Equal(got, []string{other.Email}) {
		t.Errorf("a device added later: %v, want %s", got, other.Email)
	}
}

// testReindex: customers whose tokens were derived by older rules are found by what today's rules
// index once Reindex has run, which records the rules and then has nothing left to do.
func testReindex(t *testing.T, s store.Store) {
	d := NewDomain(t, s)
	ctx := context.Background()
	c := NewCustomer(d, "Gerhard", "Schröder", "g.schroeder@example.com", "")
	dev := devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: c.ID, Name: "Hall", Model: "T-100",
		SerialNumber: "T100-2019-OLD", Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto}, CreatedAt: now(), UpdatedAt: now()}
	c.SearchTokens = []string{"gerhard", "schroder"} // as older rules left them: no devices, no transliteration
	if err := s.ImportCustomers(ctx, []customers.Customer{c}, []devices.Device{dev}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSearchTokenRules(ctx, 1); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	if finds(t, svc, d.ID, "t100-2019", c.Email) {
		t.Fatal("found by a serial number before the reindex: the test stores no such token")
	}
	changed, err := customers.Reindex(ctx, s, nil)
	if err != nil || changed < 1 {
		t.Fatalf("Reindex = %d, %v; want at least 1 changed", changed, err)
	}
	for _, q := range []string{"t100-2019", "schroeder", "schroder", "gerhard"} {
		if !finds(t, svc, d.ID, q, c.Email) {
			t.Errorf("after the reindex %q does not find %s", q, c.Email)
		}
	}
	if rules, err := s.SearchTokenRules(ctx); err != nil || rules != customers.TokenRules {
		t.Errorf("rules = %d, %v; want %d", rules, err, customers.TokenRules)
	}
	if changed, err := customers.Reindex(ctx, s, nil); err != nil || changed != 0 {
		t.Errorf("second Reindex = %d, %v; want nothing to do", changed, err)
	}
	got, err := s.CustomerByID(ctx, c.ID)
	if err != nil || got.Version != c.Version {
		t.Errorf("the reindex changed the customer's version: %d, %v", got.Version, err)
	}
}

// testSuggestions: a search that finds nothing gets the queries near it that find something, from
// the domain's vocabulary of names, which follows creations, renames and erasures (an erased
// customer's name is not suggested, nor kept).
func testSuggestions(t *testing.T, s store.Store) {
	d, other := NewDomain(t, s), NewDomain(t, s)
	ctx := context.Background()
	cs := []customers.Customer{
		NewCustomer(d, "John", "Schmidt", "john.schmidt@example.com", ""),
		NewCustomer(d, "Anna", "Schmidt", "anna.schmidt@example.com", ""),
		NewCustomer(d, "Joan", "Smith", "joan.smith@example.com", ""),
		NewCustomer(d, "Uma", "Xylophone", "uma@example.com", ""),
		NewCustomer(d, "Erasmus", "Quixotic", "erasmus@example.com", ""),
		NewCustomer(d, "Li", "O", "li.o@example.com", ""),
	}
	if err := s.ImportCustomers(ctx, cs, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportCustomers(ctx, []customers.Customer{NewCustomer(other, "Zed", "Elsewhere", "zed@example.com", "")}, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	suggest := func(text string) []string {
		t.Helper()
		got, err := svc.Suggest(ctx, d.ID, text, "")
		if err != nil {
			t.Fatalf("Suggest(%q): %v", text, err)
		}
		return got
	}
	for _, tt := range []struct {
		text string
		want []string
	}{
		{"Shmidt", []string{"schmidt"}},            // one letter missing
		{"jonh schmidt", []string{"john schmidt"}}, // two letters swapped: two edits
		{"smiht", []string{"smith"}},
		{"jhon", []string{"joan", "john"}}, // two edits each (Levenshtein: a swap is two), one customer each: in order
		{"zzzzzz", nil},                    // nothing near
		{"elsewhre", nil},                  // another domain's name
		{"schm", nil},                      // a prefix of a name: it finds, nothing to suggest
		{"+1 555 010", nil},                // phone numbers get none
		{"nob", nil},                       // "o" is two edits away, but too short to stand for a word
	} {
		if got := suggest(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Suggest(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
	for _, q := range suggest("jonh schmidt") {
		if len(searchAll(t, svc, d.ID, q, "", 100)) == 0 {
			t.Errorf("suggestion %q finds nothing", q)
		}
	}

	// A rename moves the name in the vocabulary.
	uma := cs[3]
	renamed := uma
	renamed.LastName = "Zebra"
	u := profileUpdate(uma, renamed, d.DefaultRegion)
	if _, err := s.UpdateCustomer(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got := suggest("xylophon"); got != nil {
		t.Errorf("after the rename Suggest(xylophon) = %q, want none", got)
	}
	if got := suggest("zebre"); !slices.Equal(got, []string{"zebra"}) {
		t.Errorf("after the rename Suggest(zebre) = %q, want [zebra]", got)
	}

	// An erased customer's name leaves the vocabulary.
	if err := s.DeleteCustomer(ctx, erasure(cs[4], cs[4].Version)); err != nil {
		t.Fatal(err)
	}
	vocabulary, err := s.Vocabulary(ctx, d.ID, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vocabulary {
		if v.Token == "quixotic" || v.Token == "erasmus" {
			t.Errorf("the erased customer's %q is still in the vocabulary (%d customers)", v.Token, v.Customers)
		}
		if v.Token == "schmidt" && v.Customers != 2 {
			t.Errorf("schmidt is held by %d customers, want 2", v.Customers)
		}
	}
}

// testDomainIDFindsNoOne: the domain's own id is no customer's data, so it
// finds no one (the embedded store's search rows once began with it as a
// marker, and FTS5's tokenizer split the "$" off: the id, or any prefix of
// it, found every customer of the domain). Only the whole id is tried: the
// customers' ids, made in the same millisecond, share its first characters.
func testDomainIDFindsNoOne(t *testing.T, s store.Store) {
	d := NewDomain(t, s)
	ctx := context.Background()
	if err := s.ImportCustomers(ctx, []customers.Customer{NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "+1 555 010 0199"),
		NewCustomer(d, "Bob", "Builder", "bob@example.com", "")}, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	if got := searchAll(t, svc, d.ID, d.ID, "", 100); len(got) != 0 {
		t.Errorf("the domain's id %q found %v", d.ID, got)
	}
	if got := searchAll(t, svc, d.ID, "ada", "", 100); !slices.Equal(got, []string{"ada@example.com"}) {
		t.Errorf("ada found %v", got)
	}
}

// testCustomerIDFindsOnlyItsCustomer: a customer's own id, pasted whole (in
// any case), finds that customer and no other; a part of it finds no one
// (every id begins with the digits of its creation time: "01" found every
// customer), nor does it in another domain or of another status. Text of an
// id's form that is no customer's id is searched as any other (an external
// id, a serial number).
func testCustomerIDFindsOnlyItsCustomer(t *testing.T, s store.Store) {
	d, other := NewDomain(t, s), NewDomain(t, s)
	ctx := context.Background()
	ada, bob := NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "+1 415 555 2671"), NewCustomer(d, "Bob", "Builder", "bob@example.com", "")
	cal := NewCustomer(d, "Cal", "Crm", "cal@example.com", "")
	cal.ExternalID = "f00dcafef00dcafef00dcafef00dcafe" // of an id's form, no customer's id: found as an external id
	cal.SearchTokens = customers.SearchTokens(cal, nil, d.DefaultRegion)
	if err := s.ImportCustomers(ctx, []customers.Customer{ada, bob, cal}, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	for text, want := range map[string][]string{
		ada.ID: {"ada@example.com"}, " " + strings.ToUpper(ada.ID) + " ": {"ada@example.com"}, bob.ID: {"bob@example.com"},
		cal.ExternalID: {"cal@example.com"},
		ada.ID[:2]:     nil, ada.ID[:4]: nil, ada.ID[:8]: nil, ada.ID[:31]: nil,
	} {
		if got := searchAll(t, svc, d.ID, text, "", 10); !slices.Equal(got, want) {
			t.Errorf("search %q found %v, want %v", text, got, want)
		}
		if n, err := svc.Count(ctx, d.ID, text, ""); err != nil || n != int64(len(want)) {
			t.Errorf("count %q = %d (%v), want %d", text, n, err, len(want))
		}
	}
	if got := searchAll(t, svc, other.ID, ada.ID, "", 10); len(got) != 0 {
		t.Errorf("another domain's search for the id found %v", got)
	}
	if got := searchAll(t, svc, d.ID, ada.ID, customers.StatusDisabled, 10); len(got) != 0 {
		t.Errorf("a search for the id among disabled customers found %v", got)
	}
	page, err := svc.Search(ctx, d.ID, customers.SearchRequest{Text: ada.ID, First: 10, Matches: true})
	if err != nil || len(page.Hits) != 1 || len(page.Hits[0].Matches) != 1 || page.Hits[0].Matches[0].Field != customers.MatchID || page.Hits[0].Customer.PasswordHash != "" {
		t.Errorf("the id's hit: %+v %v, want Ada, matched by her id, without her hash", page.Hits, err)
	}
}

// testPhoneRegionKept: a phone number is read in the domain's default region
// when it is written, and stays so read after the region changes: through a
// rebuild of the search index (a reindex, which the embedded store also does
// in part whenever it relabels customers), a change of the customer's name,
// and its highlights. A number written after the change is read in the new
// region.
func testPhoneRegionKept(t *testing.T, s store.Store) {
	d := NewDomain(t, s) // region US
	ctx := context.Background()
	us := NewCustomer(d, "Una", "States", "una@example.com", "(415) 555-0199")
	if err := s.ImportCustomers(ctx, []customers.Customer{us}, nil); err != nil {
		t.Fatal(err)
	}
	d.DefaultRegion = "GB"
	if err := s.UpdateDomain(ctx, d, audit.Record{ID: ids.New(), DomainID: d.ID, At: now(), ActorType: audit.ActorOperator, ActorID: "op",
		Action: audit.ActionDomainUpdated, TargetType: audit.TargetDomain, TargetID: d.ID, Reason: "defaultRegion", Outcome: audit.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSearchTokenRules(ctx, 1); err != nil { // the next Reindex derives every row again
		t.Fatal(err)
	}
	if _, err := customers.Reindex(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	usForms := []string{"+1 415 555 0199", "001 415 555 0199", "4155550199", "555-0199"}
	for _, q := range usForms {
		if !finds(t, svc, d.ID, q, us.Email) {
			t.Errorf("after the region changed to GB and a reindex, %q does not find the number written under US", q)
		}
	}
	page, err := svc.Search(ctx, d.ID, customers.SearchRequest{Text: "+1 415 555 0199", First: 10, Matches: true})
	if err != nil || len(page.Hits) != 1 || !slices.ContainsFunc(page.Hits[0].Matches, func(h customers.Highlight) bool { return h.Field == customers.MatchPhone }) {
		t.Errorf("the E.164 form highlights no phone number: %+v, %v", page.Hits, err)
	}

	operator := audit.Actor{Type: audit.ActorOperator, ID: "op", DomainID: d.ID}
	renamed := "Unity"
	us, _, err = svc.UpdateProfile(ctx, operator, d, us.ID, us.Version, customers.ProfileChange{FirstName: &renamed})
	if err != nil {
		t.Fatal(err)
	}
	if !finds(t, svc, d.ID, "+1 415 555 0199", us.Email) {
		t.Error("after a change of name alone, the number is no longer read as written under US")
	}
	gb := "020 7946 0018"
	if _, _, err = svc.UpdateProfile(ctx, operator, d, us.ID, us.Version, customers.ProfileChange{Phone: &gb}); err != nil {
		t.Fatal(err)
	}
	later := NewCustomer(d, "Gary", "Britain", "gary@example.com", "020 7946 0993")
	if err := s.ImportCustomers(ctx, []customers.Customer{later}, nil); err != nil {
		t.Fatal(err)
	}
	for q, email := range map[string]string{"+44 20 7946 0018": us.Email, "+44 20 7946 0993": later.Email} {
		if !finds(t, svc, d.ID, q, email) {
			t.Errorf("%q does not find %s, whose number was written after the change to GB", q, email)
		}
	}
}
