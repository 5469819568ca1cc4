package main

import (
	"context"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/storetest"
)

const customersQuery = `query($q: String, $status: AccountStatus, $first: Int, $after: String) {
  customers(query: $q, status: $status, first: $first, after: $after) {
    edges { cursor node { id firstName lastName email phone status } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`

func edgesOf(t *testing.T, resp gqlResponse) []any {
	t.Helper()
	if len(resp.Errors) > 0 {
		t.Fatalf("errors: %+v", resp.Errors)
	}
	edges, _ := dig(resp.Data, "customers", "edges").([]any)
	return edges
}

func TestSearchAsYouTypeOverHTTP(t *testing.T) {
	s := startTest(t, nil)
	d, _ := s.store.DomainBySlug(context.Background(), demo.Slug)
	ada := storetest.NewCustomer(d, "Ada", "Quistgaard-Lovelace", "ada.q@analytical.example", "+1 (415) 555-0142")
	if err := s.store.ImportCustomers(context.Background(), []customers.Customer{ada}, nil); err != nil {
		t.Fatal(err)
	}
	token := s.login(t, demo.SupportEmail) // SUPPORT may search
	for _, typed := range []string{"q", "qu", "quis", "quistgaard", "ada quist", "ADA.Q@", "analytical.example", "415", "(415) 555-01", "0142"} {
		edges := edgesOf(t, s.post(t, token, customersQuery, map[string]any{"q": typed, "first": 100}))
		found := false
		for _, e := range edges {
			found = found || dig(e, "node", "email") == ada.Email
		}
		if !found {
			t.Errorf("typing %q does not find %s (%d results)", typed, ada.Email, len(edges))
		}
	}

	// Paging through a broad query visits every match once; totalCount agrees.
	var after any
	seen := map[string]bool{}
	total := -1.0
	for {
		resp := s.post(t, token, customersQuery, map[string]any{"q": "j", "first": 50, "after": after})
		total = dig(resp.Data, "customers", "totalCount").(float64)
		for _, e := range edgesOf(t, resp) {
			id := dig(e, "node", "id").(string)
			if seen[id] {
				t.Fatalf("customer %s on two pages", id)
			}
			seen[id] = true
		}
		if dig(resp.Data, "customers", "pageInfo", "hasNextPage") != true {
			break
		}
		after = dig(resp.Data, "customers", "pageInfo", "endCursor")
	}
	if total < 50 || len(seen) != int(total) {
		t.Fatalf("paged through %d customers, totalCount %v", len(seen), total)
	}
}

