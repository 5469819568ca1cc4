package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store"
)

// searchPeople are domain A's customers for the search contract (plus 30
// "Filler" customers for paging). Domain B holds a namesake of John Smith and
// fillers of its own, which no search of domain A may return.
var searchPeople = []struct{ first, last, email, phone string }{
	{"John", "Smith", "john.smith@example.com", "+1 (555) 010-0199"},
	{"Johnny", "Smithers", "jsmithers@mail.example.org", "555-010-0200"},
	{"Jon", "Smyth", "jon@inbox.test", ""},
	{"Zoë", "Müller", "zoe.mueller@example.com", "+49 30 901820"},
	{"Jürgen", "Muller", "jurgen@example.net", "030 901820"},
	{"Siobhán", "O'Brien", "siobhan@example.com", "+353 1 234 5678"},
	{"Mary-Kate", "D'Angelo", "mk@example.com", "5550100299"},
	{"Ana", "García", "ana.garcia@correo.test", "+34 612 345 678"},
	{"Jean-Luc", "Picard", "captain@enterprise.test", "+33 1 23 45 67 89"},
	{"Ｔａｒｏ", "Ｙａｍａｄａ", "taro@example.jp", ""},
	{"Smith", "Johnson", "smith@example.com", ""},
	{"Dora", "Disabled", "dora@example.com", ""},
	{"Łukasz", "Kowalski", "lukasz@example.pl", ""},
}

const fillerCount = 30

func seedSearch(t *testing.T, s store.Store) (a, b string) {
	t.Helper()
	ctx := context.Background()
	da, db := NewDomain(t, s), NewDomain(t, s)
	var cs []customers.Customer
	for _, p := range searchPeople {
		c := NewCustomer(da, p.first, p.last, p.email, p.phone)
		if p.last == "Disabled" {
			c.Status = customers.StatusDisabled
		}
		cs = append(cs, c)
	}
	for i := range fillerCount {
		cs = append(cs, NewCustomer(da, fmt.Sprintf("Pat%02d", i), "Filler", fmt.Sprintf("pat%02d@filler.test", i), ""))
	}
	others := []customers.Customer{NewCustomer(db, "John", "Smith", "john.smith@example.com", "+1 (555) 010-0199")}
	for i := range 5 {
		others = append(others, NewCustomer(db, fmt.Sprintf("Pat%02d", i), "Filler", fmt.Sprintf("pat%02d@filler.test", i), ""))
	}
	if err := s.ImportCustomers(ctx, cs, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportCustomers(ctx, others, nil); err != nil {
		t.Fatal(err)
	}
	return da.ID, db.ID
}

// search returns the emails of every hit, paging by first.
func searchAll(t *testing.T, svc *customers.Service, domainID, text string, status customers.Status, first int) []string {
	t.Helper()
	var emails []string
	var after *customers.Cursor
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatalf("search %q: paging does not end", text)
		}
		p, err := svc.Search(context.Background(), domainID, customers.SearchRequest{Text: text, Status: status, First: first, After: after})
		if err != nil {
			t.Fatalf("search %q: %v", text, err)
		}
		if len(p.Hits) > first {
			t.Fatalf("search %q: %d hits on a page of %d", text, len(p.Hits), first)
		}
		for _, h := range p.Hits {
			if h.Customer.DomainID != domainID {
				t.Fatalf("search %q returned %s of another domain", text, h.Customer.Email)
			}
			if seen[h.Customer.ID] {
				t.Fatalf("search %q returned %s twice", text, h.Customer.Email)
			}
			if after != nil && !after.Less(h.Cursor) {
				t.Fatalf("search %q: %s out of order", text, h.Customer.Email)
			}
			seen[h.Customer.ID] = true
			emails = append(emails, h.Customer.Email)
			after = &h.Cursor
		}
		if !p.HasNext {
			return emails
		}
		if len(p.Hits) == 0 {
			t.Fatalf("search %q: an empty page says there is more", text)
		}
	}
}

