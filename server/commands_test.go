package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/mongo"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/sqlite"
)

// commandStores are the stores a subcommand can be pointed at: an embedded
// SQLite file store and the Mongo store (the in-process FerretDB, or
// MONGODB_URI), each with the flags that select it and the server
// configuration that opens the same store.
var commandStores = []struct {
	name  string
	store func(t *testing.T) (flags []string, edit func(*config))
}{
	{"sqlite", func(t *testing.T) ([]string, func(*config)) {
		dir := t.TempDir()
		return []string{"-data-dir", dir}, func(c *config) { c.DataDir, c.Demo = dir, false }
	}},
	{"mongo", func(t *testing.T) ([]string, func(*config)) {
		uri := mongotest.URI(t)
		return []string{"-mongodb-uri", uri}, func(c *config) { c.MongoURI = uri }
	}},
}

// runCreateOperatorTest runs create-operator with password on standard input.
func runCreateOperatorTest(t *testing.T, storeFlags []string, password string, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	args = append(append(append([]string{}, storeFlags...), "-password-stdin"), args...)
	err := createOperator(context.Background(), args, func(string) string { return "" }, strings.NewReader(password+"\n"), &out)
	return out.String(), err
}

// openCommandStore opens the store the flags name, as the subcommands do.
func openCommandStore(t *testing.T, flags []string) store.Store {
	t.Helper()
	fs := flagSet("test")
	cfg := storeFlags(fs, func(string) string { return "" })
	if err := fs.Parse(flags); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), *cfg, commandLog(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

// TestCreateOperatorAppliesTheRules checks that the command line refuses what
// the API refuses: a password the policy refuses (common, the email, the name,
// too short), an address that is not one, and names with control or
// text-direction characters, each with an error naming the flag, and writes
// nothing: neither the operator nor the domain it would have created.
func TestCreateOperatorAppliesTheRules(t *testing.T) {
	const good = "tulip-lantern-orbit-42"
	for _, kind := range commandStores {
		t.Run(kind.name, func(t *testing.T) {
			flags, _ := kind.store(t)
			newDomain := []string{"-domain", "acme", "-domain-name", "Acme Heating", "-role", "ADMIN"}
			for _, tt := range []struct {
				name, password string
				args           []string
				flag, code     string
			}{
				{"common password", "123qweasdzxc", []string{"-email", "alex@acme.example", "-name", "Alex Admin"}, "password", "COMMON_PASSWORD"},
				{"password is the email", "alex@acme.example", []string{"-email", "alex@acme.example", "-name", "Alex Admin"}, "password", "MATCHES_ACCOUNT"},
				{"password is the name", "Alexandra Admin", []string{"-email", "alex@acme.example", "-name", "Alexandra Admin"}, "password", "MATCHES_ACCOUNT"},
				{"short password", "short", []string{"-email", "alex@acme.example", "-name", "Alex Admin"}, "password", "TOO_SHORT"},
				{"not an email", good, []string{"-email", "not-an-email", "-name", "Alex Admin"}, "-email", "INVALID"},
				{"email with a display name", good, []string{"-email", "Alex <alex@acme.example>", "-name", "Alex Admin"}, "-email", "INVALID"},
				{"email without a dotted domain", good, []string{"-email", "alex@localhost", "-name", "Alex Admin"}, "-email", "INVALID"},
				{"bidi override in the name", good, []string{"-email", "alex@acme.example", "-name", "Alex \u202enimdA"}, "-name", "INVALID"},
				{"newline in the name", good, []string{"-email", "alex@acme.example", "-name", "Alex\nAdmin"}, "-name", "INVALID"},
				{"bidi isolate in the domain name", good, []string{"-email", "alex@acme.example", "-name", "Alex Admin", "-domain-name", "\u2067Acme\u2069"}, "-domain-name", "INVALID"},
				{"NUL in the domain name", good, []string{"-email", "alex@acme.example", "-name", "Alex Admin", "-domain-name", "Acme\x00"}, "-domain-name", "INVALID"},
			} {
				args := append(append([]string{}, newDomain...), tt.args...)
				out, err := runCreateOperatorTest(t, flags, tt.password, args...)
				var ve *apperr.ValidationError
				if !errors.As(err, &ve) || ve.Code != tt.code || !strings.Contains(err.Error(), tt.flag+": ") || !strings.Contains(err.Error(), ve.Message) {
					t.Fatalf("%s: err %v (output %q), want a %s error naming %s", tt.name, err, out, tt.code, tt.flag)
				}
				if strings.Contains(err.Error(), tt.password) && tt.flag == "password" {
					t.Fatalf("%s: the error shows the password: %v", tt.name, err)
				}
			}
			st := openCommandStore(t, flags)
			if _, err := st.DomainBySlug(context.Background(), "acme"); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("refused commands created the domain: %v", err)
			}
			st.Close(context.Background())

			// The rules accept what they should, normalised; refusals on an
			// existing domain write nothing either.
			if out, err := runCreateOperatorTest(t, flags, good, append(newDomain, "-email", " Alex@ACME.example", "-name", "Rene\u0301e Admin")...); err != nil {
				t.Fatalf("a good operator: %v (%s)", err, out)
			}
			if _, err := runCreateOperatorTest(t, flags, "123qweasdzxc", "-domain", "acme", "-email", "sam@acme.example", "-name", "Sam Support"); err == nil {
				t.Fatal("a common password on an existing domain was accepted")
			}
			st = openCommandStore(t, flags)
			d, err := st.DomainBySlug(context.Background(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			if o, err := st.OperatorByEmail(context.Background(), d.ID, "alex@acme.example"); err != nil || o.Name != "Ren\u00e9e Admin" {
				t.Fatalf("the good operator: %+v, %v; want the name in NFC", o, err)
			}
			if _, err := st.OperatorByEmail(context.Background(), d.ID, "sam@acme.example"); !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("a refused operator was stored: %v", err)
			}
		})
	}
}

// TestSeedingSeveralDomains seeds generated customers into several domains of
// one store (on SQLite the first is the demo domain, as `server seed` creates
// it) and continues one of them, then checks over the API that each domain's
// operator finds exactly its own customers, on both stores.
func TestSeedingSeveralDomains(t *testing.T) {
	for _, kind := range commandStores {
		t.Run(kind.name, func(t *testing.T) {
			flags, edit := kind.store(t)
			ctx := context.Background()
			noEnv := func(string) string { return "" }
			want := map[string]int{"acme": 0, "globex": 0}
			if kind.name == "sqlite" {
				if err := runSeed(ctx, append(flags, "-domain", demo.Slug, "-n", "10"), func(k string) string {
					if k == "DEMO_PASSWORD" {
						return testPassword
					}
					return ""
				}, io.Discard); err != nil {
					t.Fatalf("seed the demo domain: %v", err)
				}
			}
			for slug := range want {
				if out, err := runCreateOperatorTest(t, flags, testPassword, "-domain", slug, "-domain-name", slug+" Heating",
					"-email", "admin@"+slug+".example", "-name", "Admin of "+slug, "-role", "ADMIN"); err != nil {
					t.Fatalf("create %s: %v (%s)", slug, err, out)
				}
			}
			for _, run := range []struct {
				slug string
				n    int
			}{{"acme", 40}, {"globex", 40}, {"acme", 25}} {
				if err := runSeed(ctx, append(flags, "-domain", run.slug, "-n", fmt.Sprint(run.n), "-batch", "16"), noEnv, io.Discard); err != nil {
					t.Fatalf("seed %d into %s: %v", run.n, run.slug, err)
				}
				want[run.slug] += run.n
			}

			s := startTest(t, edit)
			if kind.name == "sqlite" {
				want[demo.Slug] = demo.CustomerCount + 10
			}
			for slug, n := range want {
				email := "admin@" + slug + ".example"
				if slug == demo.Slug {
					email = demo.AdminEmail
				}
				resp := s.post(t, "", loginMutation, map[string]any{"domain": slug, "email": email, "password": testPassword})
				token, _ := dig(resp.Data, "operatorLogin", "token").(string)
				if token == "" {
					t.Fatalf("sign in to %s: %+v", slug, resp)
				}
				resp = s.post(t, token, customersQuery, map[string]any{"first": 100})
				if got := dig(resp.Data, "customers", "totalCount"); got != float64(n) {
					t.Fatalf("%s lists %v customers, want %d: %+v", slug, got, n, resp.Errors)
				}
				// Search by a word of the first listed customer finds it.
				first := dig(edgesOf(t, resp)[0], "node").(map[string]any)
				edges := edgesOf(t, s.post(t, token, customersQuery, map[string]any{"q": first["email"], "first": 5}))
				if len(edges) != 1 || dig(edges[0], "node", "id") != first["id"] {
					t.Fatalf("searching %s for %v: %v", slug, first["email"], edges)
				}
			}
		})
	}
}

// A store that a command creates (create-operator, then import, before any
// server starts) records the current search token rules at once: the
// server's first start on a store filled by `server import` derived every
// customer's tokens again (four minutes for the Node peer's million).
func TestCommandsRecordTheSearchTokenRules(t *testing.T) {
	ctx := context.Background()
	for _, kind := range commandStores {
		t.Run(kind.name, func(t *testing.T) {
			flags, _ := kind.store(t)
			if out, err := runCreateOperatorTest(t, flags, "tulip-lantern-orbit-42", "-domain", "acme", "-domain-name", "Acme Heating",
				"-role", "ADMIN", "-email", "alex@acme.example", "-name", "Alex Admin"); err != nil {
				t.Fatalf("create-operator: %v (%s)", err, out)
			}
			var st store.Store
			var err error
			if flags[0] == "-data-dir" { // opened as it is, without openStore's reindexing
				st, err = sqlite.Open(ctx, flags[1])
			} else {
				st, err = mongo.Open(ctx, flags[1])
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close(ctx)
			if rules, err := st.SearchTokenRules(ctx); err != nil || rules != customers.TokenRules {
				t.Fatalf("the new store records search token rules %d (%v), want %d", rules, err, customers.TokenRules)
			}
		})
	}
}

// The process's exit: -h of a subcommand prints its usage and exits 0; a
// subcommand's failure is one log line that names the subcommand (not "server
// stopped", which is the server's own).
func TestReportNamesTheCommandAndHelpExitsZero(t *testing.T) {
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	for _, args := range [][]string{{"import", "-h"}, {"export", "-h"}, {"seed", "-h"}, {"bench-search", "-h"}} {
		var stderr strings.Builder
		if status := report(run(ctx, args, noEnv, io.Discard, io.Discard), args, &stderr); status != 0 || stderr.Len() > 0 {
			t.Errorf("%v: exit %d, %q; want 0 and nothing on stderr", args, status, stderr.String())
		}
	}
	args := []string{"export", "-data-dir", t.TempDir(), "-domain", "nowhere"}
	var stderr strings.Builder
	if status := report(run(ctx, args, noEnv, io.Discard, io.Discard), args, &stderr); status != 1 ||
		!strings.Contains(stderr.String(), `"message":"export failed"`) || strings.Contains(stderr.String(), "server stopped") {
		t.Errorf("export of a missing domain: exit %d, %q; want 1 and export failed", status, stderr.String())
	}
	stderr.Reset()
	if status := report(errors.New("listen: address in use"), []string{"-addr", ":1"}, &stderr); status != 1 ||
		!strings.Contains(stderr.String(), `"message":"server stopped"`) {
		t.Errorf("the server's error: exit %d, %q; want 1 and server stopped", status, stderr.String())
	}
}

// seed -file takes the format from the file's name, and says so when it
// cannot: seed has no -format flag to suggest.
func TestSeedFileNeedsAKnownExtension(t *testing.T) {
	path := filepath.Join(t.TempDir(), "customers.txt")
	err := runSeed(context.Background(), []string{"-file", path, "-n", "1"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), ".csv") || strings.Contains(err.Error(), "-format") {
		t.Errorf("seed -file customers.txt: %v, want an error that names the extensions and no -format flag", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("seed -file customers.txt created the file (%v)", statErr)
	}
}

// create-operator finds an existing domain as sign-in, import and export
// do (its slug in any case, or its display name), says so when it is also
// given a -domain-name (which then changes nothing), and takes the role in
// any case; a domain it cannot find is told with how to create one
// (tryout 20: "ACME" and "Acme Heating" were "no domain: pass -domain-name
// to create it", and "-role admin" refused).
func TestCreateOperatorFindsTheDomainAsSignInDoes(t *testing.T) {
	const good = "tulip-lantern-orbit-42"
	flags, _ := commandStores[0].store(t)
	if out, err := runCreateOperatorTest(t, flags, good, "-domain", "acme", "-domain-name", "Acme Heating", "-email", "ann@acme.example", "-name", "Ann Admin", "-role", "ADMIN"); err != nil {
		t.Fatalf("the first ADMIN: %v (%s)", err, out)
	}
	for i, args := range [][]string{
		{"-domain", "ACME", "-role", "admin"},
		{"-domain", "Acme Heating"},
		{"-domain", "ACME", "-domain-name", "Acme Two"},
	} {
		email := fmt.Sprintf("op%d@acme.example", i)
		out, err := runCreateOperatorTest(t, flags, good, append(args, "-email", email, "-name", "Operator Two")...)
		if err != nil || !strings.Contains(out, `created in domain "acme"`) {
			t.Fatalf("%v: %v (%s), want the operator created in acme", args, err, out)
		}
		if slices.Contains(args, "-domain-name") != strings.Contains(out, `domain "acme" (Acme Heating) exists: -domain-name and -region are not used`) {
			t.Errorf("%v: output %q, want a word on the -domain-name not used exactly when one was given", args, out)
		}
	}
	st := openCommandStore(t, flags)
	defer st.Close(context.Background())
	d, err := st.DomainBySlug(context.Background(), "acme")
	if err != nil || d.Name != "Acme Heating" {
		t.Fatalf("the domain after: %+v, %v; want its name unchanged", d, err)
	}
	if o, err := st.OperatorByEmail(context.Background(), d.ID, "op0@acme.example"); err != nil || o.Role != "ADMIN" {
		t.Errorf("the operator of -role admin: %+v, %v", o, err)
	}
	if _, err := runCreateOperatorTest(t, flags, good, "-domain", "globex", "-email", "g@globex.example", "-name", "Gil"); err == nil ||
		!strings.Contains(err.Error(), "by its slug, in any case, or its display name") {
		t.Errorf("an unknown domain: %v, want told how it was looked for and how to create one", err)
	}
}
