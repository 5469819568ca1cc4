package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/passwords/passwordstest"
	"github.com/iotconsole/bff/internal/store/sqlite"
)

const signInMutation = `mutation($domain: String!, $email: String!, $password: String!) {
  login(input: {domain: $domain, email: $email, password: $password}) { token userErrors { code } }
}`

// server import, then the imported customers sign in with the passwords of
// the system they came from; the first sign-in re-hashes the password with
// argon2id and changes nothing else; a customer imported without a hash
// cannot sign in; server export writes them back without hashes.
func TestImportCommandKeepsPasswords(t *testing.T) {
	const password = "their old system's password"
	for _, kind := range commandStores {
		t.Run(kind.name, func(t *testing.T) {
			flags, edit := kind.store(t)
			ctx := context.Background()
			noEnv := func(string) string { return "" }
			if out, err := runCreateOperatorTest(t, flags, testPassword, "-domain", "acme", "-domain-name", "Acme",
				"-email", "admin@acme.example", "-name", "Ann Admin", "-role", "ADMIN"); err != nil {
				t.Fatalf("create acme: %v (%s)", err, out)
			}
			dir := t.TempDir()
			file, rejects := filepath.Join(dir, "users.csv"), filepath.Join(dir, "rejects.csv")
			text := "email,firstName,lastName,passwordHash,device1.serialNumber,device1.model\n" +
				"bea@example.com,Bea,Bcrypt," + passwordstest.Bcrypt(t, password, "$2y$") + ",BEA-1,Thermostat T1\n" +
				"dan@example.com,Dan,Django," + passwordstest.Django(t, "pbkdf2_sha256", sha256.New, 32, password) + ",,\n" +
				"nora@example.com,Nora,Nohash,,,\n" +
				"\"bad@\",\"Bad, Row\",X,,BAD-1,Plug P3\n"
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			// A file that exists is never written over (it may be an export
			// given by mistake), dry run or not, and nothing is imported.
			if err := os.WriteFile(rejects, []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, dry := range [][]string{{"-dry-run"}, nil} {
				err := runImport(ctx, slices.Concat(dry, flags, []string{"-domain", "acme", file, "-rejects", rejects}), noEnv, nil, io.Discard, io.Discard)
				if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "never overwritten") {
					t.Errorf("-rejects naming a file that exists (%v): %v, want a refusal", dry, err)
				}
			}
			if got, _ := os.ReadFile(rejects); string(got) != "old\n" {
				t.Fatalf("the rejects file that existed now holds %q", got)
			}
			if err := os.Remove(rejects); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr strings.Builder
			if err := runImport(ctx, append(flags, "-domain", "acme", file, "-rejects", rejects), noEnv, nil, &stdout, &stderr); err != nil {
				t.Fatalf("import: %v\n%s", err, stderr.String())
			}
			if fi, err := os.Stat(rejects); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("rejects file: mode %v (%v), want 0600 (it holds personal data and hashes)", fi.Mode().Perm(), err)
			}
			if !strings.Contains(stdout.String(), "3 created, 0 updated, 0 unchanged, 1 rejected") {
				t.Errorf("summary: %q", stdout.String())
			}
			if strings.Contains(stderr.String(), "bea@") || strings.Contains(stderr.String(), "$2y$") {
				t.Errorf("the import printed a record's data: %s", stderr.String())
			}
			got, _ := os.ReadFile(rejects)
			if lines := strings.Split(strings.TrimSpace(string(got)), "\n"); len(lines) != 2 ||
				!strings.HasPrefix(lines[1], `5,email: `) || !strings.Contains(lines[1], `"Bad, Row"`) || !strings.Contains(lines[1], "BAD-1,Plug P3") ||
				!strings.HasPrefix(lines[0], "line,reason,email,firstName,lastName,passwordHash,device1.serialNumber,device1.model") {
				t.Errorf("rejects file:\n%s", got)
			}
			stdout.Reset()
			if err := runImport(ctx, append(flags, "-domain", "acme", file), noEnv, nil, &stdout, &stderr); err != nil ||
				!strings.Contains(stdout.String(), "0 created, 0 updated, 3 unchanged, 1 rejected") {
				t.Errorf("the same file again: %v %q", err, stdout.String())
			}

			s := startTest(t, edit)
			signIn := func(email, password string) (string, string) {
				resp := s.post(t, "", signInMutation, map[string]any{"domain": "acme", "email": email, "password": password})
				token, _ := dig(resp.Data, "login", "token").(string)
				code := ""
				if errs, _ := dig(resp.Data, "login", "userErrors").([]any); len(errs) > 0 {
					code, _ = dig(errs[0], "code").(string)
				}
				if len(resp.Errors) > 0 {
					t.Fatalf("sign in %s: %+v", email, resp.Errors)
				}
				return token, code
			}
			for _, email := range []string{"bea@example.com", "dan@example.com"} {
				d, _ := s.store.DomainBySlug(ctx, "acme")
				before, _ := s.store.CustomerByEmail(ctx, d.ID, email)
				if token, code := signIn(email, password); token == "" {
					t.Fatalf("%s cannot sign in with its old password: %s", email, code)
				}
				after, _ := s.store.CustomerByEmail(ctx, d.ID, email)
				if !strings.HasPrefix(after.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") || after.Version != before.Version ||
					after.SessionEpoch != before.SessionEpoch {
					t.Errorf("%s after the first sign-in: hash %.20s, version %d (was %d), epoch %d (was %d)", email,
						after.PasswordHash, after.Version, before.Version, after.SessionEpoch, before.SessionEpoch)
				}
				if token, code := signIn(email, password); token == "" {
					t.Errorf("%s cannot sign in after the re-hash: %s", email, code)
				}
				if token, _ := signIn(email, password+"x"); token != "" {
					t.Errorf("%s signed in with a wrong password", email)
				}
			}
			if token, code := signIn("nora@example.com", ""+password); token != "" || code != "INVALID_CREDENTIALS" {
				t.Errorf("a customer imported without a password: token %q, code %q", token, code)
			}

			exported := filepath.Join(dir, "export.csv")
			if err := runExport(ctx, append(flags, "-domain", "acme", exported), noEnv, &stdout, &stderr); err != nil { // CSV, from the name
				t.Fatal(err)
			}
			out, _ := os.ReadFile(exported)
			if !strings.HasPrefix(string(out), "externalId,firstName,") {
				t.Errorf("export to a .csv file without -format: not CSV:\n%.200s", out)
			}
			if !strings.Contains(string(out), "bea@example.com") || !strings.Contains(string(out), "BEA-1") || strings.Contains(string(out), "$argon2id$") {
				t.Errorf("export:\n%s", out)
			}
			if err := runExport(ctx, append(flags, "-domain", "acme", exported), noEnv, &stdout, &stderr); err == nil {
				t.Error("export overwrote an existing file")
			}
		})
	}
}

