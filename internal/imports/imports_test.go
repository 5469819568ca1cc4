package imports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/imports"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/passwords/passwordstest"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/mongo"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/sqlite"
)

// The embedded store derives the tokens an import into it leaves out while
// its load defers the index.
var _ imports.SearchTokenDeriver = (*sqlite.Store)(nil)

// importedPassword is every fixture customer's password.
const importedPassword = "imported ünïcode staple"

var storeKinds = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"sqlite", func(t *testing.T) store.Store {
		st, err := sqlite.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close(context.Background()) })
		return st
	}},
	// The embedded store when the import holds its data directory's lock
	// (server import without a server running): a load into it while empty
	// builds its key indexes at the end, so the importer alone keeps keys
	// unique meanwhile (imports.KeyIndexDeferrer).
	{"sqlite-exclusive", func(t *testing.T) store.Store {
		st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.DirLocked())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close(context.Background()) })
		return st
	}},
	{"mongo", func(t *testing.T) store.Store {
		st, err := mongo.Open(context.Background(), mongotest.URI(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close(context.Background()) })
		return st
	}},
}

// fixture is a store with one domain, "acme" (region GB).
type fixture struct {
	st     store.Store
	domain domains.Domain
	svc    *customers.Service
	hasher *passwords.Hasher
}

