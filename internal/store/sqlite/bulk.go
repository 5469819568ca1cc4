package sqlite

import (
	"context"
	"database/sql"
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