// An import killed part-way (SIGKILL: no chance to clean up; SIGINT: it
// stops between batches), then run again, leaves what one uninterrupted run
// leaves.
func TestInterruptedImportRerunEqualsOneRun(t *testing.T) {
	for _, kind := range commandStores {
		for _, sig := range []os.Signal{os.Kill, os.Interrupt} {
			t.Run(kind.name+"/"+sig.String(), func(t *testing.T) {
				ctx := context.Background()
				noEnv := func(string) string { return "" }
				total := 4000
				if kind.name == "mongo" {
					total = 600 // FerretDB writes about 50 customers with their devices a second here
				}
				file := filepath.Join(t.TempDir(), "users.jsonl")
				if err := writeSeedFile(ctx, file, total, 0, testPassword, io.Discard); err != nil {
					t.Fatal(err)
				}
				stores := map[string][]string{}
				for _, name := range []string{"interrupted", "whole"} {
					flags, _ := kind.store(t)
					stores[name] = flags
					if out, err := runCreateOperatorTest(t, flags, testPassword, "-domain", "acme", "-domain-name", "Acme",
						"-email", "admin@acme.example", "-name", "Ann Admin", "-role", "ADMIN"); err != nil {
						t.Fatalf("create acme: %v (%s)", err, out)
					}
				}
				if err := runImport(ctx, append(stores["whole"], "-domain", "acme", file), noEnv, nil, io.Discard, io.Discard); err != nil {
					t.Fatal(err)
				}

				// Small batches, so that the import is still running when the
				// polling below sees its first tenth (with batches of 100 a
				// loaded CI machine once saw it end first).
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				var output bytes.Buffer
				cmd.Stdout, cmd.Stderr = &output, &output
				cmd.Env = append(os.Environ(), "BFF_TEST_MAIN=1", "BFF_TEST_ARGS=import "+strings.Join(stores["interrupted"], " ")+" -domain acme -batch 10 "+file)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				fs := flagSet("count")
				cfg := storeFlags(fs, noEnv)
				_ = fs.Parse(stores["interrupted"])
				count := func(running bool) int64 {
					if running && kind.name == "sqlite" {
						// Read-only, as an onlooker: a store opened to write would
						// put the import's file back in WAL mode (sqlite.DirLocked).
						return countReadOnly(filepath.Join(cfg.DataDir, sqlite.FileName))
					}
					st, err := openStore(ctx, *cfg, commandLog(), false)
					if err != nil {
						return 0
					}
					defer st.Close(ctx)
					d, err := st.DomainBySlug(ctx, "acme")
					if err != nil {
						return 0
					}
					n, _ := st.CountCustomers(ctx, d.ID)
					return n
				}
				deadline := time.Now().Add(time.Minute)
				if kind.name == "sqlite" {
					// Not a connection before the import has left WAL mode:
					// one open then keeps the file in WAL mode (leaveWAL), by
					// design. The header says when it has.
					for rollback, _ := sqlite.InRollbackMode(filepath.Join(cfg.DataDir, sqlite.FileName)); !rollback && time.Now().Before(deadline); {
						time.Sleep(5 * time.Millisecond)
						rollback, _ = sqlite.InRollbackMode(filepath.Join(cfg.DataDir, sqlite.FileName))
					}
				}
				for count(true) < int64(total/10) && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				_ = cmd.Process.Signal(sig)
				_ = cmd.Wait()
				// Ctrl-C says the import was interrupted and how to finish it,
				// not what the store answered as it was cut off, and no summary
				// reads as a success.
				if said := output.String(); sig == os.Interrupt &&
					(!strings.Contains(said, "import interrupted after") || !strings.Contains(said, "run the same command again") || strings.Contains(said, "imported into")) {
					t.Errorf("after Ctrl-C the import said:\n%s", said)
				}
				// With the directory to itself the import writes with a rollback
				// journal: a killed import leaves the file in that mode (and
				// perhaps a journal, which the next open rolls back).
				if kind.name == "sqlite" {
					rollback, err := sqlite.InRollbackMode(filepath.Join(cfg.DataDir, sqlite.FileName))
					if want := sig == os.Kill; err != nil || rollback != want {
						t.Errorf("the store in rollback-journal mode after the import was stopped by %v: %v (%v), want %v", sig, rollback, err, want)
					}
				}
				done := count(false)
				if done == 0 || done >= int64(total) {
					t.Fatalf("%d customers when the import was stopped: not part-way", done)
				}
				var stdout strings.Builder
				if err := runImport(ctx, append(stores["interrupted"], "-domain", "acme", file), noEnv, nil, &stdout, io.Discard); err != nil {
					t.Fatal(err)
				}
				// MongoDB has no all-or-none batch: a process killed between a
				// batch's customers and their devices leaves devices to add.
				mayUpdate := kind.name == "mongo" && sig == os.Kill
				if (!mayUpdate && !strings.Contains(stdout.String(), " 0 updated, ")) || !strings.Contains(stdout.String(), " 0 rejected") {
					t.Errorf("the rerun after %d of %d: %s", done, total, stdout.String())
				}
				exported := map[string]string{}
				for name, flags := range stores {
					path := filepath.Join(t.TempDir(), name+".jsonl")
					if err := runExport(ctx, append(flags, "-domain", "acme", "-include-password-hashes", path), noEnv, io.Discard, io.Discard); err != nil {
						t.Fatal(err)
					}
					b, _ := os.ReadFile(path)
					lines := strings.Split(strings.TrimSpace(string(b)), "\n")
					slices.Sort(lines)
					exported[name] = strings.Join(lines, "\n")
				}
				if exported["interrupted"] != exported["whole"] {
					t.Errorf("stopped after %d and run again differs from one run", done)
				}
				t.Logf("stopped after %d of %d; the rerun: %s", done, total, strings.TrimSpace(stdout.String()))
			})
		}
	}
}