func newFixture(t *testing.T, open func(t *testing.T) store.Store) *fixture {
	st := open(t)
	d := domains.Domain{ID: ids.New(), Slug: "acme", Name: "Acme", DefaultRegion: "GB", CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := st.CreateDomain(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	policy, _ := passwords.NewPolicy(passwords.DefaultMinLength)
	hasher := passwords.NewHasher(passwords.OWASP, 2, time.Minute)
	return &fixture{st: st, domain: d, svc: customers.NewService(st, hasher, policy, time.Now), hasher: hasher}
}

// run imports text in format f and returns the counts and the rejects by line.
func (f *fixture) run(t *testing.T, text string, format imports.Format, dryRun bool) (imports.Counts, map[int]string) {
	t.Helper()
	return f.runOn(t, f.st, text, format, func(im *imports.Importer) { im.DryRun = dryRun })
}

// runOn is run through st (f.st, or a store around it), in batches of 4
// unless adjust, given the importer before it runs, says otherwise.
func (f *fixture) runOn(t *testing.T, st store.Store, text string, format imports.Format, adjust func(*imports.Importer)) (imports.Counts, map[int]string) {
	t.Helper()
	r, err := imports.NewReader(strings.NewReader(text), format)
	if err != nil {
		t.Fatal(err)
	}
	svc := f.svc
	if st != f.st {
		policy, _ := passwords.NewPolicy(passwords.DefaultMinLength)
		svc = customers.NewService(st, f.hasher, policy, time.Now)
	}
	rejects := map[int]string{}
	im := &imports.Importer{Store: st, Customers: svc, Domain: f.domain, Actor: audit.Actor{Type: audit.ActorSystem, ID: "import", DomainID: f.domain.ID},
		Now: time.Now, BatchSize: 4,
		Reject: func(rec imports.Record, reason string) error { rejects[rec.Line] = reason; return nil }}
	adjust(im)
	counts, err := im.Run(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return counts, rejects
}

func (f *fixture) customer(t *testing.T, email string) customers.Customer {
	t.Helper()
	c, err := f.st.CustomerByEmail(context.Background(), f.domain.ID, email)
	if err != nil {
		t.Fatalf("customer %s: %v", email, err)
	}
	return c
}

// csvFile writes a CSV import: a BOM, the header, then rows (RFC 4180
// quoting by encoding/csv).
func csvFile(t *testing.T, header []string, rows [][]string) string {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	_ = w.Write(header)
	for _, r := range rows {
		_ = w.Write(r)
	}
	w.Flush()
	return b.String()
}

var header = []string{"externalId", "firstName", "lastName", "email", "phone", "status", "createdAt", "passwordHash",
	"device1.serialNumber", "device1.macAddress", "device1.name", "device1.model", "device2.serialNumber", "device2.model"}

// row is a valid record of header's columns; change sets some of them.
func row(n int, hash string, change map[string]string) []string {
	values := map[string]string{"externalId": fmt.Sprintf("ext-%d", n), "firstName": "First", "lastName": fmt.Sprintf("Last%c", 'a'+n%26),
		"email": fmt.Sprintf("person%d@example.com", n), "phone": "+44 20 7946 0" + fmt.Sprintf("%03d", n), "status": "ACTIVE",
		"createdAt": "2023-04-05T06:07:08Z", "passwordHash": hash, "device1.serialNumber": fmt.Sprintf("SN-%d-1", n), "device1.model": "Thermostat T1"}
	for k, v := range change {
		values[k] = v
	}
	out := make([]string, len(header))
	for i, h := range header {
		out[i] = values[h]
	}
	return out
}

// The fixture file: every kind of hash, a BOM, quoted commas and newlines,
// bad records of every kind, duplicates inside the file, and records of
// customers the store already has.
func TestImportCSVEveryKindOfRecord(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			ctx := context.Background()
			existing, err := f.svc.Create(ctx, audit.Actor{Type: audit.ActorSystem, ID: "test"}, f.domain,
				customers.Profile{FirstName: "Ella", LastName: "Existing", Email: "ella@example.com", Phone: "+44 20 7946 0999"}, "ella's own long password", false)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []customers.Profile{
				{FirstName: "Finn", LastName: "Existing", Email: "finn@example.com", Phone: "+44 20 7946 0111"},
				{FirstName: "Gus", LastName: "Existing", Email: "gus@example.com", Phone: "+44 20 7946 0222"},
			} {
				if _, err := f.svc.Create(ctx, audit.Actor{Type: audit.ActorSystem, ID: "test"}, f.domain, p, "their own long password", false); err != nil {
					t.Fatal(err)
				}
			}
			hashes := passwordstest.ForeignHashes(t, importedPassword)
			hashes["own argon2id"] = passwords.Encode(passwords.OWASP, importedPassword)
			names := slices.Sorted(func(yield func(string) bool) {
				for k := range hashes {
					if !yield(k) {
						return
					}
				}
			})
			var rows [][]string
			want := map[string]string{} // email -> hash kind
			for i, name := range names {
				rows = append(rows, row(i, hashes[name], nil))
				want[fmt.Sprintf("person%d@example.com", i)] = name
			}
			n := len(names)
			good := []struct {
				line   int
				change map[string]string
			}{
				{0, map[string]string{"lastName": "Smith, Jr.", "passwordHash": ""}}, // quoted comma; no password
				{0, map[string]string{"externalId": "ella-ext", "email": "ella@example.com", "firstName": "Ella", "lastName": "Existing",
					"phone": "+44 20 7946 0998", "device1.serialNumber": "SN-ELLA"}}, // an update of the existing customer
				{0, map[string]string{"externalId": "", "email": "finn@example.com", "firstName": "Finn", "lastName": "Existing",
					"phone": "+44 20 7946 0111", "device1.serialNumber": "SN-FINN"}}, // another, who gets a device and nothing else
				{0, map[string]string{"externalId": "gus-ext", "email": "gus@example.com", "firstName": "Gus", "lastName": "Existing",
					"phone": "+44 20 7946 0222", "device1.serialNumber": "", "device1.model": ""}}, // and one who gets an external id and nothing else
			}
			for i, g := range good {
				rows = append(rows, row(n+i, "", g.change))
			}
			bad := []struct {
				change map[string]string
				reason string
			}{
				{map[string]string{"email": "not an email"}, "email"},
				{map[string]string{"firstName": "Line\nbreak"}, "firstName"}, // a quoted newline: the record spans two lines
				{map[string]string{"status": "PENDING"}, "status"},
				{map[string]string{"createdAt": "yesterday"}, "createdAt"},
				{map[string]string{"createdAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, "createdAt: in the future"},
				{map[string]string{"createdAt": "0001-01-01T00:00:00Z"}, "createdAt: before 1970"},
				{map[string]string{"passwordHash": "md5$abc$def"}, "passwordHash"},
				{map[string]string{"passwordHash": "$2b$31$" + strings.Repeat("a", 53)}, "passwordHash"},
				{map[string]string{"email": "person0@example.com"}, "the same email as line 2"},
				{map[string]string{"externalId": "ext-1"}, "the same externalId as line 3"},
				{map[string]string{"device1.serialNumber": "SN-0-1"}, "the same serial number as line 2"},
				{map[string]string{"device1.serialNumber": "SN-X", "device2.serialNumber": "sn-x", "device2.model": "M"}, "the same serial number twice"},
				{map[string]string{"device1.macAddress": "zz:zz"}, "device 1: macAddress"},
				{map[string]string{"device1.model": ""}, "device 1: model"},
			}
			for i, b := range bad {
				rows = append(rows, row(n+len(good)+i, "", b.change))
			}
			text := csvFile(t, header, rows) + "too,few,fields\n"

			dry, dryRejects := f.run(t, text, imports.CSV, true)
			counts, rejects := f.run(t, text, imports.CSV, false)
			if dry != counts || len(dryRejects) != len(rejects) {
				t.Errorf("dry run %v (%d rejects), real run %v (%d rejects)", dry, len(dryRejects), counts, len(rejects))
			}
			wantCounts := imports.Counts{Created: n + 1, Updated: 3, Rejected: len(bad) + 1}
			if counts != wantCounts {
				t.Errorf("counts %v, want %v; rejects %v", counts, wantCounts, rejects)
			}
			// Lines: the header is line 1, the BOM changes nothing, the quoted
			// newline makes its record two lines long.
			line := func(i int) int {
				l := i + 2
				if i > n+len(good)+1 {
					l++
				}
				return l
			}
			for i, b := range bad {
				got, ok := rejects[line(n+len(good)+i)]
				if !ok || !strings.Contains(got, b.reason) {
					t.Errorf("record %d (%v): reject %q, want one saying %q", i, b.change, got, b.reason)
				}
				for _, v := range b.change {
					if len(v) > 3 && strings.Contains(got, v) && !strings.Contains(b.reason, v) {
						t.Errorf("reject %q quotes the record's %q", got, v)
					}
				}
			}
			if got := rejects[line(len(rows))]; !strings.Contains(got, "fields") {
				t.Errorf("the short record: %q (rejects %v)", got, rejects)
			}

			for email, kind := range want {
				c := f.customer(t, email)
				if ok, err := f.hasher.Verify(ctx, c.PasswordHash, importedPassword); !ok || err != nil {
					t.Errorf("%s (%s) does not verify its own password: %v %v", email, kind, ok, err)
				}
			}
			smith := f.customer(t, fmt.Sprintf("person%d@example.com", n))
			if smith.LastName != "Smith, Jr." || smith.PasswordHash != "" || smith.CreatedAt.Year() != 2023 {
				t.Errorf("the record with a quoted comma: %+v", smith)
			}
			ella := f.customer(t, "ella@example.com")
			if ella.Phone != "+44 20 7946 0998" || ella.ExternalID != "ella-ext" || ella.PasswordHash != existing.PasswordHash {
				t.Errorf("the existing customer after the import: phone %q, externalId %q, password kept %v",
					ella.Phone, ella.ExternalID, ella.PasswordHash == existing.PasswordHash)
			}
			ds, err := f.st.DevicesByCustomer(ctx, ella.ID)
			if err != nil || len(ds) != 1 || ds[0].SerialNumber != "SN-ELLA" {
				t.Errorf("Ella's devices: %+v %v", ds, err)
			}
			for term, email := range map[string]string{"ext-3": "person3@example.com", "SN-ELLA": "ella@example.com", "SN-FINN": "finn@example.com",
				"ella-ext": "ella@example.com", "gus-ext": "gus@example.com"} {
				page, err := f.svc.Search(ctx, f.domain.ID, customers.SearchRequest{Text: term, First: 5})
				if err != nil || len(page.Hits) != 1 || page.Hits[0].Customer.Email != email {
					t.Errorf("search for %q: %+v %v, want %s", term, page, err, email)
				}
			}

			again, rejected := f.run(t, text, imports.CSV, false)
			if wantAgain := (imports.Counts{Unchanged: n + 4, Rejected: len(bad) + 1}); again != wantAgain {
				t.Errorf("the same file again: %v, want %v (rejects %v)", again, wantAgain, rejected)
			}
			// The email's customer has another external id now: not the same person.
			other, rejected := f.run(t, csvFile(t, header, [][]string{row(99, "", map[string]string{"externalId": "someone-else", "email": "ella@example.com"})}), imports.CSV, false)
			if other.Rejected != 1 || !strings.Contains(rejected[2], "another externalId") {
				t.Errorf("a record with Ella's email and another external id: %v %v", other, rejected)
			}
		})
	}
}

// A JSON Lines file with unreadable lines goes on after them, and an
// interrupted import, run again, ends as one uninterrupted run does.
func TestImportJSONLInterruptedAndRerun(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			var lines []string
			for i := range 30 {
				rec := imports.Record{ExternalID: fmt.Sprint("j", i), CreatedAt: "2024-02-29T12:00:00.5Z", FirstName: "Jay", LastName: fmt.Sprint("Json", i), Email: fmt.Sprintf("j%d@example.org", i),
					PasswordHash: imports.HashText(passwordstest.Bcrypt(t, importedPassword, "$2y$")), Devices: []imports.Device{{SerialNumber: fmt.Sprint("J-", i), Model: "Plug P3", MACAddress: "02:00:00:00:00:" + fmt.Sprintf("%02x", i)}}}
				b, _ := json.Marshal(rec)
				lines = append(lines, string(b))
			}
			lines = slices.Insert(lines, 5, `{"firstName": 3}`, `not json`, `{"email":"x@example.org","unknown":1}`, "")
			text := "\ufeff" + strings.Join(lines, "\r\n") + "\n"

			whole := newFixture(t, kind.open)
			counts, rejects := whole.run(t, text, imports.JSONL, false)
			if counts != (imports.Counts{Created: 30, Rejected: 3}) || !strings.Contains(rejects[6], "firstName") || !strings.Contains(rejects[8], "unknown field") {
				t.Errorf("counts %v, rejects %v", counts, rejects)
			}

			interrupted := newFixture(t, kind.open)
			ctx, cancel := context.WithCancel(context.Background())
			r, _ := imports.NewReader(strings.NewReader(text), imports.JSONL)
			im := &imports.Importer{Store: interrupted.st, Customers: interrupted.svc, Domain: interrupted.domain, Now: time.Now, BatchSize: 7,
				Progress: func(c imports.Counts) {
					if c.Created >= 14 {
						cancel()
					}
				}}
			if _, err := im.Run(ctx, r); !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v", err)
			}
			n, _ := interrupted.st.CountCustomers(context.Background(), interrupted.domain.ID)
			if n == 0 || n == 30 {
				t.Fatalf("after the interruption %d customers, want some", n)
			}
			// Beside a server (every store but the embedded one the import
			// has to itself), the customers written are found at once.
			if kind.name != "sqlite-exclusive" {
				page, err := interrupted.svc.Search(context.Background(), interrupted.domain.ID, customers.SearchRequest{Text: "jay", First: 100})
				if err != nil || int64(len(page.Hits)) != n {
					t.Errorf("after the interruption a search found %d of the %d customers written (%v)", len(page.Hits), n, err)
				}
			}
			rerun, _ := interrupted.run(t, text, imports.JSONL, false)
			if rerun.Created+rerun.Unchanged != 30 || rerun.Updated != 0 {
				t.Errorf("rerun after the interruption: %v", rerun)
			}
			if a, b := exportOf(t, whole, true), exportOf(t, interrupted, true); a != b {
				t.Errorf("interrupted and rerun differs from one run:\n%s\n---\n%s", a, b)
			}
		})
	}
}