func TestSearchRefusesBadInput(t *testing.T) {
	s := startTest(t, nil)
	token := s.login(t, demo.AdminEmail)
	tests := map[string]map[string]any{
		"query over 200 characters": {"q": strings.Repeat("x", 10000)},
		"first 0":                   {"first": 0},
		"first 101":                 {"first": 101},
		"forged cursor":             {"after": "eyJub3QiOiJhIGN1cnNvciJ9"},
		"garbage cursor":            {"after": "%%%"},
	}
	for name, vars := range tests {
		t.Run(name, func(t *testing.T) {
			if resp := s.post(t, token, customersQuery, vars); resp.code() != codeBadUserInput {
				t.Fatalf("got %+v, want BAD_USER_INPUT", resp)
			}
		})
	}
	t.Run("hostile text is just text", func(t *testing.T) {
		for _, q := range []string{`.*`, `"NEAR(a b)"`, `\`, "a\x00b", `{"$gt": ""}`, "^$"} {
			if resp := s.post(t, token, customersQuery, map[string]any{"q": q}); len(resp.Errors) > 0 {
				t.Errorf("%q: %+v", q, resp.Errors)
			}
		}
	})
}

func TestSearchNeedsAnOperator(t *testing.T) {
	s := startTest(t, nil)
	if resp := s.post(t, "", customersQuery, nil); resp.code() != codeUnauthenticated {
		t.Fatalf("anonymous search: %+v", resp)
	}
}

func TestCustomerLookupsStayInTheDomain(t *testing.T) {
	s := startTest(t, nil)
	ctx := context.Background()
	other := storetest.NewDomain(t, s.store)
	twin := storetest.NewCustomer(other, "Ada", "Zwilling", "ada@twin.example", "")
	if err := s.store.ImportCustomers(ctx, []customers.Customer{twin}, nil); err != nil {
		t.Fatal(err)
	}
	token := s.login(t, demo.AdminEmail)
	gid := globalIDForTest("Customer", twin.ID)
	if edges := edgesOf(t, s.post(t, token, customersQuery, map[string]any{"q": "zwilling"})); len(edges) != 0 {
		t.Errorf("customers found another domain's customer: %v", edges)
	}
	if resp := s.post(t, token, `query($id: ID!) { customer(id: $id) { id } }`, map[string]any{"id": gid}); resp.Data["customer"] != nil || len(resp.Errors) > 0 {
		t.Errorf("customer(id) answered another domain's customer: %+v", resp)
	}
	if resp := s.post(t, token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": gid}); resp.Data["node"] != nil || len(resp.Errors) > 0 {
		t.Errorf("node(id) answered another domain's customer: %+v", resp)
	}
	// The same lookups work inside the domain.
	edges := edgesOf(t, s.post(t, token, customersQuery, map[string]any{"q": "", "first": 1}))
	own := dig(edges[0], "node", "id").(string)
	resp := s.post(t, token, `query($id: ID!) { customer(id: $id) { id devices { name settings { mode } } } }`, map[string]any{"id": own})
	if dig(resp.Data, "customer", "id") != own {
		t.Errorf("customer(id) of own domain: %+v", resp)
	}
}

// Each result says what the typed text matched and where, over the API, on both stores: a
// device's serial number, a transliteration, an email's prefix, a phone number dialled from
// abroad.
func TestSearchSaysWhatMatched(t *testing.T) {
	const q = `query($q: String) { customers(query: $q, first: 5) {
	  edges { node { email } matchedFields highlights { field value ranges { start length } } } } }`
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t)) // Casey: +1 555 010 7777, device T100-2025-HALL
			token := f.login(t, demo.SupportEmail)
			for _, tt := range []struct {
				query, field, value, part string
			}{
				{"t100-2025-h", "DEVICE", "T100-2025-HALL", "T100-2025-H"},
				{"02:10:c0:00:4a:1", "DEVICE", "02:10:C0:00:4A:11", "02:10:C0:00:4A:1"},
				{"casey.cus", "EMAIL", customerEmail, "casey.cus"},
				{"011 1 555 010 77", "PHONE", "+1 555 010 7777", "1 555 010 77"},
				{"casey cust", "NAME", caseyName, "Casey Cust"},
				{f.customerID(), "ID", f.customer.ID, f.customer.ID}, // Customer.id as the API and the console's links carry it
			} {
				edges := edgesOf(t, f.post(t, token, q, map[string]any{"q": tt.query}))
				if len(edges) != 1 || dig(edges[0], "node", "email") != customerEmail {
					t.Errorf("%q: %d results, want Casey only: %v", tt.query, len(edges), edges)
					continue
				}
				if fields := dig(edges[0], "matchedFields").([]any); len(fields) == 0 || fields[0] != tt.field {
					t.Errorf("%q: matchedFields = %v, want %s first", tt.query, fields, tt.field)
				}
				hs := dig(edges[0], "highlights").([]any)
				if len(hs) == 0 || dig(hs[0], "value") != tt.value {
					t.Fatalf("%q: highlights = %v, want %q first", tt.query, hs, tt.value)
				}
				var parts []string
				for _, r := range dig(hs[0], "ranges").([]any) {
					start, length := int(dig(r, "start").(float64)), int(dig(r, "length").(float64))
					parts = append(parts, tt.value[start:start+length])
				}
				if got := strings.Join(parts, " "); got != tt.part {
					t.Errorf("%q: highlighted %q of %q, want %q", tt.query, got, tt.value, tt.part)
				}
			}
			// Nothing found: queries near it that find something.
			const sq = `query($q: String) { customers(query: $q, first: 5) { edges { cursor } suggestions } }`
			for text, want := range map[string]string{"casey custmer": "casey customer", "zzqqxx": ""} {
				resp := f.post(t, token, sq, map[string]any{"q": text})
				got, _ := dig(resp.Data, "customers", "suggestions").([]any)
				if want == "" && len(got) != 0 || want != "" && (len(got) == 0 || got[0] != want) {
					t.Errorf("suggestions for %q = %v, want %q first", text, got, want)
				}
			}
			// Without search text nothing matched.
			edges := edgesOf(t, f.post(t, token, q, map[string]any{"q": ""}))
			if fields := dig(edges[0], "matchedFields").([]any); len(fields) != 0 {
				t.Errorf("a blank search matched %v", fields)
			}
		})
	}
}

// Text with a character no token holds (an emoji, another symbol outside
// ASCII, a lone combining mark) finds no one, on both stores; it listed every
// customer, as a blank search does. Punctuation alone is still a blank
// search (a query being typed begins with it).
func TestSearchOfNothingSearchableFindsNoOne(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := newAccountFixture(t, kind.edit(t)) // the demo domain's customers, on either store
			token := s.login(t, demo.SupportEmail)
			for _, q := range []string{" ", "! ! !", "—", "@.", "''", "+", "\""} {
				all := s.post(t, token, customersQuery, map[string]any{"q": q, "first": 5})
				if n, _ := dig(all.Data, "customers", "totalCount").(float64); n < 5 || len(edgesOf(t, all)) != 5 {
					t.Fatalf("%q: %+v, want the domain's customers, as a blank search", q, all.Data)
				}
			}
			for _, q := range []string{"😀", "\u0301", "🇬🇧", "★ ♥", "! 😀"} {
				resp := s.post(t, token, customersQuery, map[string]any{"q": q, "first": 5})
				if n := dig(resp.Data, "customers", "totalCount"); len(edgesOf(t, resp)) != 0 || n != 0.0 {
					t.Errorf("%q: %d customers, totalCount %v; want none", q, len(edgesOf(t, resp)), n)
				}
			}
		})
	}
}

// PageInfo has the four fields of the Relay Cursor Connections
// specification (section 5): startCursor is the first edge's cursor,
// endCursor the last's, and hasPreviousPage is false on the first page and
// true on a page asked for after a cursor.
func TestPageInfoIsRelays(t *testing.T) {
	s := startTest(t, nil)
	token := s.login(t, demo.SupportEmail)
	const q = `query($after: String) { customers(first: 3, after: $after) {
	  edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`
	var after any
	for page := 1; page <= 2; page++ {
		resp := s.post(t, token, q, map[string]any{"after": after})
		edges, _ := dig(resp.Data, "customers", "edges").([]any)
		info := dig(resp.Data, "customers", "pageInfo")
		if len(resp.Errors) > 0 || len(edges) != 3 {
			t.Fatalf("page %d: %+v", page, resp)
		}
		if dig(info, "startCursor") != dig(edges[0], "cursor") || dig(info, "endCursor") != dig(edges[2], "cursor") ||
			dig(info, "hasPreviousPage") != (page > 1) || dig(info, "hasNextPage") != true {
			t.Fatalf("page %d: pageInfo %v, edges %v", page, info, edges)
		}
		after = dig(info, "endCursor")
	}
	resp := s.post(t, token, `{ customers(query: "nobody-has-this", first: 3) { pageInfo { hasPreviousPage startCursor endCursor } } }`, nil)
	if info := dig(resp.Data, "customers", "pageInfo"); dig(info, "startCursor") != nil || dig(info, "endCursor") != nil || dig(info, "hasPreviousPage") != false {
		t.Fatalf("an empty page: %+v", resp)
	}
}
