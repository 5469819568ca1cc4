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
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/imports"
	"github.com/iotconsole/bff/internal/newfile"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
)

// storeFlags adds the store location flags every subcommand shares.
func storeFlags(fs *flag.FlagSet, getenv func(string) string) *config {
	cfg := &config{}
	dataDir := getenv("DATA_DIR")
	if dataDir == "" {
		dataDir = defaultConfig().DataDir
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

// runSeed is `server seed`: it adds generated customers to an existing
// domain (creating the demo domain first if it is the one named and the
// store is the embedded one), with a progress bar on progressOut. Seeded
// customers get DEMO_PASSWORD, or else a random password nobody knows.
func runSeed(ctx context.Context, args []string, getenv func(string) string, progressOut io.Writer) error {
	fs := flagSet("seed")
	cfg := storeFlags(fs, getenv)
	slug := fs.String("domain", demo.Slug, "slug of the domain to add customers to")
	n := fs.Int("n", 10000, "how many customers to add")
	batch := fs.Int("batch", 2000, "customers per write")
	file := fs.String("file", "", "write the customers to this import file (.csv or .jsonl) instead of a store")
	from := fs.Int("from", 0, "with -file: number the customers from this one (their emails and serial numbers stay unique across files)")
	if err := parseSubcommand(fs, args); err != nil {
		return err
	}
	if *n <= 0 || *batch <= 0 || *from < 0 {
		return errors.New("bad command line for seed: -n and -batch must be positive, -from not negative")
	}
	if *file != "" {
		if err := refuseDataDirFile("the seed file", *file, *cfg); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		return writeSeedFile(ctx, *file, *n, *from, getenv("DEMO_PASSWORD"), progressOut)
	}
	// As an import: with the store to itself when no server runs on it, so
	// that a load into an empty store builds its indexes at the end.
	exclusive, unlock, err := lockForImport(*cfg, false)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer unlock()
	st, err := openStore(ctx, *cfg, commandLog(), exclusive, lockedOptions(exclusive)...)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	if *slug == demo.Slug && cfg.MongoURI == "" {
		if err := demo.Ensure(ctx, st, getenv("DEMO_PASSWORD"), clock.System().Now(), progressOut); err != nil {
			return err
		}
	}
	return demo.Seed(ctx, st, *slug, *n, *batch, getenv("DEMO_PASSWORD"), clock.System().Now(), progressOut)
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
// operator's email and name and the domain's slug and name, email syntax, names.Clean), all checked before
// anything is written: a refusal writes nothing.
func createOperator(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, out io.Writer) error {
	fs := flagSet("create-operator")
	cfg := storeFlags(fs, getenv)
	envs := &envParser{getenv: getenv}
	slug := fs.String("domain", "", "the operator's domain: its slug (any case) or display name, as at sign-in (required)")
	domainName := fs.String("domain-name", "", "create the domain, with -domain as its slug, under this display name if it does not exist")
	region := fs.String("region", "US", "default phone region of a domain created here")
	email := fs.String("email", "", "the operator's email (required)")
	name := fs.String("name", "", "the operator's display name (required)")
	role := fs.String("role", string(operators.RoleSupport), "SUPPORT or ADMIN (any case)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	minLength := fs.Int("password-min-length", envs.int("PASSWORD_MIN_LENGTH", defaultConfig().PasswordMin),
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
	password := rand.Text() // 26 characters, 128 bits
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	draft, err := operators.Draft{Name: *name, Email: *email, Role: operators.Role(strings.ToUpper(strings.TrimSpace(*role))), Password: password}.Check(policy, *slug, *domainName)
	if err != nil {
		return refusedInput("create-operator", err, map[string]string{"name": "-name", "email": "-email", "role": "-role", "password": "the password"})
	}
	at := clock.System().Now()
	newDomain := domains.Domain{ID: ids.NewShort(), Slug: *slug, Name: *domainName, DefaultRegion: strings.ToUpper(*region), CreatedAt: at}
	var badDomain error // the domain -domain-name would create, refused: told unless -domain names an existing one
	if *domainName != "" {
		if checked, err := newDomain.Check(); err != nil {
			badDomain = refusedInput("create-operator", err, map[string]string{"slug": "-domain", "name": "-domain-name", "defaultRegion": "-region"})
		} else {
			newDomain = checked
		}
	}
	if badDomain != nil && requireStore(*cfg) != nil { // no store yet, so no such domain: nothing is created
		return badDomain
	}
	st, err := openStore(ctx, *cfg, commandLog(), false)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	// The domain as sign-in, import and export find it (tryout 20: "ACME"
	// or the display name was "no domain", with a hint to create it).
	d, err := domains.Find(ctx, st, *slug)
	switch {
	case err == nil && *domainName != "":
		fmt.Fprintf(out, "domain %q (%s) exists: -domain-name and -region are not used\n", d.Slug, d.Name)
	case errors.Is(err, apperr.ErrNotFound) && badDomain != nil:
		return badDomain
	case errors.Is(err, apperr.ErrNotFound) && *domainName != "":
		if err := domains.CheckNameFree(ctx, st, newDomain.Name, newDomain.ID); err != nil {
			return refusedInput("create-operator", err, map[string]string{"name": "-domain-name"})
		}
		d, err = newDomain, st.CreateDomain(ctx, newDomain)
	case errors.Is(err, apperr.ErrNotFound):
		return fmt.Errorf("no domain %q (by its slug, in any case, or its display name): to create a new one, give its slug as -domain and its display name as -domain-name (and -region)", *slug)
	}
	if err != nil {
		return fmt.Errorf("domain %q: %w", *slug, err)
	}
	draft.DomainID = d.ID
	op, err := operators.NewService(st, nil, policy, func() time.Time { return at }).Create(ctx, audit.Actor{Type: audit.ActorSystem, ID: "create-operator"}, draft, policy, passwords.OWASP, at)
	if errors.Is(err, apperr.ErrConflict) {
		return fmt.Errorf("domain %q already has an operator with the email %s", d.Slug, draft.Email)
	}
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

// Error says it in one line for the person at the terminal, naming the
// command, the flag, the rule and its code: "create-operator: the
// password: A password of spaces or invisible characters only is easy to
// guess; ... (WHITESPACE_ONLY)". main prints it as it is (no log line about
// a server).
func (e *inputError) Error() string {
	return fmt.Sprintf("%s: %s: %s (%s)", e.command, e.source, e.err.Message, e.err.Code)
}

func (e *inputError) Unwrap() error { return e.err }

// writeSeedFile writes n generated customers, numbered from from, with
// their devices and the argon2id hash of password (random when empty), to
// path in the import format its extension names: test data for
// `server import` and its benchmark. It refuses to overwrite path.
func writeSeedFile(ctx context.Context, path string, n, from int, password string, out io.Writer) error {
	format, err := imports.ParseFormat("", path)
	if err != nil { // seed has no -format: the name says it
		return errors.New("seed: the -file name must end in .csv, .jsonl or .ndjson")
	}
	f, err := newfile.Create(path) // whole or not at all, as an export's
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer f.Discard() // nothing once committed
	if password == "" {
		password = rand.Text()
	}
	g := demo.NewGenerator(domains.Domain{DefaultRegion: "US"}, passwords.Encode(passwords.OWASP, password), from, clock.System().Now())
	w, err := imports.NewWriter(f, format, imports.Columns(demo.MaxDevices))
	if err != nil {
		return err
	}
	for i := range n {
		c, ds := g.Next()
		if err := w.Write(imports.RecordOf(c, ds, true), 0, ""); err != nil {
			return err
		}
		if i%10000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d customers to %s\n", n, path)
	return nil
}