// exportOf is the domain's export as JSON Lines, sorted (ids differ between
// stores, so the lines are compared without order).
func exportOf(t *testing.T, f *fixture, withHashes bool) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := imports.Export(context.Background(), f.st, f.domain, &b, imports.JSONL, withHashes); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// Export, then import into an empty store: the same customers, found by the
// same searches, signing in with the same passwords; in both formats.
func TestExportImportRoundTrip(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			src := newFixture(t, kind.open)
			hashes := passwordstest.ForeignHashes(t, importedPassword)
			var rows [][]string
			i := 0
			for _, h := range hashes {
				rows = append(rows, row(i, h, map[string]string{"firstName": []string{"Zoë", "Łukasz", "O'Brien", "Anne-Marie"}[i%4],
					"status": []string{"ACTIVE", "DISABLED"}[i%2], "device2.serialNumber": fmt.Sprint("SN2-", i), "device2.model": "Plug P3"}))
				i++
			}
			if c, _ := src.run(t, csvFile(t, header, rows), imports.CSV, false); c.Created != len(rows) {
				t.Fatalf("source import: %v", c)
			}
			for _, format := range []imports.Format{imports.JSONL, imports.CSV} {
				var file bytes.Buffer
				n, err := imports.Export(context.Background(), src.st, src.domain, &file, format, true)
				if err != nil || n != len(rows) {
					t.Fatalf("export %s: %d %v", format, n, err)
				}
				dst := newFixture(t, kind.open)
				if c, rejects := dst.run(t, file.String(), format, false); c.Created != len(rows) {
					t.Fatalf("import of the %s export: %v %v", format, c, rejects)
				}
				if a, b := exportOf(t, src, true), exportOf(t, dst, true); a != b {
					t.Errorf("%s round trip differs:\n%s\n---\n%s", format, a, b)
				}
				for _, q := range []string{"zoe", "obrien", "lukasz", "ext-2", "person1@", "7946 0003"} {
					a, _ := src.svc.Search(context.Background(), src.domain.ID, customers.SearchRequest{Text: q, First: 50})
					b, _ := dst.svc.Search(context.Background(), dst.domain.ID, customers.SearchRequest{Text: q, First: 50})
					if emailsOf(a) != emailsOf(b) || len(a.Hits) == 0 {
						t.Errorf("search %q: %s before, %s after", q, emailsOf(a), emailsOf(b))
					}
				}
				c := dst.customer(t, "person2@example.com")
				if ok, err := dst.hasher.Verify(context.Background(), c.PasswordHash, importedPassword); !ok || err != nil {
					t.Errorf("after the %s round trip the password does not verify: %v", format, err)
				}
				var noHashes bytes.Buffer
				if _, err := imports.Export(context.Background(), src.st, src.domain, &noHashes, format, false); err != nil || strings.Contains(noHashes.String(), "$2") || strings.Contains(noHashes.String(), "pbkdf2") {
					t.Errorf("an export without -include-password-hashes holds hashes: %v", err)
				}
			}
		})
	}
}

// A CSV export is safe to open in a spreadsheet: a value that would run as
// a formula there gets a leading apostrophe (phone numbers and plain
// numbers do not), and the CSV reader takes it off again, so the export
// imports as the same customers. A file from elsewhere with such an
// apostrophe reads the same way.
func TestCSVExportEscapesFormulas(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			src := newFixture(t, kind.open)
			formulas := []string{"=HYPERLINK(\"http://evil.example\",\"Click\")", "+SUM(A1:A9)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "''=1+1"}
			var rows [][]string
			for i, f := range formulas {
				rows = append(rows, row(i, "", map[string]string{"firstName": f, "device1.name": f}))
			}
			// a file written by a tool that escapes as the export does
			rows = append(rows, row(len(rows), "", map[string]string{"firstName": "'=1+1"}))
			if c, rejects := src.run(t, csvFile(t, header, rows), imports.CSV, false); c.Created != len(rows) {
				t.Fatalf("source import: %v %v", c, rejects)
			}
			if c := src.customer(t, fmt.Sprintf("person%d@example.com", len(formulas))); c.FirstName != "=1+1" {
				t.Fatalf("an escaped value read as %q, want =1+1", c.FirstName)
			}
			var file bytes.Buffer
			if _, err := imports.Export(context.Background(), src.st, src.domain, &file, imports.CSV, false); err != nil {
				t.Fatal(err)
			}
			exported := file.String()
			cells, err := csv.NewReader(strings.NewReader(exported)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range cells[1:] {
				for _, cell := range rec {
					if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) && !strings.HasPrefix(cell, "+44 ") {
						t.Errorf("the export has a cell a spreadsheet would run: %q", cell)
					}
					if strings.HasPrefix(cell, "'+44") {
						t.Errorf("a phone number was escaped: %q", cell)
					}
				}
			}
			dst := newFixture(t, kind.open)
			if c, rejects := dst.run(t, exported, imports.CSV, false); c.Created != len(rows) {
				t.Fatalf("import of the export: %v %v", c, rejects)
			}
			if a, b := exportOf(t, src, false), exportOf(t, dst, false); a != b {
				t.Errorf("round trip differs:\n%s\n---\n%s", a, b)
			}
			if c := dst.customer(t, "person0@example.com"); c.FirstName != formulas[0] {
				t.Errorf("after the round trip: %q, want %q", c.FirstName, formulas[0])
			}
		})
	}
}

// Every name that begins with apostrophes, one to three, then a character
// that begins a formula (as the API stores it: JSON Lines take values as
// they are) comes back the same from a CSV export imported into an empty
// store: the export's escaping apostrophe is the only one the import takes
// off. (A tryout's "'=already" came back with two apostrophes.)
func TestCSVRoundTripKeepsLeadingApostrophes(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			src := newFixture(t, kind.open)
			var lines, names []string
			for n := 1; n <= 3; n++ {
				for _, f := range []string{"=already", "+1+1", "-5", "@at"} {
					name := strings.Repeat("'", n) + f
					names = append(names, name)
					line, _ := json.Marshal(map[string]string{"firstName": name, "lastName": "Quote",
						"email": fmt.Sprintf("quote%d@example.com", len(names))})
					lines = append(lines, string(line))
				}
			}
			if c, rejects := src.run(t, strings.Join(lines, "\n")+"\n", imports.JSONL, false); c.Created != len(names) {
				t.Fatalf("source import: %v %v", c, rejects)
			}
			var file bytes.Buffer
			if _, err := imports.Export(context.Background(), src.st, src.domain, &file, imports.CSV, false); err != nil {
				t.Fatal(err)
			}
			dst := newFixture(t, kind.open)
			if c, rejects := dst.run(t, file.String(), imports.CSV, false); c.Created != len(names) {
				t.Fatalf("import of the export: %v %v", c, rejects)
			}
			for i, name := range names {
				if c := dst.customer(t, fmt.Sprintf("quote%d@example.com", i+1)); c.FirstName != name {
					t.Errorf("after the round trip: %q, want %q", c.FirstName, name)
				}
			}
		})
	}
}

func emailsOf(p customers.Page) string {
	var out []string
	for _, h := range p.Hits {
		out = append(out, h.Customer.Email)
	}
	return strings.Join(out, ",")
}

// A header naming an unknown column stops the import before any record.
func TestImportRefusesUnknownColumns(t *testing.T) {
	_, err := imports.NewReader(strings.NewReader("email,favouriteColour\nx@example.com,red\n"), imports.CSV)
	if err == nil || !strings.Contains(err.Error(), "favouriteColour") {
		t.Errorf("unknown column: %v", err)
	}
	if _, err := imports.NewReader(strings.NewReader(""), imports.CSV); err == nil {
		t.Error("an empty CSV file was accepted")
	}
	r, _ := imports.NewReader(strings.NewReader("email\n"), imports.CSV)
	if _, err := r.Read(); !errors.Is(err, io.EOF) {
		t.Errorf("a header alone: %v", err)
	}
}

// A rejects file keeps what the file held: a JSON line refused as a whole
// (an unknown key, a value of the wrong type) is written back whole, in its
// keys' order after its line and reason, as every reject begins; a CSV
// record of the wrong length keeps its fields.
func TestRejectsKeepTheRecord(t *testing.T) {
	for _, tc := range []struct {
		format imports.Format
		text   string
		want   []string
	}{
		{imports.JSONL, `{"email":"nick@example.com", "firstName":"Nick","lastName":"Name","nickname":"N"}` + "\n",
			[]string{`{"line":1,"reason":"unknown field \"nickname\"",`, `,"email":"nick@example.com","firstName":"Nick","lastName":"Name","nickname":"N"}` + "\n"}},
		{imports.JSONL, `{"email":"nick@example.com","phone":5550100}` + "\n", []string{`{"line":1,"reason":"the field \"phone\" must be a string",`, `,"email":"nick@example.com","phone":5550100}` + "\n"}},
		{imports.JSONL, `{"email":"nick@example.com","devices":{"serialNumber":"X"}}` + "\n", []string{`"reason":"the field \"devices\" must be an array"`}},
		{imports.JSONL, `{"email":"nick@example.com","devices":["X"]}` + "\n", []string{`"reason":"the field \"devices\" must be an object"`}},
		{imports.JSONL, `[1, 2]` + "\n", []string{`{"line":1,"reason":"not a JSON object",`}},
		{imports.JSONL, "not json at all\n", []string{`{"line":1,"reason":`, `,"raw":"not json at all"}` + "\n"}},
		{imports.JSONL, `{"line":"x","reason":"mine"}` + "\n", []string{`{"line":1,"reason":"firstName: `}}, // a rejects file's own keys give way
		{imports.CSV, "email,firstName,lastName\nshort@example.com,Only\n", []string{"2,2 fields where the header names 3,short@example.com,Only"}},
	} {
		r, err := imports.NewReader(strings.NewReader(tc.text), tc.format)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		columns := []string{imports.ColumnLine, imports.ColumnReason, "email", "firstName", "lastName"}
		w, _ := imports.NewWriter(&out, tc.format, columns)
		im := &imports.Importer{Now: time.Now, Reject: func(rec imports.Record, reason string) error { return w.Write(rec, rec.Line, reason) }}
		if _, err := im.Run(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		_ = w.Flush()
		for _, want := range tc.want {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s rejects of %q: %s, want it to hold %s", tc.format, tc.text, out.String(), want)
			}
		}
	}
}

