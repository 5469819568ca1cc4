package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// The demo domain that Ensure creates.
const (
	Slug          = "demo"
	CustomerCount = 2000
	AdminEmail    = "admin@demo.test"
	SupportEmail  = "support@demo.test"
)

// Store is what seeding reads and writes; every store backend implements it.
type Store interface {
	DomainBySlug(ctx context.Context, slug string) (domains.Domain, error)
	CreateDomain(ctx context.Context, d domains.Domain) error
	CreateOperator(ctx context.Context, o operators.Operator) error
	// ImportCustomers is the bulk path imports write through too.
	ImportCustomers(ctx context.Context, cs []customers.Customer, ds []devices.Device) error
	CountCustomers(ctx context.Context, domainID string) (int64, error)
}

// Ensure creates the demo domain, its two operators and its customers at
// time at unless the domain exists, and prints to out how to sign in. The
// password is password, or a random one printed only this once when it is
// empty. It returns the store's error if a read or write fails.
func Ensure(ctx context.Context, st Store, password string, at time.Time, out io.Writer) error {
	if _, err := st.DomainBySlug(ctx, Slug); err == nil {
		fmt.Fprintf(out, "Demo domain %q: sign in as %s or %s with the password of its first start (printed then, or DEMO_PASSWORD as it was then; a new DEMO_PASSWORD changes nothing).\n",
			Slug, AdminEmail, SupportEmail)
		return nil
	} else if !errors.Is(err, apperr.ErrNotFound) {
		return fmt.Errorf("look up demo domain: %w", err)
	}
	shown := password
	if shown == "" {
		shown = rand.Text() // 26 characters, 128 bits
	}
	at = at.UTC().Truncate(time.Millisecond)
	d := domains.Domain{ID: ids.NewShort(), Slug: Slug, Name: "Demo Heating Co.", DefaultRegion: "US", SignUpPolicy: domains.SignUpOpen, CreatedAt: at}
	if err := st.CreateDomain(ctx, d); err != nil {
		return err
	}
	for _, o := range []struct {
		name, email string
		role        operators.Role
	}{{"Ada Admin", AdminEmail, operators.RoleAdmin}, {"Sam Support", SupportEmail, operators.RoleSupport}} {
		err := st.CreateOperator(ctx, operators.Operator{ID: ids.New(), DomainID: d.ID, Name: o.name, Email: o.email, Role: o.role,
			Status: operators.StatusActive, PasswordHash: passwords.Encode(passwords.OWASP, shown), CreatedAt: at, UpdatedAt: at})
		if err != nil {
			return fmt.Errorf("create demo operator: %w", err)
		}
	}
	first, err := Insert(ctx, st, NewGenerator(d, passwords.Encode(passwords.OWASP, shown), 0, at), CustomerCount, 500, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `Demo domain %q created with %d customers.
  Console sign-in (ADMIN):    domain=%s  email=%s    password=%s
  Console sign-in (SUPPORT):  domain=%s  email=%s  password=%s
  Every demo customer signs in with the same password, e.g. email=%s
%s
`, Slug, CustomerCount, Slug, AdminEmail, shown, Slug, SupportEmail, shown, first, passwordOrigin(password))
	return nil
}

// StartStore is what EnsureOnStart reads and writes.
type StartStore interface {
	Store
	// Domains returns every domain (their slugs may be left out).
	Domains(ctx context.Context) ([]domains.Domain, error)
}

// AdoptedStoreNotice is what EnsureOnStart prints for a store that holds
// domains of its own and no demo domain.
const AdoptedStoreNotice = "DEMO is on, but this store holds domains of its own: no demo domain was added " +
	"(set DEMO=off to start without this line)."

// EnsureOnStart is what a server does as it starts with DEMO on: Ensure on
// a new store (no domain yet) or one that has the demo domain, but nothing
// on a store that holds other domains only, which says so to out. That is a
// company's own store (create-operator, then import): 2,000 made-up
// customers and two demo operators have no place beside its customers, and
// the demo password would be printed into its service's log.
func EnsureOnStart(ctx context.Context, st StartStore, password string, at time.Time, out io.Writer) error {
	if _, err := st.DomainBySlug(ctx, Slug); !errors.Is(err, apperr.ErrNotFound) {
		return Ensure(ctx, st, password, at, out) // found (or the store's error, which Ensure returns too)
	}
	ds, err := st.Domains(ctx)
	if err != nil {
		return fmt.Errorf("list domains: %w", err)
	}
	if len(ds) > 0 {
		fmt.Fprintln(out, AdoptedStoreNotice)
		return nil
	}
	return Ensure(ctx, st, password, at, out)
}

