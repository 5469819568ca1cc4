package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/customers"
)

// TestSearchIndexShapes measures other shapes of the search index on a real
// store's customers (docs/BENCHMARKS.md, "Search index shapes"): for each
// shape, a customer_search built afresh in a file of its own from every
// customer's search row, its build time (the inserts in label order and
// FTS5's 'optimize'), its size, and the time of a one-term prefix query for
// every term of the shared load generator's terms.txt (first 20 in label
// order). A shape is "PREFIXES@STEP": FTS5's prefix option and the gap
// between rowids (0: the store's own labels). With BFF_SEARCH_SHAPES_ROWS it
// also writes the rows ("label<TAB>document" lines) and the queries (one a
// line) to that path and path.queries, for scripts/sqlite-drivers. It runs
// only when asked:
//
//	BFF_SEARCH_SHAPES_STORE=/path/to/bff.sqlite \
//	BFF_SEARCH_SHAPES='1 2 3 4 5 6 7 8@0;1 2 3 4@0;1 2 3 4 5 6 7 8@1' \
//	BFF_SEARCH_SHAPES_TERMS=../shared/bench/loadgen/terms.txt \
//	go test ./internal/store/sqlite -run TestSearchIndexShapes -v -timeout 60m
func TestSearchIndexShapes(t *testing.T) {
	store, shapes, termsFile := os.Getenv("BFF_SEARCH_SHAPES_STORE"), os.Getenv("BFF_SEARCH_SHAPES"), os.Getenv("BFF_SEARCH_SHAPES_TERMS")
	if store == "" || shapes == "" || termsFile == "" {
		t.Skip("a measurement, run on request: set BFF_SEARCH_SHAPES_STORE, BFF_SEARCH_SHAPES and BFF_SEARCH_SHAPES_TERMS")
	}
	ctx := context.Background()
	src, err := sql.Open("sqlite", "file:"+store+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var rows []searchRow
	for after := int64(minLabel - 1); ; {
		sources, err := readSearchSources(ctx, src, after, maxLabel+1, searchFillBatch)
		if err != nil {
			t.Fatal(err)
		}
		if len(sources) == 0 {
			break
		}
		for _, s := range sources {
			rows = append(rows, searchRow{s.label, s.document()})
		}
		after = sources[len(sources)-1].label
	}
	queries := shapeQueries(t, termsFile)
	if path := os.Getenv("BFF_SEARCH_SHAPES_ROWS"); path != "" {
		writeShapeInput(t, path, rows, queries)
	}
	t.Logf("%d customers, %d queries", len(rows), len(queries))
	for _, shape := range strings.Split(shapes, ";") {
		prefixes, stepText, _ := strings.Cut(shape, "@")
		step, _ := strconv.ParseInt(stepText, 10, 64)
		build, size, took := measureShape(t, rows, prefixes, step, queries)
		t.Logf("prefix %q, rowid step %d: build %.1f s, %.1f MiB; query p50 %v, p90 %v, p99 %v, max %v", prefixes, step,
			build.Seconds(), float64(size)/(1<<20), took[len(took)/2], took[len(took)*9/10], took[len(took)*99/100], took[len(took)-1])
	}
}

// searchRow is one customer's row of the search index.
type searchRow struct {
	label    int64
	document string
}

// writeShapeInput writes rows and queries for scripts/sqlite-drivers.
func writeShapeInput(t *testing.T, path string, rows []searchRow, queries []string) {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strconv.FormatInt(r.label, 10) + "\t" + r.document + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".queries", []byte(strings.Join(queries, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// shapeQueries returns the FTS5 query of each term of the file's lines, as
// SearchCustomers asks for a term as a prefix.
func shapeQueries(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var queries []string
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		terms, _ := customers.ParseQuery(lines.Text(), "US")
		for _, term := range terms {
			queries = append(queries, termsExpr([]string{term}, " *"))
		}
	}
	return queries
}

// measureShape builds one shape of the index and returns its build time,
// its size in bytes and every query's time, sorted.
func measureShape(t *testing.T, rows []searchRow, prefixes string, step int64, queries []string) (time.Duration, int64, []time.Duration) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "shape.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE VIRTUAL TABLE customer_search USING fts5 (tokens, content = '', contentless_delete = 1, detail = none,
		prefix = '` + prefixes + `', tokenize = "unicode61 remove_diacritics 0 tokenchars '@.+-_'")`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		rowid := r.label
		if step > 0 {
			rowid = int64(i+1) * step
		}
		if _, err := tx.Exec(`INSERT INTO customer_search (rowid, tokens) VALUES (?, ?)`, rowid, r.document); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO customer_search (customer_search) VALUES ('optimize')`); err != nil {
		t.Fatal(err)
	}
	build := time.Since(start)
	var size int64
	if err := db.QueryRow(`SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'customer_search_%'`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	took := make([]time.Duration, 0, len(queries))
	for _, q := range queries {
		begin := time.Now()
		found, err := db.Query(`SELECT rowid FROM customer_search WHERE customer_search MATCH ? ORDER BY rowid LIMIT 20`, q)
		if err != nil {
			t.Fatal(err)
		}
		for found.Next() {
		}
		if err := found.Close(); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(begin))
	}
	slices.Sort(took)
	return build, size, took
}