// Into a store without customers that the import has to itself (which builds
// its search index at the end), an import writes ExclusiveBatchSize records
// at a time, a quarter of that first; beside a server, DefaultBatchSize, so
// that the server's writes wait less, unless the import is told it has the
// store to itself.
func TestImportBatchSizeFollowsTheStore(t *testing.T) {
	records := func(prefix string, n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `{"firstName":"Bo","lastName":"Batch%d","email":"%s%d@example.org"}`+"\n", i, prefix, i)
		}
		return b.String()
	}
	firstBatch := func(f *fixture, text string, exclusive bool) int {
		t.Helper()
		r, err := imports.NewReader(strings.NewReader(text), imports.JSONL)
		if err != nil {
			t.Fatal(err)
		}
		var writes []int
		im := &imports.Importer{Store: f.st, Customers: f.svc, Domain: f.domain, Now: time.Now, Exclusive: exclusive,
			Progress: func(c imports.Counts) { writes = append(writes, c.Created) }}
		if _, err := im.Run(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		return writes[0]
	}
	exclusive := newFixture(t, storeKinds[1].open) // the embedded store, opened DirLocked
	if n := firstBatch(exclusive, records("a", imports.DefaultBatchSize+1), true); n != imports.DefaultBatchSize+1 {
		t.Errorf("into an empty store that the import has to itself the first write held %d records, want all %d", n, imports.DefaultBatchSize+1)
	}
	f := newFixture(t, storeKinds[0].open) // the embedded store, beside a server
	if n := firstBatch(f, records("a", imports.DefaultBatchSize+1), false); n != imports.DefaultBatchSize {
		t.Errorf("into an empty store beside a server the first write held %d records, want %d", n, imports.DefaultBatchSize)
	}
	if n := firstBatch(f, records("b", imports.DefaultBatchSize+1), false); n != imports.DefaultBatchSize {
		t.Errorf("into a store with customers the first write held %d records, want %d", n, imports.DefaultBatchSize)
	}
	if n := firstBatch(f, records("c", imports.DefaultBatchSize+1), true); n != imports.DefaultBatchSize+1 {
		t.Errorf("into a store with customers that the import has to itself the first write held %d records, want all %d", n, imports.DefaultBatchSize+1)
	}
	if n := firstBatch(f, records("d", imports.ExclusiveBatchSize/4+1), true); n != imports.ExclusiveBatchSize/4 {
		t.Errorf("into a store with customers that the import has to itself the first write held %d records, want a quarter of %d", n, imports.ExclusiveBatchSize)
	}
}

// Records whose keys an earlier record of the file had are rejected in a
// load into an empty store too, where the embedded store that the import has
// to itself builds its unique indexes only at the end; afterwards the store
// refuses those keys again.
func TestImportIntoAnEmptyStoreRejectsTheFilesOwnDuplicates(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			text := strings.Join([]string{
				`{"externalId":"e1","firstName":"Ada","lastName":"One","email":"ada@example.org","devices":[{"serialNumber":"S-1","model":"Plug P3"}]}`,
				`{"externalId":"e2","firstName":"Bea","lastName":"Two","email":"bea@example.org"}`,
				`{"externalId":"e1","firstName":"Cy","lastName":"Three","email":"cy@example.org"}`,
				`{"firstName":"Di","lastName":"Four","email":"ada@example.org"}`,
				`{"firstName":"Ed","lastName":"Five","email":"ed@example.org","devices":[{"serialNumber":"S-1","model":"Plug P3"}]}`,
				`{"externalId":"e6","firstName":"Fay","lastName":"Six","email":"fay@example.org"}`,
			}, "\n")
			r, err := imports.NewReader(strings.NewReader(text), imports.JSONL)
			if err != nil {
				t.Fatal(err)
			}
			rejects := map[int]string{}
			keysDeferred := false
			im := &imports.Importer{Store: f.st, Customers: f.svc, Domain: f.domain, Now: time.Now, BatchSize: 2,
				Reject: func(rec imports.Record, reason string) error { rejects[rec.Line] = reason; return nil },
				Progress: func(imports.Counts) {
					if d, ok := f.st.(imports.KeyIndexDeferrer); ok {
						deferred, err := d.KeyIndexesDeferred(context.Background())
						keysDeferred = keysDeferred || deferred && err == nil
					}
				}}
			counts, err := im.Run(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if want := kind.name == "sqlite-exclusive"; keysDeferred != want {
				t.Errorf("key indexes deferred during the load: %v, want %v", keysDeferred, want)
			}
			wantRejects := map[int]string{3: "the same externalId as line 1", 4: "the same email as line 1", 5: "the same serial number as line 1"}
			if counts != (imports.Counts{Created: 3, Rejected: 3}) || !maps.Equal(rejects, wantRejects) {
				t.Fatalf("counts %v, rejects %v; want 3 created and rejects %v", counts, rejects, wantRejects)
			}
			ada := f.customer(t, "ada@example.org")
			again := customers.Customer{ID: ids.New(), DomainID: f.domain.ID, FirstName: "Di", LastName: "Four", Email: ada.Email,
				Status: customers.StatusActive, Version: 1, CreatedAt: ada.CreatedAt, UpdatedAt: ada.UpdatedAt}
			if err := f.st.ImportCustomers(context.Background(), []customers.Customer{again}, nil); !errors.Is(err, apperr.ErrConflict) {
				t.Errorf("after the load, another customer with a loaded email: %v, want a conflict", err)
			}
		})
	}
}

// An import into an empty embedded store that defers its search index
// (another import, holding the data directory, started the deferral) goes on
// after that other import's compaction ends the deferral: the customers it
// writes from then on are indexed as they are written, with the tokens the
// importer derived, so every customer of the file is found by its email and
// its device's serial number.
func TestImportOutlivingTheDeferralOfTheSearchIndex(t *testing.T) {
	f := newFixture(t, storeKinds[1].open) // sqlite-exclusive: the store defers its index
	ctx := context.Background()
	var lines []string
	for i := range 12 {
		lines = append(lines, fmt.Sprintf(`{"firstName":"Jo","lastName":"Late%02d","email":"late%d@example.org","devices":[{"serialNumber":"LATE-%d","model":"Plug P3"}]}`, i, i, i))
	}
	r, err := imports.NewReader(strings.NewReader(strings.Join(lines, "\n")+"\n"), imports.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	ended := false
	im := &imports.Importer{Store: f.st, Customers: f.svc, Domain: f.domain, Actor: audit.Actor{Type: audit.ActorSystem, ID: "import", DomainID: f.domain.ID},
		Now: time.Now, BatchSize: 4,
		Progress: func(c imports.Counts) {
			if c.Created == 4 { // the other import ends, with the compaction that ends the deferral
				if err := customers.OptimizeAfterBulkLoad(ctx, f.st, c.Created); err != nil {
					t.Error(err)
				}
				ended = true
			}
		}}
	if counts, err := im.Run(ctx, r); err != nil || counts.Created != 12 || !ended {
		t.Fatalf("import: %v %v (deferral ended: %v)", counts, err, ended)
	}
	for i := range 12 {
		for _, term := range []string{fmt.Sprintf("late%d@example.org", i), fmt.Sprintf("LATE-%d", i)} {
			page, err := f.svc.Search(ctx, f.domain.ID, customers.SearchRequest{Text: term, First: 20})
			if err != nil || len(page.Hits) == 0 || page.Hits[0].Customer.Email != fmt.Sprintf("late%d@example.org", i) {
				t.Errorf("search for %q does not find late%d@example.org first (%d hits, %v)", term, i, len(page.Hits), err)
			}
		}
	}
}

// An import that gives existing customers new devices, killed after it
// stored the devices and before their customers were found by them
// (simulated: the devices stored alone, as that import's first write), then
// run again: the customers are found by the devices' serial numbers and MAC
// addresses, as after one uninterrupted run, and a third run changes nothing.
func TestImportKilledAfterStoringDevicesAndRerun(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			ctx := context.Background()
			var before, after []string
			for i := range 3 {
				before = append(before, fmt.Sprintf(`{"externalId":"k%d","firstName":"Kit","lastName":"Killed%d","email":"k%d@example.org"}`, i, i, i))
				after = append(after, fmt.Sprintf(`{"externalId":"k%d","firstName":"Kit","lastName":"Killed%d","email":"k%d@example.org","devices":[{"serialNumber":"KILL-%d","macAddress":"02:00:00:00:10:%02d","model":"Plug P3"}]}`, i, i, i, i, i))
			}
			if counts, _ := f.run(t, strings.Join(before, "\n")+"\n", imports.JSONL, false); counts.Created != 3 {
				t.Fatalf("first import: %v", counts)
			}
			for i := range 3 {
				c := f.customer(t, fmt.Sprintf("k%d@example.org", i))
				at := time.Now().UTC().Truncate(time.Millisecond)
				dev := devices.Device{ID: ids.New(), DomainID: f.domain.ID, CustomerID: c.ID, Name: "Plug P3", Model: "Plug P3",
					SerialNumber: fmt.Sprintf("KILL-%d", i), MACAddress: fmt.Sprintf("02:00:00:00:10:%02d", i), CreatedAt: at, UpdatedAt: at}
				if err := f.st.InsertDevices(ctx, []devices.Device{dev}); err != nil {
					t.Fatal(err)
				}
			}
			text := strings.Join(after, "\n") + "\n"
			if counts, rejects := f.run(t, text, imports.JSONL, false); counts.Created != 0 || counts.Rejected != 0 || len(rejects) != 0 {
				t.Fatalf("rerun: %v %v", counts, rejects)
			}
			for i := range 3 {
				for _, term := range []string{fmt.Sprintf("KILL-%d", i), fmt.Sprintf("02:00:00:00:10:%02d", i)} {
					page, err := f.svc.Search(ctx, f.domain.ID, customers.SearchRequest{Text: term, First: 5})
					if err != nil || len(page.Hits) != 1 || page.Hits[0].Customer.Email != fmt.Sprintf("k%d@example.org", i) {
						t.Errorf("after the rerun %q finds %d hits (%v), want k%d@example.org", term, len(page.Hits), err, i)
					}
				}
			}
			if counts, _ := f.run(t, text, imports.JSONL, false); counts != (imports.Counts{Unchanged: 3}) {
				t.Errorf("third run: %v, want 3 unchanged", counts)
			}
		})
	}
}

