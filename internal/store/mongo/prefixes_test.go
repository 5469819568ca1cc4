package mongo

import (
	"context"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/storetest"
)

func TestSearchPrefixes(t *testing.T) {
	got := searchPrefixes([]string{"jo", "john", "żółw", "kowalczykowa"})
	want := []string{"j", "jo", "joh", "john", "ż", "żó", "żół", "żółw",
		"k", "ko", "kow", "kowa", "kowal", "kowalc", "kowalcz", "kowalczy"}
	if !slices.Equal(got, want) {
		t.Fatalf("searchPrefixes = %q, want %q", got, want)
	}
	for term, want := range map[string]struct {
		key   string
		whole bool
	}{"jo": {"jo", true}, "kowalczy": {"kowalczy", true}, "kowalczyk": {"kowalczy", false}, "żółwżółwż": {"żółwżółw", false}} {
		if key, whole := indexedPrefix(term); key != want.key || whole != want.whole {
			t.Errorf("indexedPrefix(%q) = %q, %v; want %q, %v", term, key, whole, want.key, want.whole)
		}
	}
}

// A store written before searchPrefixes existed (customers without the
// field, the old {domainId, searchTokens} index) is brought up to date when
// it opens: its customers are found by prefix and the old index is gone.
func TestOpenBackfillsSearchPrefixes(t *testing.T) {
	ctx := context.Background()
	uri := mongotest.URI(t)
	s, err := Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	d := storetest.NewDomain(t, s)
	c := storetest.NewCustomer(d, "Johanna", "Kowalczykowa", "jk@example.com", "+1 212 555 0134")
	if err := s.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
		t.Fatal(err)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	db := client.Database(databaseOf(t, uri))
	if _, err := db.Collection("customers").UpdateOne(ctx, bson.D{{Key: "_id", Value: c.ID}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "searchPrefixes", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("meta").DeleteOne(ctx, bson.D{{Key: "_id", Value: searchPrefixesID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("customers").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "searchTokens", Value: 1}}}); err != nil {
		t.Fatal(err)
	}
	find := func(s *Store, text string) int {
		t.Helper()
		terms, err := customers.ParseQuery(text, "US")
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.CountCustomerMatches(ctx, customers.SearchQuery{DomainID: d.ID, Terms: terms})
		if err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	if n := find(s, "jo"); n != 0 {
		t.Fatalf("before reopening, a customer without searchPrefixes was found (%d)", n)
	}
	s, err = Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"jo", "kowalczykowa", "johanna kowal", "jk@exa"} {
		if n := find(s, text); n != 1 {
			t.Errorf("after reopening, %q found %d customers, want 1", text, n)
		}
	}
	specs, err := db.Collection("customers").Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, spec := range specs {
		names = append(names, spec.Name)
	}
	if slices.Contains(names, obsoleteTokenIndex) || !slices.Contains(names, prefixIndexName) || !slices.Contains(names, exactIndexName) {
		t.Errorf("indexes after reopening: %q", names)
	}
}
