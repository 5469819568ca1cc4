package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store"
)

// Demo data.
const (
	demoSlug          = "demo"
	demoCustomerCount = 2000
	demoAdminEmail    = "admin@demo.test"
	demoSupportEmail  = "support@demo.test"
)

// randomPassword returns 20 characters from an alphabet without look-alikes.
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// ensureDemo creates the demo domain, its two operators and its customers
// unless it exists, and prints how to sign in. The password is DEMO_PASSWORD,
// or a random one printed only this once.
func ensureDemo(ctx context.Context, st store.Store, password string, out io.Writer) error {
	if _, err := st.DomainBySlug(ctx, demoSlug); err == nil {
		fmt.Fprintf(out, "Demo domain %q: sign in as %s or %s with the password printed at its first start (or DEMO_PASSWORD).\n",
			demoSlug, demoAdminEmail, demoSupportEmail)
		return nil
	} else if !errors.Is(err, apperr.ErrNotFound) {
		return fmt.Errorf("look up demo domain: %w", err)
	}
	shown := password
	if shown == "" {
		shown = randomPassword()
	}
	at := now()
	d := domains.Domain{ID: ids.New(), Slug: demoSlug, Name: "Demo Heating Co.", DefaultRegion: "US", CreatedAt: at}
	if err := st.CreateDomain(ctx, d); err != nil {
		return err
	}
	for _, o := range []struct {
		name, email string
		role        operators.Role
	}{{"Ada Admin", demoAdminEmail, operators.RoleAdmin}, {"Sam Support", demoSupportEmail, operators.RoleSupport}} {
		err := st.CreateOperator(ctx, operators.Operator{ID: ids.New(), DomainID: d.ID, Name: o.name, Email: o.email, Role: o.role,
			Status: operators.StatusActive, PasswordHash: passwords.Encode(passwords.OWASP, shown), CreatedAt: at, UpdatedAt: at})
		if err != nil {
			return fmt.Errorf("create demo operator: %w", err)
		}
	}
	first, err := insertGenerated(ctx, st, demo.NewGenerator(d, passwords.Encode(passwords.OWASP, shown), 0, at), demoCustomerCount, 500, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `Demo domain %q created with %d customers.
  Console sign-in (ADMIN):    domain=%s  email=%s    password=%s
  Console sign-in (SUPPORT):  domain=%s  email=%s  password=%s
  Every demo customer signs in with the same password, e.g. email=%s
This password is shown only now; set DEMO_PASSWORD before the first start to choose it.
`, demoSlug, demoCustomerCount, demoSlug, demoAdminEmail, shown, demoSlug, demoSupportEmail, shown, first)
	return nil
}