// A record's phoneRegion says which region its number is read in (the
// domain's when absent); an export writes each customer's, so that a domain
// whose default region changed since its numbers were written exports and
// imports into an empty store with the same search results. A region the
// phone library does not know is a reject.
func TestImportPhoneRegionAndTheRoundTripAfterARegionChange(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			src := newFixture(t, kind.open) // region GB
			text := csvFile(t, []string{"email", "firstName", "lastName", "phone", "phoneRegion"}, [][]string{
				{"una@example.com", "Una", "States", "(415) 555-0199", "us"},
				{"gil@example.com", "Gil", "Britain", "020 7946 0018", ""},
				{"bad@example.com", "Bad", "Region", "0170 1234567", "ZZ"},
				{"worse@example.com", "Worse", "Region", "0170 1234567", "Germany"},
			})
			counts, rejects := src.run(t, text, imports.CSV, false)
			if counts.Created != 2 || counts.Rejected != 2 || !strings.Contains(rejects[4], "phoneRegion") || !strings.Contains(rejects[5], "phoneRegion") {
				t.Fatalf("import: %v %v", counts, rejects)
			}
			if strings.Contains(rejects[5], "Germany") {
				t.Errorf("the reason echoes the value: %q", rejects[5])
			}
			finds := func(f *fixture, q, email string) bool {
				t.Helper()
				page, err := f.svc.Search(ctx, f.domain.ID, customers.SearchRequest{Text: q, First: 5})
				return err == nil && len(page.Hits) == 1 && page.Hits[0].Customer.Email == email
			}
			src.domain.DefaultRegion = "DE"
			if err := src.st.UpdateDomain(ctx, src.domain, audit.Record{ID: ids.New(), DomainID: src.domain.ID, ActorType: audit.ActorOperator,
				ActorID: "op", Action: audit.ActionDomainUpdated, TargetType: audit.TargetDomain, TargetID: src.domain.ID, Outcome: audit.OutcomeSuccess}); err != nil {
				t.Fatal(err)
			}
			// A changed number with a region named is read in it; without, in the domain's (DE now).
			changed := csvFile(t, []string{"email", "firstName", "lastName", "phone", "phoneRegion"}, [][]string{
				{"una@example.com", "Una", "States", "(212) 555-0142", "US"},
				{"gil@example.com", "Gil", "Britain", "030 901820", ""},
			})
			if counts, rejects := src.run(t, changed, imports.CSV, false); counts.Updated != 2 {
				t.Fatalf("changed numbers: %v %v", counts, rejects)
			}
			for _, format := range []imports.Format{imports.CSV, imports.JSONL} {
				var file bytes.Buffer
				if _, err := imports.Export(ctx, src.st, src.domain, &file, format, false); err != nil {
					t.Fatal(err)
				}
				dst := newFixture(t, kind.open) // region GB, as src's before the change
				if c, rejects := dst.run(t, file.String(), format, false); c.Created != 2 {
					t.Fatalf("import of the %s export: %v %v", format, c, rejects)
				}
				for _, f := range []*fixture{src, dst} {
					for q, email := range map[string]string{"+1 212 555 0142": "una@example.com", "+49 30 901820": "gil@example.com"} {
						if !finds(f, q, email) {
							t.Errorf("%s export, store %s: %q does not find %s", format, f.domain.ID, q, email)
						}
					}
				}
			}
		})
	}
}

// In JSON Lines a Keycloak credential may be the object a realm export holds,
// not only a string; any other non-string passwordHash is a reject.
func TestImportKeycloakCredentialAsAnObject(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			credential := passwordstest.KeycloakArgon2(t, "id", importedPassword)
			text := `{"firstName":"Kim","lastName":"Keycloak","email":"kim@example.com","passwordHash":` + credential + "}\n" +
				`{"firstName":"Nat","lastName":"Number","email":"nat@example.com","passwordHash":42}` + "\n"
			counts, rejects := f.run(t, text, imports.JSONL, false)
			if counts.Created != 1 || counts.Rejected != 1 || !strings.Contains(rejects[2], `the field "passwordHash" must be a string`) {
				t.Fatalf("counts %v, rejects %v", counts, rejects)
			}
			c := f.customer(t, "kim@example.com")
			if ok, err := f.hasher.Verify(context.Background(), c.PasswordHash, importedPassword); !ok || err != nil {
				t.Errorf("the imported Keycloak argon2 credential does not verify: %v %v", ok, err)
			}
		})
	}
}

// A CSV record the format's rules refuse (a quote inside an unquoted field)
// is a reject that keeps its fields as the file held them, for the rejects
// file, and the records after it are read; a record that grows past 1 MiB
// (a quote left open makes the rest of the file one record) stops the
// reading with an error instead of being held in memory whole, and so does
// a shorter one that the rules refuse after it took in the lines after its
// first (the customers on them would be lost behind one reject).
func TestCSVRecordsTheRulesRefuse(t *testing.T) {
	file := "firstName,lastName,email\r\nAnn,Lee,ann@example.com\r\nQuinn,O\"Brien,quinn@example.com\r\nBo,Ng,bo@example.com\r\n"
	r, err := imports.NewReader(strings.NewReader(file), imports.CSV)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var bad *imports.RecordError
		switch {
		case errors.As(err, &bad):
			got = append(got, fmt.Sprintf("%d %q", bad.Line, bad.Raw))
		case err != nil:
			t.Fatal(err)
		default:
			got = append(got, fmt.Sprintf("%d %s", rec.Line, rec.Email))
		}
	}
	want := []string{"2 ann@example.com", `3 ["Quinn" "O\"Brien" "quinn@example.com"]`, "4 bo@example.com"}
	if !slices.Equal(got, want) {
		t.Errorf("read %q, want %q", got, want)
	}

	// A quote left open on line 3, with the rest of the file past 1 MiB or under it.
	for _, c := range []struct {
		rows int
		want string
	}{
		{100_000, "line 3: a CSV record longer than 1048576 bytes (is a quote left open?)"},
		{3000, "line 3: a CSV record that runs on to line 3003 is not valid CSV"},
	} {
		open := "firstName,lastName,email\nAnn,Lee,ann@example.com\n\"Quinn,Open,quinn@example.com\n" + strings.Repeat("Bo,Ng,bo@example.com\n", c.rows)
		r, err := imports.NewReader(strings.NewReader(open), imports.CSV)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(); err != nil {
			t.Fatal(err)
		}
		var bad *imports.RecordError
		if _, err := r.Read(); err == nil || errors.As(err, &bad) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("a quote left open, %d rows after it: %v, want the reading stopped at the line it opened on (%q)", c.rows, err, c.want)
		}
	}
}

