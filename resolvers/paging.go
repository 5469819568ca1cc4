package resolvers

import (
	"context"
	"fmt"
	"slices"

	"github.com/99designs/gqlgen/graphql"

	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
)

// pageSize returns the page size a `first` argument asks for, or an
// *apperr.ValidationError outside 1..customers.MaxPageSize. Every page size
// the resolvers check themselves goes through it; the services check theirs.
func pageSize(first *int) (int, error) {
	n := deref(first)
	if n < 1 || n > customers.MaxPageSize {
		return 0, apperr.Invalid("first", "INVALID", fmt.Sprintf("first must be between 1 and %d", customers.MaxPageSize))
	}
	return n, nil
}

// pageEdges turns a page of items, asked for after the cursor after (nil for
// the first page), into a connection's edges, each with the cursor of the
// item's position if the operation selects the edges' cursor (if not, only
// the first and last items' are encoded: encoding them all was a tenth of a
// search's resolver), and the page's PageInfo as the Relay Cursor
// Connections specification has it (section 5): endCursor the last item's,
// startCursor the first's, and, since connections page forward only,
// hasPreviousPage true when the page was asked for after a cursor (the items
// before it).
func pageEdges[T, E any](ctx context.Context, items []T, more bool, after *string, position func(T) any, edge func(cursor string, item T) E) ([]E, *model.PageInfo) {
	out := make([]E, len(items))
	info := &model.PageInfo{HasNextPage: more, HasPreviousPage: after != nil}
	cursors := edgeFieldRequested(ctx, "cursor")
	for i, item := range items {
		var cursor string
		if cursors || i == 0 || i == len(items)-1 {
			cursor = encodeCursor(position(item))
		}
		if i == 0 {
			info.StartCursor = &cursor
		}
		if i == len(items)-1 {
			info.EndCursor = &cursor
		}
		out[i] = edge(cursor, item)
	}
	return out, info
}

// fieldRequested reports whether the client selected the named field of the
// object the current resolver returns, so that a connection computes its
// totalCount only when asked.
func fieldRequested(ctx context.Context, name string) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == name {
			return true
		}
	}
	return false
}

// edgeFieldRequested reports whether the connection being resolved selects
// one of names on its edges.
func edgeFieldRequested(ctx context.Context, names ...string) bool {
	opCtx := graphql.GetOperationContext(ctx)
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name != "edges" {
			continue
		}
		for _, e := range graphql.CollectFields(opCtx, f.Selections, nil) {
			if slices.Contains(names, e.Name) {
				return true
			}
		}
	}
	return false
}

// findAudit returns a page of the audit records q selects, after the
// position of the cursor after, if given, and whether more follow.
func (r *Resolver) findAudit(ctx context.Context, q audit.Query, first *int, after *string) ([]audit.Record, bool, error) {
	var err error
	if q.Before, err = decodeAfter(after, func(c audit.Cursor) string { return c.ID }); err != nil {
		return nil, false, err
	}
	return r.AuditService.Find(ctx, q, deref(first))
}

// auditPosition is the position of an audit record in its newest-first list.
func auditPosition(rec audit.Record) any { return audit.Cursor{At: rec.At, ID: rec.ID} }
