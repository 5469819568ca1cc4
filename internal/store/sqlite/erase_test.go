package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// TestErasureLeavesNoTraceInTheFiles erases a customer whose search tokens
// sit in a segment of the search index of their own (inserted alone, then
// corrected, so an older set of its tokens is masked too) and reads every
// file of the data directory: neither the rows, nor the index, nor the
// write-ahead log may hold anything of it. Without secure_delete, the
// index's rewrite or the checkpoint, this fails.
func TestErasureLeavesNoTraceInTheFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	d := storetest.NewDomain(t, s)
	var batch []customers.Customer
	for i := range 200 {
		batch = append(batch, storetest.NewCustomer(d, fmt.Sprint("Abel", i), fmt.Sprint("Zed", i), fmt.Sprintf("a%d@x.test", i), ""))
	}
	if err := s.ImportCustomers(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	c := storetest.NewCustomer(d, "Quillon", "Xerxesdottir", "quillon.xerxes@erasure-test.example", "+1 555 013 9876")
	if err := s.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
		t.Fatal(err)
	}
	email := "vq.renamed@erasure-test.example"
	after := c
	after.Email = email
	c, err = s.UpdateCustomer(ctx, customers.Update{ID: c.ID, Version: c.Version, Email: &email, SearchTokens: customers.SearchTokens(after, nil, d.DefaultRegion)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.ImportCustomers(ctx, []customers.Customer{storetest.NewCustomer(d, "Later", fmt.Sprint("One", i), fmt.Sprintf("l%d@x.test", i), "")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteCustomer(ctx, customers.Erasure{ID: c.ID, DomainID: d.ID, Version: c.Version}); err != nil {
		t.Fatal(err)
	}

	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("files of %s: %v %v", dir, files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, trace := range []string{"quillon", "Quillon", "xerxesdottir", "Xerxesdottir", "erasure-test", "5550139876"} {
			if bytes.Contains(b, []byte(trace)) {
				t.Errorf("%s holds %q", filepath.Base(f), trace)
			}
		}
	}
	if n, err := s.CountCustomers(ctx, d.ID); err != nil || n != 203 {
		t.Fatalf("customers after the erasure: %d %v; want the 203 others", n, err)
	}
}
