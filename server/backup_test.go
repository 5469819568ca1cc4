package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/loadgen"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// runCommand runs the program with args and no environment, as main
// would, and returns what it printed on standard output.
func runCommand(args ...string) (string, error) {
	var out strings.Builder
	err := run(context.Background(), args, func(string) string { return "" }, &out, io.Discard)
	return out.String(), err
}

// `server backup` copies the store of a server that goes on serving and
// writing: every customer whose creation was acknowledged before the
// command started is in the copy, and the copy passes the integrity check.
func TestBackupWhileServing(t *testing.T) {
	s := startTest(t, nil)
	ctx := context.Background()
	token := s.login(t, demo.SupportEmail)
	d, err := s.store.DomainBySlug(ctx, demo.Slug)
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		acked     []string // emails of the customers created
		backingUp atomic.Bool
		during    atomic.Int64
		failed    atomic.Value
		wg        sync.WaitGroup
	)
	writing, stop := context.WithCancel(ctx)
	for w := range 3 {
		wg.Go(func() {
			client := loadgen.NewClient(s.URL(), 1)
			client.Token = token
			for n := 0; writing.Err() == nil; n++ {
				email := fmt.Sprintf("backup-w%d-%d@example.com", w, n)
				var out struct {
					CreateCustomer struct {
						Customer   *struct{ ID string }
						UserErrors []struct{ Message string }
					}
				}
				err := client.Do(writing, createCustomerMutation, map[string]any{"in": map[string]any{
					"firstName": "Backup", "lastName": fmt.Sprintf("Writer%d", w), "email": email,
					"password": customerPassword, "confirmPassword": customerPassword}}, &out)
				if writing.Err() != nil {
					return
				}
				if err == nil && out.CreateCustomer.Customer == nil {
					err = fmt.Errorf("refused: %+v", out.CreateCustomer.UserErrors)
				}
				if err != nil {
					failed.Store(fmt.Errorf("create %s: %w", email, err))
					return
				}
				if backingUp.Load() {
					during.Add(1)
				}
				mu.Lock()
				acked = append(acked, email)
				mu.Unlock()
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 10 || failed.Load() != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()

	copyDir := t.TempDir()
	file := filepath.Join(copyDir, sqlite.FileName)
	backingUp.Store(true)
	out, err := runCommand("backup", "-data-dir", s.cfg.DataDir, file)
	backingUp.Store(false)
	time.Sleep(200 * time.Millisecond) // the server goes on serving
	stop()
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if len(before) == 0 {
		t.Fatal("no customer was created before the backup: the test proves little")
	}
	if !strings.Contains(out, "written to "+file) || !strings.Contains(out, "MiB") || !strings.Contains(out, "integrity check ok") {
		t.Fatalf("backup printed %q", out)
	}
	if _, err := runCommand("backup", "-data-dir", s.cfg.DataDir, file); err == nil || !strings.Contains(err.Error(), "is never overwritten") {
		t.Fatalf("a second backup to the same file: %v, want a refusal", err)
	}
	if _, err := runCommand("backup", "-data-dir", s.cfg.DataDir, "-"); err == nil || !strings.Contains(err.Error(), "not written to standard output") {
		t.Fatalf("a backup to -: %v, want a refusal", err)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Fatal("a backup to - wrote a file named -")
	}

	cp, err := sqlite.Open(ctx, copyDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close(ctx)
	for _, email := range before {
		if _, err := cp.CustomerByEmail(ctx, d.ID, email); err != nil {
			t.Fatalf("customer %s, created before the backup, is not in it: %v", email, err)
		}
	}
	n, _ := cp.CountCustomers(ctx, d.ID)
	t.Logf("%s(%d customers in the copy; %d created before the backup, %d during it, %d in all)",
		out, n, len(before), during.Load(), len(acked))
}

// A server holds its data directory: `server restore` into it is refused
// (exit status 1, saying a server is using it) and so is a second server;
// once the server is stopped, the restore replaces its database and a
// server started on it serves the backup's data, not the replaced data.
func TestRestoreRefusedWhileServingThenServed(t *testing.T) {
	ctx := context.Background()
	src := addCustomer(t, startTest(t, nil)) // the demo domain and Casey
	backup := filepath.Join(t.TempDir(), "nightly.sqlite")
	if _, err := runCommand("backup", "-data-dir", src.cfg.DataDir, backup); err != nil {
		t.Fatal(err)
	}
	srcDomain, _ := src.store.DomainBySlug(ctx, demo.Slug)
	want, err := src.store.CountCustomers(ctx, srcDomain.ID)
	if err != nil {
		t.Fatal(err)
	}

	dst := startTest(t, nil)
	dstDomain, _ := dst.store.DomainBySlug(ctx, demo.Slug)
	replaced := storetest.NewCustomer(dstDomain, "Replaced", "Customer", "replaced@example.com", "")
	if err := dst.store.ImportCustomers(ctx, []customers.Customer{replaced}, nil); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BFF_TEST_MAIN=1", "BFF_TEST_ARGS=restore "+backup+" -data-dir "+dst.cfg.DataDir)
	output, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 || !strings.Contains(string(output), "a server is using "+dst.cfg.DataDir) {
		t.Fatalf("restore while a server serves: %v, %s", err, output)
	}
	if _, err := dst.store.CustomerByID(ctx, replaced.ID); err != nil {
		t.Fatalf("the refused restore changed the served database: %v", err)
	}

	second := dst.cfg
	second.InstanceID = ids.New()
	if srv, err := start(ctx, second, clock.System(), zerolog.Nop(), io.Discard); err == nil {
		_ = srv.shutdown(ctx)
		t.Fatal("a second server started on a data directory in use")
	} else if !strings.Contains(err.Error(), "another server is using the data directory") {
		t.Fatalf("a second server on the same data directory: %v", err)
	}

	if err := dst.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := runCommand("restore", "-data-dir", dst.cfg.DataDir, backup)
	if err != nil {
		t.Fatalf("restore into the stopped server's directory: %v", err)
	}
	t.Log(strings.TrimSpace(out))
	if strings.Contains(out, "did not exist") {
		t.Errorf("restore into an existing directory says it created it: %s", out)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	if out, err := runCommand("restore", "-data-dir", fresh, backup); err != nil || !strings.Contains(out, fresh+" did not exist: created it") {
		t.Errorf("restore into a new directory: %q %v, want it said (a mistyped -data-dir shows)", out, err)
	}

	restarted := startTest(t, func(c *config) { c.DataDir = dst.cfg.DataDir })
	support := restarted.login(t, demo.SupportEmail)
	resp := restarted.post(t, support, `{ customers(query: "") { totalCount } }`, nil)
	if got := dig(resp.Data, "customers", "totalCount"); got != float64(want) {
		t.Fatalf("the restored server counts %v customers, want the backup's %d: %+v", got, want, resp)
	}
	resp = restarted.post(t, support, `{ customers(query: "casey customer") { totalCount edges { node { email } } } }`, nil)
	if edges, _ := dig(resp.Data, "customers", "edges").([]any); len(edges) != 1 || dig(edges[0], "node", "email") != customerEmail {
		t.Fatalf("the restored server's search for the backup's customer: %+v", resp)
	}
	if _, err := restarted.store.CustomerByID(ctx, replaced.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("the replaced database's customer after the restore: %v, want not found", err)
	}
}

// `server restore` refuses, changing nothing in the data directory, a file
// that is not a SQLite database and a SQLite database that is not this
// service's; and a command line without exactly one file.
func TestRestoreRefusesWhatIsNoBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	storetest.NewDomain(t, st)
	_ = st.Close(ctx)
	if unlock, err := sqlite.LockDir(dir); err != nil { // the lock file, as a server leaves it
		t.Fatal(err)
	} else {
		unlock()
	}
	state := func() string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, e := range entries {
			content, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			fmt.Fprintf(&b, "%s %x\n", e.Name(), sha256.Sum256(content))
		}
		return b.String()
	}
	before := state()

	notes := filepath.Join(t.TempDir(), "notes.sqlite")
	if err := os.WriteFile(notes, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(t.TempDir(), "foreign.sqlite")
	db, err := sql.Open("sqlite", "file:"+foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT)`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	for _, tt := range []struct {
		file, want string
	}{
		{notes, "not a SQLite database"},
		{foreign, "no schema_migrations table"},
	} {
		_, err := runCommand("restore", tt.file, "-data-dir", dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "left as it was") {
			t.Fatalf("restore %s: %v, want a refusal saying %q", filepath.Base(tt.file), err, tt.want)
		}
		if state() != before {
			t.Fatalf("the refused restore of %s changed %s", filepath.Base(tt.file), dir)
		}
	}
	for _, args := range [][]string{{"restore", "-data-dir", dir}, {"restore", notes, foreign, "-data-dir", dir}, {"backup", "-data-dir", dir}} {
		if _, err := runCommand(args...); err == nil || !strings.Contains(err.Error(), "name one file") {
			t.Fatalf("%v: %v, want a bad command line", args, err)
		}
	}
	if _, err := runCommand("backup", "-data-dir", dir, "-mongodb-uri", "mongodb://localhost/x", filepath.Join(t.TempDir(), "b")); err == nil ||
		!strings.Contains(err.Error(), "mongodump") {
		t.Fatalf("backup with a MongoDB URI: %v, want a refusal naming mongodump", err)
	}
}