// Two records of one file that reach one customer by different keys (one by
// its email, the other by its external id) would each undo the other: the
// second is rejected as the same customer, in the dry run as in the real
// one, and reruns change nothing and create no one (a tryout's reruns
// created a second account for the email).
func TestImportOneCustomerReachedByTwoKeys(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			if c, rejects := f.run(t, "externalId,firstName,lastName,email\next-1,Ann,Lee,ann@example.com\n", imports.CSV, false); c.Created != 1 {
				t.Fatalf("base: %v %v", c, rejects)
			}
			two := "externalId,firstName,lastName,email\n,Ann,ByEmail,ann@example.com\next-1,Ann,ByExternalId,ann.new@example.com\n"
			dry, dryRejects := f.run(t, two, imports.CSV, true)
			first, rejects := f.run(t, two, imports.CSV, false)
			if dry != first || first != (imports.Counts{Updated: 1, Rejected: 1}) || !strings.Contains(rejects[3], "the same customer as line 2") || dryRejects[3] != rejects[3] {
				t.Fatalf("dry run %v %v, run %v %v: want line 2 updated, line 3 rejected as the same customer", dry, dryRejects, first, rejects)
			}
			for run := range 3 {
				if c, rejects := f.run(t, two, imports.CSV, false); c != (imports.Counts{Unchanged: 1, Rejected: 1}) {
					t.Fatalf("rerun %d: %v %v", run+1, c, rejects)
				}
			}
			if n, err := f.st.CountCustomers(context.Background(), f.domain.ID); err != nil || n != 1 {
				t.Errorf("%d customers (%v), want Ann alone", n, err)
			}
			if c := f.customer(t, "ann@example.com"); c.LastName != "ByEmail" || c.ExternalID != "ext-1" {
				t.Errorf("Ann after the reruns: %q, %q", c.LastName, c.ExternalID)
			}
		})
	}
}

// A record refused against the store still reached the customers its keys
// name: a later record that reaches one of them by another key is refused
// as the same customer, in the dry run as in the real one, whichever way
// the first was refused (its external id is one customer's and its email
// another's; its email is a customer's with another external id), so that
// the file is fixed rather than half applied. (A tryout's second record
// renamed the customer the refused first one was about.)
func TestImportRecordRefusedByTheStoreStillClaimsItsCustomers(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			base := "externalId,firstName,lastName,email\next-4,Ari,Argon,ari@example.com\n,Bea,Boron,bea@example.com\next-1,Ann,Lee,ann@example.com\n"
			if c, rejects := f.run(t, base, imports.CSV, false); c.Created != 3 {
				t.Fatalf("base: %v %v", c, rejects)
			}
			for _, file := range []string{
				// ext-4 is Ari's, bea@ Bea's; then Ari by email
				"externalId,firstName,lastName,email\next-4,Ari,Argon,bea@example.com\n,New,Person,ari@example.com\n",
				// ann@ is Ann's, who has ext-1; then Ann by ext-1
				"externalId,firstName,lastName,email\next-9,Ann,Other,ann@example.com\next-1,New,Person,ann.new@example.com\n",
				// as the first, then Bea (whose email it named) by her email
				"externalId,firstName,lastName,email\next-4,Ari,Argon,bea@example.com\n,New,Person,bea@example.com\n",
			} {
				dry, dryRejects := f.run(t, file, imports.CSV, true)
				got, rejects := f.run(t, file, imports.CSV, false)
				if dry != got || got != (imports.Counts{Rejected: 2}) || !strings.Contains(rejects[3], "line 2") || dryRejects[3] != rejects[3] {
					t.Errorf("%q: dry run %v %v, run %v %v: want both lines refused, line 3 for line 2's", file, dry, dryRejects, got, rejects)
				}
			}
			for email, last := range map[string]string{"ari@example.com": "Argon", "bea@example.com": "Boron", "ann@example.com": "Lee"} {
				if c := f.customer(t, email); c.LastName != last {
					t.Errorf("%s is now %q, want %q: a refused file changed it", email, c.LastName, last)
				}
			}
		})
	}
}

// A JSON line longer than 1 MiB is a reject that keeps its first MiB (the
// rejects file writes it under "raw"), not a record of empty fields, whether
// it is longer by a little or by much more than a read's buffer. (A line
// of 1.05 MiB was kept whole, and written back as the object it was.)
func TestJSONLineTooLongKeepsItsFirstMiB(t *testing.T) {
	for _, over := range []int{1, 50_000, 3 << 20} {
		long := `{"firstName":"` + strings.Repeat("a", 1<<20+over) + `","lastName":"Lee","email":"ann@example.com"}`
		text := long + "\n" + `{"firstName":"Bo","lastName":"Ng","email":"bo@example.com"}` + "\n"
		r, err := imports.NewReader(strings.NewReader(text), imports.JSONL)
		if err != nil {
			t.Fatal(err)
		}
		var bad *imports.RecordError
		if _, err := r.Read(); !errors.As(err, &bad) || len(bad.Raw) != 1 || bad.Raw[0] != long[:1<<20] {
			t.Fatalf("a line %d bytes over: %v, want a reject keeping its first MiB", over, err)
		}
		if rec, err := r.Read(); err != nil || rec.Email != "bo@example.com" {
			t.Errorf("the line after it: %+v %v", rec, err)
		}

		r, _ = imports.NewReader(strings.NewReader(long+"\n"), imports.JSONL) // a reject alone: the importer needs no store
		var out bytes.Buffer
		w, _ := imports.NewWriter(&out, imports.JSONL, nil)
		im := &imports.Importer{Now: time.Now, Reject: func(rec imports.Record, reason string) error { return w.Write(rec, rec.Line, reason) }}
		if _, err := im.Run(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		_ = w.Flush()
		var rejected struct{ Raw string }
		if err := json.Unmarshal(bytes.SplitN(out.Bytes(), []byte("\n"), 2)[0], &rejected); err != nil || rejected.Raw != long[:1<<20] {
			t.Errorf("a line %d bytes over, in the rejects file: %.80s (%v), want its first MiB under \"raw\"", over, out.String(), err)
		}
	}
}

// A key belongs to the first record of the file that names it, even when
// that record is rejected for a bad field: the later record with the key is
// rejected too. (It was imported in the first one's place, and once the
// first was corrected a rerun turned that customer into the first one.)
func TestImportKeysBelongToTheFirstRecordEvenRejected(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			head := "externalId,firstName,lastName,email,phone,device1.serialNumber,device1.model\n"
			v1 := head +
				"ext-1,Alice,One,alice@example.com,no-digits,,\n" + // line 2: a bad phone
				"ext-1,Carol,Three,carol@example.com,,,\n" + // the same external id
				",Ann,Four,ann@example.com,no-digits,,\n" + // line 4: a bad phone
				",Ben,Five,ANN@example.com,,,\n" + // the same email
				",Cy,Six,cy@example.com,no-digits,SN-9,Plug\n" + // line 6: a bad phone
				",Di,Seven,di@example.com,,SN-9,Plug\n" // the same serial number
			c, rejects := f.run(t, v1, imports.CSV, false)
			want := map[int]string{3: "the same externalId as line 2", 5: "the same email as line 4", 7: "the same serial number as line 6"}
			for line, reason := range want {
				if rejects[line] != reason {
					t.Errorf("line %d: %q, want %q", line, rejects[line], reason)
				}
			}
			if c != (imports.Counts{Rejected: 6}) {
				t.Fatalf("first run: %v %v, want every record rejected", c, rejects)
			}
			v2 := strings.ReplaceAll(v1, "no-digits", "+44 20 7946 0001")
			if c, rejects := f.run(t, v2, imports.CSV, false); c != (imports.Counts{Created: 3, Rejected: 3}) {
				t.Fatalf("corrected: %v %v, want the three first records created", c, rejects)
			}
			for _, email := range []string{"alice@example.com", "ann@example.com", "cy@example.com"} {
				f.customer(t, email)
			}
			if n, err := f.st.CountCustomers(context.Background(), f.domain.ID); err != nil || n != 3 {
				t.Errorf("%d customers (%v), want the three first", n, err)
			}
		})
	}
}