// countReadOnly returns the number of customers in the SQLite file at path,
// read through a read-only connection, or 0 if it cannot be read now.
func countReadOnly(path string) int64 {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(100)")
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int64
	_ = db.QueryRow(`SELECT COUNT(*) FROM customers`).Scan(&n)
	return n
}

// An import into the embedded store holds the data directory's lock while it
// runs when no server does (it then writes large batches, and a server
// started meanwhile is refused), and imports between a running server's
// writes, without the lock, when one does.
func TestImportTakesTheDataDirectoryLockWhenFree(t *testing.T) {
	dir := t.TempDir()
	exclusive, unlock, err := lockForImport(config{DataDir: dir}, false)
	if err != nil || !exclusive {
		t.Fatalf("lockForImport on a free directory: %v, %v; want the lock", exclusive, err)
	}
	if _, err := sqlite.LockDir(dir); !errors.Is(err, sqlite.ErrDirInUse) {
		t.Fatalf("a server started during the import: %v, want %v", err, sqlite.ErrDirInUse)
	}
	unlock()
	serverUnlock, err := sqlite.LockDir(dir) // a server runs on it
	if err != nil {
		t.Fatal(err)
	}
	defer serverUnlock()
	if exclusive, unlock, err := lockForImport(config{DataDir: dir}, false); err != nil || exclusive {
		t.Fatalf("lockForImport beside a running server: %v, %v; want to import without the lock", exclusive, err)
	} else {
		unlock()
	}
	for _, cfg := range []config{{DataDir: t.TempDir(), MongoURI: "mongodb://localhost"}} {
		if exclusive, _, err := lockForImport(cfg, false); err != nil || exclusive {
			t.Errorf("lockForImport on MongoDB: %v, %v; want nothing locked", exclusive, err)
		}
	}
	if exclusive, _, err := lockForImport(config{DataDir: t.TempDir()}, true); err != nil || exclusive {
		t.Errorf("lockForImport for a dry run: %v, %v; want nothing locked", exclusive, err)
	}
}