// passwordOrigin says where the demo password came from: DEMO_PASSWORD
// (given), or made up and shown only this once.
func passwordOrigin(given string) string {
	if given != "" {
		return "This is DEMO_PASSWORD, as set for this first start."
	}
	return "This password is shown only now; set DEMO_PASSWORD before the first start to choose it."
}

// Insert stores n customers of g and their devices in batches of batch
// (generating the next batch while the store writes one) and returns the
// first customer's email. progress, if set, is told the count after each
// batch. Afterwards it lets the store optimize itself for reading, if it
// can and n is large. It returns the first error of the store or of ctx.
func Insert(ctx context.Context, st Store, g *Generator, n, batch int, progress func(done int)) (string, error) {
	type work struct {
		customers []customers.Customer
		devices   []devices.Device
	}
	if _, err := customers.DeferSearchIndex(ctx, st); err != nil {
		return "", err
	}
	batches := make(chan work, 1)
	go func() {
		defer close(batches)
		for done := 0; done < n && ctx.Err() == nil; {
			size := min(batch, n-done)
			w := work{customers: make([]customers.Customer, 0, size)}
			for range size {
				c, ds := g.Next()
				w.customers = append(w.customers, c)
				w.devices = append(w.devices, ds...)
			}
			batches <- w
			done += size
		}
	}()
	var first string
	done := 0
	for w := range batches {
		if first == "" {
			first = w.customers[0].Email
		}
		if err := st.ImportCustomers(ctx, w.customers, w.devices); err != nil {
			for range batches { // let the generator finish
			}
			return "", err
		}
		done += len(w.customers)
		if progress != nil {
			progress(done)
		}
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := customers.OptimizeAfterBulkLoad(ctx, st, n); err != nil {
		return "", err
	}
	return first, nil
}

// Seed adds n generated customers to the existing domain slug at time at,
// in batches of batch, drawing a progress bar on out when it is a terminal
// (schollz/progressbar: count, rate and time left), and then saying how
// many it added and how long it took. They all get password,
// or a random password nobody knows when it is empty. It returns an error
// if the domain does not exist or the store fails.
func Seed(ctx context.Context, st Store, slug string, n, batch int, password string, at time.Time, out io.Writer) error {
	if n <= 0 || batch <= 0 {
		return errors.New("seed: the count and the batch size must be positive")
	}
	d, err := st.DomainBySlug(ctx, slug)
	if errors.Is(err, apperr.ErrNotFound) {
		return fmt.Errorf("no domain %q (by its slug): create it first with create-operator", slug)
	}
	if err != nil {
		return fmt.Errorf("domain %q: %w", slug, err)
	}
	existing, err := st.CountCustomers(ctx, d.ID)
	if err != nil {
		return err
	}
	if password == "" {
		password = rand.Text() // 26 characters, 128 bits
	}
	started := time.Now()
	barOut := io.Discard // a bar redrawn into a log or a pipe is noise (and its rate nonsense)
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		barOut = out
	}
	bar := progressbar.NewOptions(n, progressbar.OptionSetWriter(barOut), progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("customers"),
		progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	g := NewGenerator(d, passwords.Encode(passwords.OWASP, password), int(existing), at)
	_, err = Insert(ctx, st, g, n, batch, func(done int) { _ = bar.Set(done) })
	_ = bar.Finish()
	if errors.Is(err, apperr.ErrConflict) {
		return fmt.Errorf("seed: a generated customer's email or serial number is taken in %q: the generator numbers the customers it adds "+
			"from the domain's count, %d, and the domain holds some of those numbers already (a seed file imported with another -from, say); "+
			"seed another domain (-domain)", slug, existing)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded %d customers into %q in %s\n", n, slug, time.Since(started).Round(time.Millisecond))
	return nil
}
