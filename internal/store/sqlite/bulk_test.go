package sqlite

import (
	"context"
	"database/sql"
	"testing"
)

// A rowInsert writes every row it is given, in order, whatever their number
// against rowsPerStatement, and refuses values that are not whole rows.
func TestRowInsertWritesEveryRowInOrder(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one in-memory database
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (n INTEGER NOT NULL, half TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	insert := rowInsert{into: `INSERT INTO t (n, half)`, row: "(?, ?)", width: 2}
	for _, rows := range []int{0, 1, rowsPerStatement - 1, rowsPerStatement, rowsPerStatement + 1, 2*rowsPerStatement + 7} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		bulk := newBulkTx(tx)
		var values []any
		for n := range rows {
			values = append(values, n, map[bool]string{true: "even", false: "odd"}[n%2 == 0])
		}
		if _, err := insert.write(ctx, bulk, values); err != nil {
			t.Fatalf("%d rows: %v", rows, err)
		}
		bulk.close()
		got, err := tx.Query(`SELECT n, half FROM t ORDER BY rowid`)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for got.Next() {
			var n int
			var half string
			if err := got.Scan(&n, &half); err != nil {
				t.Fatal(err)
			}
			if n != want || half != map[bool]string{true: "even", false: "odd"}[n%2 == 0] {
				t.Fatalf("%d rows: row %d is (%d, %q)", rows, want, n, half)
			}
			want++
		}
		if err := got.Err(); err != nil {
			t.Fatal(err)
		}
		if want != rows {
			t.Fatalf("%d rows: %d written", rows, want)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := insert.write(ctx, db, []any{1, "odd", 2}); err == nil {
		t.Fatal("three values for rows of two were written")
	}
}
