package demo_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/sqlite"
)

// TestEnsureOnceThenSeed creates the demo domain on an empty store, finds it
// the second time, and adds customers to it.
func TestEnsureOnceThenSeed(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
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
	if err := demo.Seed(ctx, st, demo.Slug, 25, 10, "", time.Now(), io.Discard); err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountCustomers(ctx, d.ID); err != nil || n != demo.CustomerCount+25 {
		t.Errorf("customers = %d, %v; want %d", n, err, demo.CustomerCount+25)
	}
	if err := demo.Seed(ctx, st, "no-such-domain", 1, 1, "", time.Now(), io.Discard); err == nil {
		t.Error("seeding a missing domain succeeded")
	}
}
