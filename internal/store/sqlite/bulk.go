package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// writer is what the store's write helpers need of a transaction: a
// *sql.Tx, or a bulkTx that prepares each statement once.
type writer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// bulkTx is a transaction that prepares each distinct statement once, for
// writes that run the same few statements thousands of times (an import's
// batch of customers). Prepared per call, SQLite's parser was 14 % of an
// import's CPU (docs/BENCHMARKS.md, "Bulk import"). Its statements are
// short (a row or a window of rows each): the context is checked before
// each, not watched while it runs (see unwatched).
type bulkTx struct {
	*sql.Tx
	stmts map[string]*sql.Stmt
}

func newBulkTx(tx *sql.Tx) *bulkTx { return &bulkTx{Tx: tx, stmts: map[string]*sql.Stmt{}} }

// stmt returns query prepared in the transaction, or nil if it cannot be
// prepared (the caller then runs it unprepared, which reports the error).
func (t *bulkTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if s, ok := t.stmts[query]; ok {
		return s
	}
	s, err := t.Tx.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	t.stmts[query] = s
	return s
}

// unwatched returns ctx without its end, or ctx's error if it has ended.
// modernc.org/sqlite watches a context that can end with a goroutine and a
// progress handler for each statement, which cost 8 % of the writes of a
// million customers' import (docs/BENCHMARKS.md, "Bulk import").
func unwatched(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

func (t *bulkTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, err := unwatched(ctx)
	if err != nil {
		return nil, err
	}
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *bulkTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, err := unwatched(ctx)
	if err != nil {
		return nil, err
	}
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *bulkTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	quiet, err := unwatched(ctx)
	if err != nil {
		return t.Tx.QueryRowContext(ctx, query, args...) // a row that reports err
	}
	if s := t.stmt(quiet, query); s != nil {
		return s.QueryRowContext(quiet, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// close releases the prepared statements (the transaction's end does too;
// this only frees them sooner).
func (t *bulkTx) close() {
	for _, s := range t.stmts {
		_ = s.Close()
	}
}

// rowsPerStatement is how many rows a rowInsert writes with one statement:
// each statement's own cost (database/sql's call, the driver's, SQLite's
// reset) is then paid once for 50 rows. 200,000 rows of the customers'
// shape, prepared statements in one transaction: 1.26 s one row a
// statement, 0.98 s ten, 0.87 s fifty, 0.87 s a hundred (docs/BENCHMARKS.md,
// "Bulk import", twenty-fourth round). Fifty rows of the widest shape
// (customers, 20 values) bind 1,000 values, far below SQLite's limit of
// 32,766.
const rowsPerStatement = 50

// rowInsert is an INSERT of rows of one shape: the statement's head
// ("INSERT INTO t (a, b)"), the placeholders of one row ("(?, ?)"), and
// how many values a row takes.
type rowInsert struct {
	into, row string
	width     int
}

// statement returns the INSERT of n rows.
func (r rowInsert) statement(n int) string {
	return r.into + " VALUES " + strings.TrimSuffix(strings.Repeat(r.row+", ", n), ", ")
}

// write inserts the rows values holds, r.width values a row in order,
// rowsPerStatement a statement (a bulkTx prepares each length of statement
// once), and returns the last statement's result: for one row, its rowid.
func (r rowInsert) write(ctx context.Context, tx writer, values []any) (sql.Result, error) {
	if len(values)%r.width != 0 {
		return nil, fmt.Errorf("%s: %d values for rows of %d", r.into, len(values), r.width)
	}
	var full string // the statement of rowsPerStatement rows, built once
	var res sql.Result
	for len(values) > 0 {
		n := min(len(values)/r.width, rowsPerStatement)
		query := full
		if n < rowsPerStatement || full == "" {
			query = r.statement(n)
		}
		if n == rowsPerStatement {
			full = query
		}
		var err error
		if res, err = tx.ExecContext(ctx, query, values[:n*r.width]...); err != nil {
			return nil, err
		}
		values = values[n*r.width:]
	}
	return res, nil
}