// An import never enables an account: a rerun of a file without statuses,
// or of one that says ACTIVE, leaves a customer an operator disabled
// DISABLED; a file that says DISABLED disables.
func TestImportNeverEnablesAnAccount(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			noStatus := "externalId,firstName,lastName,email\next-1,Zed,One,zed@example.com\next-2,Amy,Two,amy@example.com\n"
			if c, rejects := f.run(t, noStatus, imports.CSV, false); c.Created != 2 {
				t.Fatalf("first run: %v %v", c, rejects)
			}
			zed := f.customer(t, "zed@example.com")
			admin := audit.Actor{Type: audit.ActorOperator, ID: "admin", DomainID: f.domain.ID}
			if _, _, err := f.svc.SetStatus(context.Background(), admin, zed.ID, customers.StatusDisabled, "fraud confirmed"); err != nil {
				t.Fatal(err)
			}
			active := "externalId,firstName,lastName,email,status\next-1,Zed,One,zed@example.com,ACTIVE\next-2,Amy,Two,amy@example.com,DISABLED\n"
			for i, step := range []struct {
				file string
				dry  bool
				want imports.Counts
			}{
				{noStatus, true, imports.Counts{Unchanged: 2}},
				{noStatus, false, imports.Counts{Unchanged: 2}},
				{active, true, imports.Counts{Updated: 1, Unchanged: 1}}, // Amy
				{active, false, imports.Counts{Updated: 1, Unchanged: 1}},
				{active, false, imports.Counts{Unchanged: 2}},
			} {
				if c, rejects := f.run(t, step.file, imports.CSV, step.dry); c != step.want {
					t.Errorf("step %d: %v %v, want %v", i+1, c, rejects, step.want)
				}
				if got := f.customer(t, "zed@example.com").Status; got != customers.StatusDisabled {
					t.Fatalf("step %d: Zed is %s after an import, want DISABLED", i+1, got)
				}
			}
			if got := f.customer(t, "amy@example.com").Status; got != customers.StatusDisabled {
				t.Errorf("Amy is %s after a file that says DISABLED", got)
			}
		})
	}
}

// A CSV record the format's rules refuse (a quote inside an unquoted
// field), read leniently with the header's number of fields, claims its
// keys too: the later record with its external id or email is rejected.
func TestUnreadableCSVRecordClaimsItsKeys(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			file := "externalId,firstName,lastName,email\n" +
				"ext-9,Ann\"a,Nine,ann9@example.com\n" + // line 2: a bare quote
				"ext-9,Bob,Ten,bob10@example.com\n" +
				",Cy,Eleven,ANN9@example.com\n"
			c, rejects := f.run(t, file, imports.CSV, false)
			if c != (imports.Counts{Rejected: 3}) || rejects[3] != "the same externalId as line 2" || rejects[4] != "the same email as line 2" {
				t.Fatalf("%v %v: want the two later records rejected as line 2's keys", c, rejects)
			}
		})
	}
}

// What a file holds where a column's or key's name belongs may be a
// customer's data: the errors and reasons name it only when it looks like a
// name (a tryout saw a header-less file's first customer, and an email used
// as a JSON key, printed back). A JSON line of null is no object either
// (it was read as a record with every field blank).
func TestMisplacedDataIsNotEchoed(t *testing.T) {
	const secret = "zoe.private@example.com"
	for _, c := range []struct{ name, file, want string }{
		{"no header", "Zoe,Private," + secret + "\nAnn,Lee,ann@example.com\n", "names none of the columns"},
		{"lone carriage returns", "firstName,lastName,email\rZoe,Private," + secret + "\r", "carriage return alone"},
		{"an unknown column with data's shape", "firstName,lastName,email," + secret + "\nAnn,Lee,ann@example.com,x\n", "an unknown CSV column (its name is not shown"},
	} {
		_, err := imports.NewReader(strings.NewReader(c.file), imports.CSV)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "zoe") || strings.Contains(err.Error(), "Zoe") {
			t.Errorf("%s: %v, want %q and no data of the file", c.name, err, c.want)
		}
	}
	if _, err := imports.NewReader(strings.NewReader("firstName,lastName,email,nickName\n"), imports.CSV); err == nil || !strings.Contains(err.Error(), `unknown CSV column "nickName"`) {
		t.Errorf("a mistyped column: %v, want it named", err)
	}

	r, err := imports.NewReader(strings.NewReader(`{"email":"ann@example.com","`+secret+`":"x"}`+"\n"+`{"email":"bo@example.com","nickname":"B"}`+"\n"+"null\n"+
		`{"firstName":"zoe cut short"`+"\n"+`{"firstName":"zoe",,}`+"\n"), imports.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"an unknown field (its key is not shown", `unknown field "nickname"`, "not a JSON object",
		"a JSON object cut short: it does not close on its line", "not valid JSON (a syntax error at byte 20)"} {
		var bad *imports.RecordError
		if _, err := r.Read(); !errors.As(err, &bad) || bad.Reason != want && !strings.HasPrefix(bad.Reason, want) || strings.Contains(bad.Reason, "zoe") {
			t.Errorf("reason %v, want %q", err, want)
		}
	}
}

// A first line that names no column is told by its likely cause, for the
// shapes spreadsheet programs write (tryout 20: all got one sentence):
// semicolons or tabs between the columns, UTF-16 text, names in another
// case; a column in another case beside known ones is named with its
// spelling.
func TestCSVHeadersOfSpreadsheetsAreToldWhatIsWrong(t *testing.T) {
	utf16 := []byte{0xff, 0xfe}
	for _, c := range "firstName,lastName,email\r\nAnn,Lee,ann@example.com\r\n" {
		utf16 = append(utf16, byte(c), 0)
	}
	for _, c := range []struct{ name, file, want string }{
		{"semicolons", "firstName;lastName;email\nAnn;Lee;ann@example.com\n", "separated by semicolons"},
		{"tabs", "firstName\tlastName\temail\nAnn\tLee\tann@example.com\n", "separated by tabs"},
		{"UTF-16", string(utf16), "UTF-16"},
		{"another case", "FirstName,LastName,EMAIL\nAnn,Lee,ann@example.com\n", `case and all ("firstName", not "FirstName")`},
		{"one in another case", "email,FirstName\nann@example.com,Ann\n", `unknown CSV column "FirstName" (column names are written as listed, case and all: "firstName")`},
		{"no header", "Ann,Lee,ann@example.com\n", "a CSV import starts with a header line"},
	} {
		_, err := imports.NewReader(strings.NewReader(c.file), imports.CSV)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "ann@") {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}
}

// A spreadsheet's trailing commas make columns without a name: the records
// are read as if they were not there, and one with a value in such a column
// is rejected, saying which (tryout 21: the header was refused as "an
// unknown CSV column").
func TestCSVColumnsWithoutANameHoldNothing(t *testing.T) {
	f := newFixture(t, storeKinds[0].open)
	file := "firstName,lastName,email,,, \r\n" +
		"Tia,Trail,tia@example.com,,,\r\n" +
		"Val,Stray,val@example.com,,kept?,\r\n" +
		"Val,Again,val@example.com,,,\r\n"
	counts, rejects := f.run(t, file, imports.CSV, false)
	if counts != (imports.Counts{Created: 1, Rejected: 2}) {
		t.Fatalf("%+v %v", counts, rejects)
	}
	if !strings.Contains(rejects[3], "column 5 has no name in the header but a value here") || strings.Contains(rejects[3], "kept?") {
		t.Errorf("line 3: %q", rejects[3])
	}
	if !strings.Contains(rejects[4], "line 3") { // its email was line 3's, rejected or not
		t.Errorf("line 4: %q", rejects[4])
	}
	if c := f.customer(t, "tia@example.com"); c.LastName != "Trail" {
		t.Errorf("Tia: %+v", c)
	}
}

// A spreadsheet's ="…" cell (Excel's text that keeps a phone number's +) is
// its text; a formula that is not one string stays as written.
func TestCSVSpreadsheetTextCells(t *testing.T) {
	f := newFixture(t, storeKinds[0].open)
	file := "firstName,lastName,email,phone\n" +
		`"=""Ann""",Lee,ann@example.com,"=""+1 415 555 0100"""` + "\n" +
		`Bo,"=""O""""Neil""",bo@example.com,` + "\n" +
		`Cy,"=""A""&""B""",cy@example.com,` + "\n"
	if counts, rejects := f.run(t, file, imports.CSV, false); counts.Created != 3 {
		t.Fatalf("%+v %v", counts, rejects)
	}
	if c := f.customer(t, "ann@example.com"); c.FirstName != "Ann" || c.Phone != "+1 415 555 0100" {
		t.Errorf("Ann: %q %q", c.FirstName, c.Phone)
	}
	if c := f.customer(t, "bo@example.com"); c.LastName != `O"Neil` {
		t.Errorf("Bo: %q", c.LastName)
	}
	if c := f.customer(t, "cy@example.com"); c.LastName != `="A"&"B"` {
		t.Errorf("Cy: %q", c.LastName)
	}
}

