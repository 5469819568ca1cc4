package demo_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store/sqlite"
)

// newStore opens an embedded store in a new directory, closed when the test ends.
func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

// TestEnsureOnceThenSeed creates the demo domain on an empty store, finds it
// the second time, and adds customers to it.
func TestEnsureOnceThenSeed(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var out bytes.Buffer
	if err := demo.Ensure(ctx, st, "a demo password", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	// It says the password is DEMO_PASSWORD's, not that it is shown only now (a tryout was told to set
	// DEMO_PASSWORD, which it had).
	if !strings.Contains(out.String(), "created with 2000 customers") || !strings.Contains(out.String(), "password=a demo password") ||
		!strings.Contains(out.String(), "This is DEMO_PASSWORD") || strings.Contains(out.String(), "shown only now") {
		t.Errorf("first start printed %q", out.String())
	}
	out.Reset()
	if err := demo.Ensure(ctx, st, "", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "created") || strings.Contains(out.String(), "password=") ||
		!strings.Contains(out.String(), "a new DEMO_PASSWORD changes nothing") {
		t.Errorf("second start printed %q", out.String())
	}
	d, err := st.DomainBySlug(ctx, demo.Slug)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := demo.Seed(ctx, st, demo.Slug, 25, 10, "", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	// Into a buffer (a pipe, a log), no bar: one line (tryout 21 found the bar redrawn into a pipe).
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], `seeded 25 customers into "demo" in `) {
		t.Errorf("seed printed %q", out.String())
	}
	if n, err := st.CountCustomers(ctx, d.ID); err != nil || n != demo.CustomerCount+25 {
		t.Errorf("customers = %d, %v; want %d", n, err, demo.CustomerCount+25)
	}
	if err := demo.Seed(ctx, st, "no-such-domain", 1, 1, "", time.Now(), io.Discard); err == nil || !strings.HasPrefix(err.Error(), `no domain "no-such-domain"`) {
		t.Errorf("seeding a missing domain: %v", err)
	}
}

// A server starting with DEMO on adds the demo domain to a new store, not to
// one that holds a company's own domains; a store that has it keeps it.
func TestEnsureOnStartLeavesAnAdoptedStoreAlone(t *testing.T) {
	ctx := context.Background()
	acme := func(st *sqlite.Store) {
		if err := st.CreateDomain(ctx, domains.Domain{ID: ids.NewShort(), Slug: "acme", Name: "Acme", DefaultRegion: "GB", CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}

	adopted := newStore(t)
	acme(adopted)
	var out bytes.Buffer
	if err := demo.EnsureOnStart(ctx, adopted, "a demo password", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if _, err := adopted.DomainBySlug(ctx, demo.Slug); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("the demo domain in a store of a company's own: %v", err)
	}
	if strings.TrimSpace(out.String()) != demo.AdoptedStoreNotice {
		t.Errorf("printed %q", out.String())
	}

	fresh := newStore(t)
	out.Reset()
	if err := demo.EnsureOnStart(ctx, fresh, "a demo password", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "created with 2000 customers") {
		t.Errorf("a new store: printed %q", out.String())
	}
	acme(fresh) // a company's domain added to the demo store later
	out.Reset()
	if err := demo.EnsureOnStart(ctx, fresh, "", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "sign in as "+demo.AdminEmail) {
		t.Errorf("a store with the demo domain: printed %q", out.String())
	}
}

// Seeding a domain that holds generated customers under the numbers the
// generator takes next (a seed file imported with another -from) says so,
// not SQLite's constraint.
func TestSeedOverGeneratedCustomersSaysWhatCollided(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	d := domains.Domain{ID: ids.NewShort(), Slug: "acme", Name: "Acme", DefaultRegion: "US", CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := st.CreateDomain(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Insert(ctx, st, demo.NewGenerator(d, "", 3, time.Now()), 3, 3, nil); err != nil { // numbers 3 to 5
		t.Fatal(err)
	}
	err := demo.Seed(ctx, st, "acme", 3, 3, "", time.Now(), io.Discard) // numbers 3 to 5 again
	if err == nil || !strings.Contains(err.Error(), "seed another domain") || strings.Contains(err.Error(), "constraint") {
		t.Errorf("seed over generated customers: %v", err)
	}
}