// testSearchHitsLeaveOutSecrets: a search's hits, in both tiers and in a
// listing without terms, carry no password hash and no search tokens (no page
// shows them; a search reads 20 customers a keystroke).
func testSearchHitsLeaveOutSecrets(t *testing.T, s store.Store) {
	d := NewDomain(t, s)
	c := NewCustomer(d, "Hettie", "Hashholder", "hettie@example.com", "+1 555 0142")
	if c.PasswordHash == "" || len(c.SearchTokens) == 0 {
		t.Fatal("the customer has no hash or tokens to leave out")
	}
	if err := s.ImportCustomers(context.Background(), []customers.Customer{c}, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []customers.SearchQuery{
		{DomainID: d.ID, Terms: []string{"hettie"}, Exact: true, Limit: 5},
		{DomainID: d.ID, Terms: []string{"hett"}, Limit: 5},
		{DomainID: d.ID, Limit: 5},
		{DomainID: d.ID, Status: customers.StatusActive, Limit: 5},
	} {
		hits, err := s.SearchCustomers(context.Background(), q)
		if err != nil || len(hits) != 1 || hits[0].Customer.ID != c.ID {
			t.Fatalf("search %+v: %+v, %v; want the customer", q, hits, err)
		}
		if got := hits[0].Customer; got.PasswordHash != "" || len(got.SearchTokens) > 0 || got.Email != c.Email {
			t.Errorf("search %+v: hash %q, tokens %q, email %q; want no hash, no tokens, the email", q, got.PasswordHash, got.SearchTokens, got.Email)
		}
	}
}

func testSearch(t *testing.T, s store.Store) {
	a, b := seedSearch(t, s)
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	ctx := context.Background()

	const (
		john    = "john.smith@example.com"
		johnny  = "jsmithers@mail.example.org"
		jon     = "jon@inbox.test"
		zoe     = "zoe.mueller@example.com"
		jurgen  = "jurgen@example.net"
		siobhan = "siobhan@example.com"
		mk      = "mk@example.com"
		ana     = "ana.garcia@correo.test"
		picard  = "captain@enterprise.test"
		taro    = "taro@example.jp"
		johnson = "smith@example.com"
		dora    = "dora@example.com"
		lukasz  = "lukasz@example.pl"
	)
	metachars := `.* ( [ \ " ^ $ + ? | { NEAR AND OR`
	cases := []struct {
		name   string
		text   string
		status customers.Status
		want   []string // in order
	}{
		{"first name, exact before prefix", "john", "", []string{john, johnson, johnny}},
		{"upper case", "JOHN", "", []string{john, johnson, johnny}},
		{"full-width", "ｊｏｈｎ", "", []string{john, johnson, johnny}},
		{"invalid UTF-8 dropped", "jo\xffhn", "", []string{john, johnson, johnny}},
		{"two prefixes", "jo smi", "", []string{johnson, john, johnny}},
		{"terms in any order", "smi jo", "", []string{johnson, john, johnny}},
		{"two exact terms first", "john smith", "", []string{john, johnson, johnny}},
		{"last name, exact tier first", "smith", "", []string{johnson, john, johnny}},
		{"prefix of one letter", "z", "", []string{zoe}},
		{"accent folded", "muller", "", []string{jurgen, zoe}},
		{"accent in query", "Müller", "", []string{jurgen, zoe}},
		{"accent in upper-case query", "MÜLLER", "", []string{jurgen, zoe}},
		{"accent in first name", "zoe", "", []string{zoe}},
		{"apostrophe joined", "obrien", "", []string{siobhan}},
		{"apostrophe in query", "o'brien", "", []string{siobhan}},
		{"typographic apostrophe", "O’Brien", "", []string{siobhan}},
		{"word after apostrophe", "brien", "", []string{siobhan}},
		{"accented first name", "siobhan", "", []string{siobhan}},
		{"apostrophe, other name", "d'angelo", "", []string{mk}},
		{"dash joined", "mary-kate", "", []string{mk}},
		{"word after dash", "kate", "", []string{mk}},
		{"dashed first name", "Jean-Luc", "", []string{picard}},
		{"acute accent", "GARCÍA", "", []string{ana}},
		{"stroke letter", "Łukasz", "", []string{lukasz}},
		{"stroke letter folded", "lukasz", "", []string{lukasz}},
		{"last name prefix", "kowal", "", []string{lukasz}},
		{"full-width stored name", "taro", "", []string{taro}},
		{"partial email", "smith@exa", "", []string{johnson}},
		{"email domain", "example.com", "", []string{mk, dora, johnson, zoe, siobhan, john}},
		{"email local part", "john.smith", "", []string{john}},
		{"whole email", "John.Smith@Example.com", "", []string{john}},
		{"email domain with @", "@enterprise", "", []string{picard}},
		{"international phone", "+1 (555) 010-0199", "", []string{john}},
		{"national digits", "5550100199", "", []string{john}},
		{"local number", "0100199", "", []string{john}},
		{"last four digits", "0199", "", []string{john}},
		{"phone prefix with dash", "555-010", "", []string{mk, john, johnny}},
		{"foreign number in E.164", "+49 30 901820", "", []string{zoe}},
		{"national form and unparseable stored digits", "030 901820", "", []string{jurgen, zoe}},
		{"international prefix", "+34 612", "", []string{ana}},
		{"no match", "zzzz", "", nil},
		{"metacharacters are text", metachars, "", nil},
		{"FTS operator alone", "NEAR", "", nil},
		{"emoji alone", "😀", "", nil},
		{"symbol outside ASCII with punctuation", "! ★", "", nil},
		{"FTS operators between words", "john OR smith", "", nil},
		{"regex anchors", "^john$", "", []string{john, johnson, johnny}},
		{"control character splits", "jo\x00hn", "", nil},
		{"status filter", "", customers.StatusDisabled, []string{dora}},
		{"status filter excludes", "dora", customers.StatusActive, nil},
		{"status filter with text", "example.com", customers.StatusDisabled, []string{dora}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got := searchAll(t, svc, a, tt.text, tt.status, 100)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("search %q = %v\nwant %v", tt.text, got, tt.want)
			}
			n, err := svc.Count(ctx, a, tt.text, tt.status)
			if err != nil || n != int64(len(tt.want)) {
				t.Fatalf("count %q = %d, %v; want %d", tt.text, n, err, len(tt.want))
			}
		})
	}

	t.Run("blank lists everyone in name order", func(t *testing.T) {
		for _, text := range []string{"", "   ", `"`} {
			all := searchAll(t, svc, a, text, "", 100)
			if len(all) != len(searchPeople)+fillerCount {
				t.Fatalf("%q listed %d, want %d", text, len(all), len(searchPeople)+fillerCount)
			}
		}
	})
	t.Run("counts by status add up", func(t *testing.T) {
		count := func(status customers.Status) int64 {
			n, err := svc.Count(ctx, a, "", status)
			if err != nil {
				t.Fatal(err)
			}
			if listed := int64(len(searchAll(t, svc, a, "", status, 100))); listed != n {
				t.Fatalf("%q: counted %d, listed %d", status, n, listed)
			}
			return n
		}
		all, active, disabled := count(""), count(customers.StatusActive), count(customers.StatusDisabled)
		if disabled != 1 || active+disabled != all || all != int64(len(searchPeople)+fillerCount) {
			t.Fatalf("counted %d in all, %d ACTIVE, %d DISABLED", all, active, disabled)
		}
	})
	t.Run("paging through every page", func(t *testing.T) {
		for _, text := range []string{"", "filler", "fil", "smith", "example.com"} {
			whole := searchAll(t, svc, a, text, "", 100)
			for _, first := range []int{1, 3, 7} {
				if paged := searchAll(t, svc, a, text, "", first); !slices.Equal(paged, whole) {
					t.Fatalf("%q by pages of %d = %v\nwant %v", text, first, paged, whole)
				}
			}
		}
	})
	t.Run("other domain sees its own only", func(t *testing.T) {
		got := searchAll(t, svc, b, "john", "", 100)
		if len(got) != 1 {
			t.Fatalf("domain B search = %v", got)
		}
		if all := searchAll(t, svc, b, "", "", 2); len(all) != 6 {
			t.Fatalf("domain B lists %d customers, want 6", len(all))
		}
	})
	t.Run("limits", func(t *testing.T) {
		long := strings.Repeat("a", 10000)
		tooMany := strings.Repeat("a ", customers.MaxQueryTerms+1)
		for name, req := range map[string]customers.SearchRequest{
			"10,000 characters": {Text: long, First: 10},
			"too many terms":    {Text: tooMany, First: 10},
			"first 0":           {Text: "john", First: 0},
			"first 101":         {Text: "john", First: customers.MaxPageSize + 1},
			"unknown status":    {Text: "john", Status: "GONE", First: 10},
		} {
			_, err := svc.Search(ctx, a, req)
			var ve *apperr.ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("%s: err = %v, want a validation error", name, err)
			}
		}
	})
}