// insertGenerated stores n generated customers and their devices in batches
// (generating the next batch while the store writes one) and returns the
// first customer's email. progress, if set, is told the count after each
// batch. Afterwards it lets the store optimize itself for reading, if it can.
func insertGenerated(ctx context.Context, st store.Store, g *demo.Generator, n, batch int, progress func(done int)) (string, error) {
	type work struct {
		customers []customers.Customer
		devices   []devices.Device
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
		if err := st.InsertCustomers(ctx, w.customers); err != nil {
			for range batches { // let the generator finish
			}
			return "", err
		}
		if len(w.devices) > 0 {
			if err := st.InsertDevices(ctx, w.devices); err != nil {
				for range batches {
				}
				return "", err
			}
		}
		done += len(w.customers)
		if progress != nil {
			progress(done)
		}
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if o, ok := st.(interface{ Optimize(context.Context) error }); ok && n > 10_000 {
		if err := o.Optimize(ctx); err != nil {
			return "", err
		}
	}
	return first, nil
}

// storeFlags adds the store location flags every subcommand shares.
func storeFlags(fs *flag.FlagSet, getenv func(string) string) *config {
	cfg := &config{}
	dataDir := getenv("DATA_DIR")
	if dataDir == "" {
		dataDir = "./data"
	}
	fs.StringVar(&cfg.DataDir, "data-dir", dataDir, "directory of the embedded SQLite store (DATA_DIR)")
	fs.StringVar(&cfg.MongoURI, "mongodb-uri", getenv("MONGODB_URI"), "MongoDB connection string (MONGODB_URI)")
	return cfg
}

// flagSet returns a FlagSet for a subcommand.
func flagSet(name string) *flag.FlagSet {
	return flag.NewFlagSet(name, flag.ContinueOnError)
}

func parseSubcommand(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
		}
		return fmt.Errorf("bad command line for %s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bad command line for %s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// runSeed adds generated customers to an existing domain (the demo domain is
// created first if it is the one named and the store is the embedded one),
// with a progress bar.
// Seeded customers get DEMO_PASSWORD, or else a random password nobody knows.
func runSeed(ctx context.Context, args []string, getenv func(string) string, progressOut io.Writer) error {
	fs := flagSet("seed")
	cfg := storeFlags(fs, getenv)
	slug := fs.String("domain", demoSlug, "slug of the domain to add customers to")
	n := fs.Int("n", 10000, "how many customers to add")
	batch := fs.Int("batch", 2000, "customers per write")
	if err := parseSubcommand(fs, args); err != nil {
		return err
	}
	if *n <= 0 || *batch <= 0 {
		return errors.New("bad command line for seed: -n and -batch must be positive")
	}
	st, err := openStore(ctx, *cfg)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	if *slug == demoSlug && cfg.MongoURI == "" {
		if err := ensureDemo(ctx, st, getenv("DEMO_PASSWORD"), progressOut); err != nil {
			return err
		}
	}
	d, err := st.DomainBySlug(ctx, *slug)
	if err != nil {
		return fmt.Errorf("domain %q: %w", *slug, err)
	}
	existing, err := st.CountCustomers(ctx, d.ID)
	if err != nil {
		return err
	}
	password := getenv("DEMO_PASSWORD")
	if password == "" {
		password = randomPassword()
	}
	started := time.Now()
	bar := func(done int) {
		rate := float64(done) / time.Since(started).Seconds()
		filled := done * 30 / *n
		fmt.Fprintf(progressOut, "\r[%s%s] %3d%% %d/%d  %.0f customers/s ", strings.Repeat("#", filled), strings.Repeat(".", 30-filled),
			done*100 / *n, done, *n, rate)
	}
	g := demo.NewGenerator(d, passwords.Encode(passwords.OWASP, password), int(existing), now())
	if _, err := insertGenerated(ctx, st, g, *n, *batch, bar); err != nil {
		fmt.Fprintln(progressOut)
		return err
	}
	fmt.Fprintf(progressOut, "\nseeded %d customers into %q in %s\n", *n, *slug, time.Since(started).Round(time.Millisecond))
	return nil
}

// runCreateOperator adds an operator to a domain, creating the domain when
// -domain-name is given and it does not exist. The password is read from
// standard input with -password-stdin, otherwise generated and printed once.
func runCreateOperator(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	return createOperator(ctx, args, getenv, os.Stdin, out)
}

// createOperator is runCreateOperator reading a -password-stdin password from
// stdin. The operator and a new domain pass the same rules as everywhere else
// (operators.Draft.Check: the password policy of PASSWORD_MIN_LENGTH with the
// operator's email and name, email syntax, names.Clean), all checked before
// anything is written: a refusal writes nothing.
func createOperator(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, out io.Writer) error {
	fs := flagSet("create-operator")
	cfg := storeFlags(fs, getenv)
	envs := &envParser{getenv: getenv}
	slug := fs.String("domain", "", "slug of the operator's domain (required)")
	domainName := fs.String("domain-name", "", "create the domain with this display name if it does not exist")
	region := fs.String("region", "US", "default phone region of a domain created here")
	email := fs.String("email", "", "the operator's email (required)")
	name := fs.String("name", "", "the operator's display name (required)")
	role := fs.String("role", string(operators.RoleSupport), "SUPPORT or ADMIN")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	minLength := fs.Int("password-min-length", envs.int("PASSWORD_MIN_LENGTH", passwords.DefaultMinLength),
		"minimum password length, 8 to 64 (PASSWORD_MIN_LENGTH)")
	if err := parseSubcommand(fs, args); err != nil {
		return err
	}
	if envs.err != nil {
		return envs.err
	}
	if *slug == "" || *email == "" || *name == "" {
		return errors.New("bad command line for create-operator: -domain, -email and -name are required")
	}
	policy, err := passwords.NewPolicy(*minLength)
	if err != nil {
		return fmt.Errorf("bad PASSWORD_MIN_LENGTH: %w", err)
	}
	password := randomPassword()
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	draft, err := operators.Draft{Name: *name, Email: *email, Role: operators.Role(*role), Password: password}.Check(policy)
	if err != nil {
		return refusedInput("create-operator", err, map[string]string{"name": "-name", "email": "-email", "role": "-role", "password": "the password"})
	}
	at := now()
	newDomain := domains.Domain{ID: ids.New(), Slug: *slug, Name: *domainName, DefaultRegion: strings.ToUpper(*region), CreatedAt: at}
	if *domainName != "" {
		if newDomain, err = newDomain.Check(); err != nil {
			return refusedInput("create-operator", err, map[string]string{"slug": "-domain", "name": "-domain-name", "defaultRegion": "-region"})
		}
	}
	st, err := openStore(ctx, *cfg)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	d, err := st.DomainBySlug(ctx, *slug)
	if errors.Is(err, apperr.ErrNotFound) && *domainName != "" {
		d, err = newDomain, st.CreateDomain(ctx, newDomain)
	}
	if err != nil {
		return fmt.Errorf("domain %q: %w", *slug, err)
	}
	draft.DomainID = d.ID
	op, err := operators.NewService(st).Create(ctx, draft, policy, passwords.OWASP, at)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "operator %s (%s) created in domain %q\n", op.Email, op.Role, d.Slug)
	if !*fromStdin {
		fmt.Fprintf(out, "password (shown only now): %s\n", password)
	}
	return nil
}

// refusedInput returns err, when it is a *apperr.ValidationError, as an
// *inputError of command naming the flag (flags, by field) the value came
// from; any other error as it is.
func refusedInput(command string, err error, flags map[string]string) error {
	var ve *apperr.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	source := flags[ve.Field]
	if source == "" {
		source = ve.Field
	}
	return &inputError{command: command, source: source, err: ve}
}

// inputError is a value of a subcommand's command line that the rules refuse:
// where it came from and why. It unwraps to the *apperr.ValidationError.
type inputError struct {
	command, source string
	err             *apperr.ValidationError
}

func (e *inputError) Error() string {
	return fmt.Sprintf("bad command line for %s: %s: %s (%s)", e.command, e.source, e.err.Message, e.err.Code)
}

func (e *inputError) Unwrap() error { return e.err }
