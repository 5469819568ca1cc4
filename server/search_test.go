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
