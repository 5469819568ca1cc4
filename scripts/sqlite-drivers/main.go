// Command sqlite-drivers measures the search index's work on three SQLite
// drivers for Go, in one run on one machine (docs/BENCHMARKS.md, "SQLite
// drivers"): the rows of a real store's search index inserted into an FTS5
// table of the store's shape in label order, FTS5's 'optimize', and a
// one-term prefix query (first 20 in label order) for each query, three
// times. It prints the build time, the file's size and the queries' p50
// and p99. The input comes from TestSearchIndexShapes (BFF_SEARCH_SHAPES_ROWS).
//
// Usage (from this folder; the cgo driver needs a C compiler):
//
//	go run . -rows /tmp/rows.tsv modernc ncruces
//	go run -tags 'cgo_driver sqlite_fts5' . -rows /tmp/rows.tsv mattn
package main

import (
	"bufio"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// drivers maps a name on the command line to its database/sql driver name;
// the files that import them add to it.
var drivers = map[string]string{}

type row struct {
	rowid    int64
	document string
}

func main() {
	rowsPath := flag.String("rows", "", "label<TAB>document lines, with the queries in the same path + .queries")
	n := flag.Int("n", 0, "the first n rows only (0: all)")
	flag.Parse()
	rows, queries := readInput(*rowsPath)
	if *n > 0 && *n < len(rows) {
		rows = rows[:*n]
	}
	for _, name := range flag.Args() {
		driver, ok := drivers[name]
		if !ok {
			log.Fatalf("unknown driver %q (built without its tag?)", name)
		}
		measure(name, driver, rows, queries)
	}
}

func readInput(path string) ([]row, []string) {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var rows []row
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		label, document, _ := strings.Cut(lines.Text(), "\t")
		rowid, err := strconv.ParseInt(label, 10, 64)
		if err != nil {
			log.Fatal(err)
		}
		rows = append(rows, row{rowid, document})
	}
	text, err := os.ReadFile(path + ".queries")
	if err != nil {
		log.Fatal(err)
	}
	return rows, strings.Split(strings.TrimSpace(string(text)), "\n")
}

func measure(name, driver string, rows []row, queries []string) {
	dir, err := os.MkdirTemp("", "sqlite-drivers")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open(driver, "file:"+filepath.Join(dir, "index.sqlite"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	must(db.Exec(`CREATE VIRTUAL TABLE customer_search USING fts5 (tokens, content = '', contentless_delete = 1, detail = none,
		prefix = '1 2 3 4 5 6 7 8', tokenize = "unicode61 remove_diacritics 0 tokenchars '@.+-_'")`))
	start := time.Now()
	tx, err := db.Begin()
	if err != nil {
		log.Fatal(err)
	}
	insert, err := tx.Prepare(`INSERT INTO customer_search (rowid, tokens) VALUES (?, ?)`)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rows {
		must(insert.Exec(r.rowid, r.document))
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	must(db.Exec(`INSERT INTO customer_search (customer_search) VALUES ('optimize')`))
	build := time.Since(start)
	var pages, pageSize int64
	if err := db.QueryRow(`SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&pages, &pageSize); err != nil {
		log.Fatal(err)
	}
	query, err := db.Prepare(`SELECT rowid FROM customer_search WHERE customer_search MATCH ? ORDER BY rowid LIMIT 20`)
	if err != nil {
		log.Fatal(err)
	}
	var took []time.Duration
	for range 3 {
		for _, q := range queries {
			begin := time.Now()
			found, err := query.Query(q)
			if err != nil {
				log.Fatal(err)
			}
			for found.Next() {
			}
			if err := found.Close(); err != nil {
				log.Fatal(err)
			}
			took = append(took, time.Since(begin))
		}
	}
	slices.Sort(took)
	fmt.Printf("%-8s %d rows: build %.1f s, file %.1f MiB; query p50 %v, p99 %v\n", name, len(rows), build.Seconds(),
		float64(pages*pageSize)/(1<<20), took[len(took)/2], took[len(took)*99/100])
}

func must(_ sql.Result, err error) {
	if err != nil {
		log.Fatal(err)
	}
}