// An import or export pointed at a data directory that holds no store (a
// mistyped -data-dir) says so, and creates nothing there.
func TestImportAndExportRefuseADirectoryWithoutAStore(t *testing.T) {
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	file := filepath.Join(t.TempDir(), "users.jsonl")
	if err := os.WriteFile(file, []byte(`{"firstName":"Ann","lastName":"Lee","email":"ann@example.com"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func(dir string) error{
		"import": func(dir string) error {
			return runImport(ctx, []string{"-data-dir", dir, "-domain", "acme", file}, noEnv, nil, io.Discard, io.Discard)
		},
		"export": func(dir string) error {
			return runExport(ctx, []string{"-data-dir", dir, "-domain", "acme", filepath.Join(t.TempDir(), "out.jsonl")}, noEnv, io.Discard, io.Discard)
		},
	} {
		dir := filepath.Join(t.TempDir(), "typo")
		err := run(dir)
		if err == nil || !strings.Contains(err.Error(), "no store in "+dir) {
			t.Errorf("%s into a directory without a store: %v, want it to say there is no store", name, err)
		}
		if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
			t.Errorf("%s created %s: %v", name, dir, statErr)
		}
	}
}

// -domain takes a domain as sign-in does (domains.Find): its slug in any
// case or in full-width letters, or its display name; a -format that the file's name
// contradicts is refused before anything is read or written; and each
// mistake of the command line is named alone. (A tryout's "-domain ACME"
// found no domain, "-format jsonl x.csv" wrote JSON Lines into a .csv file,
// and "-batch -5" was told -domain was required too.)
func TestImportAndExportCommandLines(t *testing.T) {
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	dir := newAcmeDataDir(t)
	file := writeTempFile(t, "users.jsonl", `{"firstName":"Ann","lastName":"Lee","email":"ann@example.com"}`+"\n")
	for _, domain := range []string{"acme", "ACME", " Acme ", "ａｃｍｅ"} {
		var out strings.Builder
		if err := runImport(ctx, []string{"-data-dir", dir, "-domain", domain, file}, noEnv, nil, &out, io.Discard); err != nil {
			t.Errorf("import -domain %q: %v", domain, err)
		}
		if err := runExport(ctx, []string{"-data-dir", dir, "-domain", domain, filepath.Join(t.TempDir(), "out.jsonl")}, noEnv, io.Discard, io.Discard); err != nil {
			t.Errorf("export -domain %q: %v", domain, err)
		}
	}
	for _, c := range []struct {
		run  func() error
		want string
	}{
		{func() error {
			return runExport(ctx, []string{"-data-dir", dir, "-domain", "acme", filepath.Join(t.TempDir(), "x.txt")}, noEnv, io.Discard, io.Discard)
		}, "the file's name does not end in .csv, .jsonl or .ndjson: give -format"},
		{func() error {
			return runImport(ctx, []string{"-data-dir", dir, "-domain", "acme", "-"}, noEnv, strings.NewReader(""), io.Discard, io.Discard)
		}, "standard input has no name to tell its format: give -format"},
	} {
		if err := c.run(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
	}
	const noDomain = `no domain "nope" (by its slug, in any case, or its display name)`
	if err := runImport(ctx, []string{"-data-dir", dir, "-domain", "nope", file}, noEnv, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), noDomain) {
		t.Errorf("import -domain nope: %v, want %q", err, noDomain)
	}
	if err := runExport(ctx, []string{"-data-dir", dir, "-domain", "nope"}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), noDomain) {
		t.Errorf("export -domain nope: %v, want %q", err, noDomain)
	}
	mismatched := filepath.Join(t.TempDir(), "x.csv")
	if err := runExport(ctx, []string{"-data-dir", dir, "-domain", "acme", "-format", "jsonl", mismatched}, noEnv, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "the file's name says CSV") {
		t.Errorf("export -format jsonl x.csv: %v, want a refusal", err)
	}
	if _, err := os.Stat(mismatched); !os.IsNotExist(err) {
		t.Errorf("the refused export wrote %s (%v)", mismatched, err)
	}
	if err := runImport(ctx, []string{"-data-dir", dir, "-domain", "acme", "-format", "csv", file}, noEnv, nil, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "the file's name says JSONL") {
		t.Errorf("import -format csv users.jsonl: %v, want a refusal", err)
	}
	for args, want := range map[string]string{
		"-batch -5 -domain acme": "-batch must not be negative",
		"-batch 5":               "-domain is required",
	} {
		err := runImport(ctx, append(append([]string{"-data-dir", dir}, strings.Fields(args)...), file), noEnv, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "-") != strings.Count(want, "-") {
			t.Errorf("import %s: %v, want it to say %q alone", args, err, want)
		}
	}
}

// newAcmeDataDir returns a new data directory whose embedded store holds the
// domain acme and its ADMIN.
func newAcmeDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := runCreateOperatorTest(t, []string{"-data-dir", dir}, testPassword, "-domain", "acme", "-domain-name", "Acme",
		"-email", "admin@acme.example", "-name", "Ann Admin", "-role", "ADMIN"); err != nil {
		t.Fatalf("create acme: %v (%s)", err, out)
	}
	return dir
}

// annAndABadEmail is a JSON Lines file of a good record and a reject.
const annAndABadEmail = `{"firstName":"Ann","lastName":"Lee","email":"ann@example.com"}` + "\n" +
	`{"firstName":"Bad","lastName":"Email","email":"not-an-email"}` + "\n"

// writeTempFile writes text to a new file name in a new directory and
// returns its path.
func writeTempFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Import refuses a rejects file that is the file being imported (under
// another name too) or a file of the store's data directory, dry run or
// not, saying so, and leaves both as they were.
func TestImportRefusesARejectsFileThatWouldDestroyData(t *testing.T) {
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	dir := newAcmeDataDir(t)
	records := annAndABadEmail
	input := writeTempFile(t, "users.jsonl", records)
	link := filepath.Join(t.TempDir(), "same.jsonl")
	if err := os.Link(input, link); err != nil {
		t.Fatal(err)
	}
	storeFile := filepath.Join(dir, sqlite.FileName)
	storeBefore, err := os.ReadFile(storeFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ rejects, want string }{
		{input, "the file being imported"}, {link, "the file being imported"}, {storeFile, "data directory"},
	} {
		for _, dryRun := range []bool{true, false} {
			args := []string{"-data-dir", dir, "-domain", "acme", "-rejects", tc.rejects, input}
			if dryRun {
				args = append([]string{"-dry-run"}, args...)
			}
			if err := runImport(ctx, args, noEnv, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("-rejects %s (dry run %v): %v, want a refusal saying %q", tc.rejects, dryRun, err, tc.want)
			}
			if got, _ := os.ReadFile(input); string(got) != records {
				t.Fatalf("-rejects %s (dry run %v) changed the input: %q", tc.rejects, dryRun, got)
			}
			if got, _ := os.ReadFile(storeFile); !bytes.Equal(got, storeBefore) {
				t.Fatalf("-rejects %s (dry run %v) changed the store's file", tc.rejects, dryRun)
			}
		}
	}
	// A name that says the other format: the rejects of a JSON Lines import
	// are JSON lines, and a .csv file is as likely an earlier export.
	export := writeTempFile(t, "export.csv", "email\nkeep@example.com\n")
	if err := runImport(ctx, []string{"-data-dir", dir, "-domain", "acme", "-rejects", export, input}, noEnv, nil, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "name it .jsonl") {
		t.Errorf("-rejects %s for a JSON Lines import: %v, want a refusal naming the format", export, err)
	}
	if got, _ := os.ReadFile(export); string(got) != "email\nkeep@example.com\n" {
		t.Errorf("the refused rejects file was changed: %q", got)
	}
	if got, _ := os.ReadFile(storeFile); !bytes.Equal(got, storeBefore) {
		t.Fatal("a refused rejects file's import changed the store's file")
	}
	rejects := filepath.Join(t.TempDir(), "rejects.jsonl")
	if err := runImport(ctx, []string{"-data-dir", dir, "-domain", "acme", "-rejects", rejects, input}, noEnv, nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("a rejects file elsewhere: %v", err)
	}
	if got, _ := os.ReadFile(rejects); !strings.HasPrefix(string(got), `{"line":2,"reason":`) {
		t.Errorf("the rejects file: %q", got)
	}
}

// No command writes a file of its own into the store's data directory, under
// any name, existing or not: a new file named as SQLite's log
// (bff.sqlite-wal) was taken for the database's at the next open, and the
// store was lost (a tryout's -rejects). The store opens and exports after
// each refusal, and the directory holds the same files.
func TestCommandsRefuseToWriteIntoTheDataDirectory(t *testing.T) {
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	dir := newAcmeDataDir(t)
	records := annAndABadEmail
	input := writeTempFile(t, "users.jsonl", records)
	if err := runImport(ctx, []string{"-data-dir", dir, "-domain", "acme", input}, noEnv, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	files := func() []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	before := files()
	elsewhere := t.TempDir()
	links := map[string]func(string) error{
		"symlink to the database":   func(p string) error { return os.Symlink(filepath.Join(dir, sqlite.FileName), p) },
		"symlink to a new log":      func(p string) error { return os.Symlink(filepath.Join(dir, sqlite.FileName+"-wal"), p) },
		"hard link to the database": func(p string) error { return os.Link(filepath.Join(dir, sqlite.FileName), p) },
	}
	var paths []string
	for _, name := range []string{sqlite.FileName + "-wal", sqlite.FileName + "-journal", "rejects.jsonl"} { // .jsonl: a name seed takes
		paths = append(paths, filepath.Join(dir, name))
	}
	for name, link := range links { // a link elsewhere (a dry run too wrote the rejects through one)
		path := filepath.Join(elsewhere, strings.ReplaceAll(name, " ", "-"))
		if err := link(path); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	for _, path := range paths {
		name := path
		for command, run := range map[string]func() error{
			"import -rejects": func() error {
				return runImport(ctx, []string{"-data-dir", dir, "-domain", "acme", "-rejects", path, input}, noEnv, nil, io.Discard, io.Discard)
			},
			"export": func() error {
				return runExport(ctx, []string{"-data-dir", dir, "-domain", "acme", "-format", "jsonl", path}, noEnv, io.Discard, io.Discard)
			},
			"backup": func() error { return runBackup(ctx, []string{"-data-dir", dir, path}, noEnv, io.Discard) },
			"seed -file": func() error {
				return runSeed(ctx, []string{"-data-dir", dir, "-n", "1", "-file", path}, noEnv, io.Discard)
			},
			"import -dry-run -rejects": func() error {
				return runImport(ctx, []string{"-dry-run", "-data-dir", dir, "-domain", "acme", "-rejects", path, input}, noEnv, nil, io.Discard, io.Discard)
			},
		} {
			storeBefore, err := os.ReadFile(filepath.Join(dir, sqlite.FileName))
			if err != nil {
				t.Fatal(err)
			}
			if err := run(); err == nil || !strings.Contains(err.Error(), "data directory") && !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("%s to %s: %v, want a refusal naming the data directory or the link", command, name, err)
			}
			if got := files(); !slices.Equal(got, before) {
				t.Fatalf("%s to %s: the data directory holds %v, before %v", command, name, got, before)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, sqlite.FileName)); !bytes.Equal(got, storeBefore) {
				t.Fatalf("%s to %s changed the store's database", command, name)
			}
			var out bytes.Buffer
			if err := runExport(ctx, []string{"-data-dir", dir, "-domain", "acme"}, noEnv, &out, io.Discard); err != nil || !strings.Contains(out.String(), "ann@example.com") {
				t.Fatalf("after %s to %s the store exports %q: %v", command, name, out.String(), err)
			}
		}
	}
}

// An import's audit record is the domain's (its admins read it in the audit
// log), also when the import was stopped mid-way.
func TestImportIsAuditedInItsDomain(t *testing.T) {
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	dir := newAcmeDataDir(t)
	input := writeTempFile(t, "users.jsonl", `{"firstName":"Ann","lastName":"Lee","email":"ann@example.com"}`+"\n")
	if err := runImport(ctx, []string{"-data-dir", dir, "-domain", "acme", input}, noEnv, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var more strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&more, `{"firstName":"Bo","lastName":"Lee","email":"bo%d@example.com"}`+"\n", i)
	}
	cancelled, cancel := context.WithCancel(ctx)
	stdin := &cancellingReader{r: strings.NewReader(more.String()), after: more.Len() / 2, cancel: cancel} // Ctrl-C half-way
	if err := runImport(cancelled, []string{"-data-dir", dir, "-domain", "acme", "-format", "jsonl", "-"}, noEnv, stdin, io.Discard, io.Discard); err == nil {
		t.Fatal("an import cancelled half-way succeeded")
	}
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	d, err := st.DomainBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.FindAudit(ctx, audit.Query{DomainID: d.ID, Action: audit.ActionUsersImported, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ActorID != "import" || recs[0].DomainID != d.ID || !strings.Contains(recs[0].Reason, "stopped before the end") ||
		!strings.Contains(recs[1].Reason, "1 created") {
		t.Errorf("the domain's import records: %+v, want the stopped one, then the one that created Ann", recs)
	}
}

// cancellingReader reads r and calls cancel once after bytes have been read.
type cancellingReader struct {
	r      io.Reader
	read   int
	after  int
	cancel func()
}

func (c *cancellingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if c.read < c.after && c.read+n >= c.after {
		c.cancel()
	}
	c.read += n
	return n, err
}

// A command that opens the embedded store while another process holds its
// data directory (a server, an import that deferred the search index) leaves
// deriving the search tokens again to that holder: deriving them under a
// running import slowed it down several times over. With the directory
// free, the command derives them itself.
func TestCommandsLeaveTheReindexToTheDataDirectorysHolder(t *testing.T) {
	ctx := context.Background()
	noEnv := func(string) string { return "" }
	dir := t.TempDir()
	if out, err := runCreateOperatorTest(t, []string{"-data-dir", dir}, "tulip-lantern-orbit-42", "-domain", "acme", "-domain-name", "Acme Heating",
		"-role", "ADMIN", "-email", "alex@acme.example", "-name", "Alex Admin"); err != nil {
		t.Fatalf("create-operator: %v (%s)", err, out)
	}
	rules := func() int {
		st, err := sqlite.Open(ctx, dir) // as it is, without openStore's reindexing
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close(ctx)
		r, err := st.SearchTokenRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSearchTokenRules(ctx, 1); err != nil { // as older rules left it
		t.Fatal(err)
	}
	_ = st.Close(ctx)
	export := func() {
		t.Helper()
		if err := runExport(ctx, []string{"-data-dir", dir, "-domain", "acme", filepath.Join(t.TempDir(), "out.jsonl")}, noEnv, io.Discard, io.Discard); err != nil {
			t.Fatalf("export: %v", err)
		}
	}
	unlock, err := sqlite.LockDir(dir) // the holder
	if err != nil {
		t.Fatal(err)
	}
	export()
	if r := rules(); r != 1 {
		t.Errorf("an export beside the directory's holder derived the search tokens (rules %d), want them left to the holder (1)", r)
	}
	unlock()
	export()
	if r := rules(); r != customers.TokenRules {
		t.Errorf("an export of a free directory left the rules at %d, want %d", r, customers.TokenRules)
	}
}

// A seed file stopped midway leaves nothing under its name, nor beside it:
// an import would take a part of it for the whole (exports and backups
// take their names the same way, internal/newfile).
func TestStoppedSeedFileLeavesNoFile(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if err := writeSeedFile(ctx, filepath.Join(dir, "customers.jsonl"), 20000, 0, testPassword, io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("seed file with its context cancelled: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in the directory: %v", left)
	}
}
