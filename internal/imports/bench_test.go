package imports_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/imports"
	"github.com/iotconsole/bff/internal/passwords"
)

// TestImportSpeed imports BFF_IMPORT_BENCH generated customers (the demo
// generator's mix, 0 to 3 devices each) into each store and logs records/s:
// the FerretDB figure of docs/BENCHMARKS.md (the embedded store's is
// scripts/bench-import's). Skipped unless the variable is set.
func TestImportSpeed(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BFF_IMPORT_BENCH"))
	if n <= 0 {
		t.Skip("set BFF_IMPORT_BENCH=<customers> to measure")
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newFixture(t, kind.open)
			var file bytes.Buffer
			w, _ := imports.NewWriter(&file, imports.JSONL, nil)
			g := demo.NewGenerator(f.domain, passwords.Encode(passwords.OWASP, importedPassword), 0, time.Now())
			for range n {
				c, ds := g.Next()
				_ = w.Write(imports.RecordOf(c, ds, true), 0, "")
			}
			_ = w.Flush()
			for _, run := range []string{"into an empty domain", "the same file again"} {
				r, _ := imports.NewReader(bytes.NewReader(file.Bytes()), imports.JSONL)
				im := &imports.Importer{Store: f.st, Customers: f.svc, Domain: f.domain, Now: time.Now}
				started := time.Now()
				counts, err := im.Run(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				elapsed := time.Since(started)
				t.Logf("%s, %s: %v in %s (%.0f records/s)", kind.name, run, counts, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
			}
		})
	}
}