// gatedStore holds every customer update back until the importer has looked
// keys up twice: the read-ahead has then looked the next batch up before
// the update of this one is written.
type gatedStore struct {
	store.Store
	lookups atomic.Int32
	ready   chan struct{}
}

func (g *gatedStore) CustomersByImportKeys(ctx context.Context, domainID string, externalIDs, emails []string) ([]customers.Customer, error) {
	if g.lookups.Add(1) == 2 {
		close(g.ready)
	}
	return g.Store.CustomersByImportKeys(ctx, domainID, externalIDs, emails)
}

func (g *gatedStore) UpdateCustomer(ctx context.Context, u customers.Update) (customers.Customer, error) {
	select {
	case <-g.ready:
	case <-time.After(10 * time.Second):
		return customers.Customer{}, errors.New("the read-ahead never looked the next batch up")
	}
	return g.Store.UpdateCustomer(ctx, u)
}

// An import that has the store to itself looks the next batch's keys up
// while it writes this one; a record whose email an earlier record's update
// gave up is then a new customer, as it is when the keys are looked up
// after the write (the read-ahead's lookup found the email's old customer).
func TestImportReadAheadSeesAnEmailGivenUpByAnEarlierRecord(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			if c, rejects := f.run(t, "externalId,firstName,lastName,email\next-1,Ann,Lee,ann@example.com\n", imports.CSV, false); c.Created != 1 {
				t.Fatalf("base: %v %v", c, rejects)
			}
			gated := &gatedStore{Store: f.st, ready: make(chan struct{})}
			file := "externalId,firstName,lastName,email\next-1,Ann,Lee,ann.new@example.com\n,Ann,Other,ann@example.com\n"
			counts, rejects := f.runOn(t, gated, file, imports.CSV, func(im *imports.Importer) { im.BatchSize, im.Exclusive = 1, true })
			if counts != (imports.Counts{Created: 1, Updated: 1}) {
				t.Fatalf("%v %v: want line 2 updating Ann's email, line 3 a new customer with her old one", counts, rejects)
			}
			if c := f.customer(t, "ann.new@example.com"); c.ExternalID != "ext-1" || c.LastName != "Lee" {
				t.Errorf("Ann: %q %q", c.ExternalID, c.LastName)
			}
			if c := f.customer(t, "ann@example.com"); c.ExternalID != "" || c.LastName != "Other" {
				t.Errorf("the new customer: %q %q", c.ExternalID, c.LastName)
			}
		})
	}
}

// Finishing is told once, after the last batch's progress, that the store
// now tidies its index; a dry run, or an import that changes nothing,
// writes nothing and tidies nothing.
func TestImportSaysWhenEveryRecordIsWritten(t *testing.T) {
	f := newFixture(t, storeKinds[0].open)
	for _, dryRun := range []bool{true, false} {
		var told []string
		f.runOn(t, f.st, "email,firstName,lastName\na@example.com,Ann,A\nb@example.com,Bo,B\nc@example.com,Cy,C\n", imports.CSV, func(im *imports.Importer) {
			im.DryRun, im.BatchSize = dryRun, 2
			im.Progress = func(c imports.Counts) { told = append(told, fmt.Sprintf("%d read", c.Read())) }
			im.Finishing = func() { told = append(told, "finishing") }
		})
		want := []string{"2 read", "3 read", "finishing"}
		if dryRun {
			want = want[:2]
		}
		if !slices.Equal(told, want) {
			t.Errorf("dry run %v: told %q, want %q", dryRun, told, want)
		}
	}
	var told []string // the same again: nothing written, nothing to tidy
	f.runOn(t, f.st, "email,firstName,lastName\na@example.com,Ann,A\n", imports.CSV, func(im *imports.Importer) {
		im.Finishing = func() { told = append(told, "finishing") }
	})
	if len(told) != 0 {
		t.Errorf("an import that wrote nothing: told %q", told)
	}
}

// racingStore runs another import of the same file between an import's
// lookups of the customers and of the devices, once: as a second `server
// import` of one file running beside it may commit.
type racingStore struct {
	store.Store
	race func()
	once sync.Once
}

func (r *racingStore) DevicesBySerialNumbers(ctx context.Context, domainID string, serials []string) ([]devices.Device, error) {
	r.once.Do(r.race)
	return r.Store.DevicesBySerialNumbers(ctx, domainID, serials)
}

// A record whose customer another import stored, with its devices, between
// this import's lookups is that customer's, unchanged: not a record whose
// devices "another customer" has (tryout 21: 1,467 of 30,000 records).
func TestImportBesideAnotherImportOfTheSameFile(t *testing.T) {
	const file = "email,firstName,lastName,device1.serialNumber,device1.model\nrae@example.com,Rae,Race,RACE-1,Thermostat T1\n"
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			var other imports.Counts
			racing := &racingStore{Store: f.st, race: func() { other, _ = f.run(t, file, imports.CSV, false) }}
			counts, rejects := f.runOn(t, racing, file, imports.CSV, func(*imports.Importer) {})
			if other != (imports.Counts{Created: 1}) || counts != (imports.Counts{Unchanged: 1}) {
				t.Errorf("the other import %+v, this one %+v %v; want it created, then unchanged", other, counts, rejects)
			}
		})
	}
}

// A rejects file corrected by hand imports as it is: its line and reason
// columns (keys) are read as nothing (tryout 22: `unknown CSV column "line"`).
func TestCorrectedRejectsFileImports(t *testing.T) {
	f := newFixture(t, storeKinds[0].open)
	for _, c := range []struct {
		format imports.Format
		file   string
	}{
		{imports.CSV, "line,reason,email,firstName,lastName\n3,email: not an email address,rae@example.com,Rae,Fixed\n"},
		{imports.JSONL, `{"line":7,"reason":"email: not an email address","email":"sol@example.com","firstName":"Sol","lastName":"Fixed"}` + "\n"},
	} {
		if counts, rejects := f.run(t, c.file, c.format, false); counts != (imports.Counts{Created: 1}) {
			t.Errorf("%s: %+v %v", c.format, counts, rejects)
		}
	}
	if c := f.customer(t, "sol@example.com"); c.LastName != "Fixed" {
		t.Errorf("Sol: %+v", c)
	}
}

// A batch of more customers than one statement writes (the embedded store
// writes rows fifty a statement) keeps every device with its own customer,
// into an empty store and into one with customers, on every store.
func TestImportBatchesWiderThanAStatementKeepDevicesWithTheirCustomers(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			for _, prefix := range []string{"first", "second"} {
				var lines []string
				for i := range 123 {
					lines = append(lines, fmt.Sprintf(`{"firstName":"Wide","lastName":"%s%03d","email":"%s%d@example.org","devices":[{"serialNumber":"%s-%d-A","model":"Plug P3"},{"serialNumber":"%s-%d-B","model":"Plug P3"}]}`,
						prefix, 122-i, prefix, i, prefix, i, prefix, i))
				}
				counts, rejects := f.runOn(t, f.st, strings.Join(lines, "\n")+"\n", imports.JSONL, func(im *imports.Importer) { im.BatchSize = 0 })
				if counts.Created != 123 || len(rejects) != 0 {
					t.Fatalf("%s file: %v, rejects %v", prefix, counts, rejects)
				}
				for i := range 123 {
					c := f.customer(t, fmt.Sprintf("%s%d@example.org", prefix, i))
					ds, err := f.st.DevicesByCustomer(context.Background(), c.ID)
					if err != nil {
						t.Fatal(err)
					}
					var serials []string
					for _, d := range ds {
						serials = append(serials, d.SerialNumber)
					}
					slices.Sort(serials)
					upper := strings.ToUpper(prefix) // serial numbers are kept upper-case
					if want := []string{fmt.Sprintf("%s-%d-A", upper, i), fmt.Sprintf("%s-%d-B", upper, i)}; !slices.Equal(serials, want) {
						t.Fatalf("%s%d's devices: %q, want %q", prefix, i, serials, want)
					}
				}
			}
		})
	}
}
