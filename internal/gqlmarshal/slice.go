// Package gqlmarshal marshals GraphQL lists of objects for the generated code
// in graph/ (internal/graphgen points gqlgen's list marshalling here).
//
// gqlgen marshals every element of a list of objects on a goroutine of its
// own (graphql.MarshalSliceConcurrently), so that fields resolved by a
// resolver, which may wait on a dataloader's batch window, wait together.
// A list whose selection holds no such field gains nothing from it and pays
// for a goroutine per element and its stack growing as the marshalling
// descends: measured on the search benchmark (`server bench-search -n 20000
// -concurrency 8`), 0.68 ms of CPU a search with a goroutine per customer,
// 0.48 ms on the calling goroutine (docs/BENCHMARKS.md).
package gqlmarshal

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Slice marshals a list of length elements as graphql.MarshalSliceConcurrently
// does (same arguments, same result, same handling of a panicking element),
// but one element after the other on the calling goroutine when sel, the
// list field's selection, selects no field that resolves concurrently,
// fragments and nested selections included. concurrent holds the fields
// gqlgen resolves concurrently (a resolver, or a model method that takes a
// context), as "Type.field". A field selected on an interface or a union
// counts as concurrent, since which object it is on is known only per
// element.
func Slice(ctx context.Context, sel ast.SelectionSet, concurrent map[string]bool, length int, workerLimit int64, omitPanicHandler bool, marshalElement func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	if length <= 1 || selectsConcurrent(sel, concurrent) {
		return graphql.MarshalSliceConcurrently(ctx, length, workerLimit, omitPanicHandler, marshalElement)
	}
	ret := make(graphql.Array, length)
	for i := range length {
		elementCtx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		ret[i] = marshalOne(elementCtx, i, omitPanicHandler, marshalElement)
	}
	return ret
}

// marshalOne marshals element i, recovering a panic into a GraphQL error and
// a null element unless omitPanicHandler, as gqlgen does.
func marshalOne(ctx context.Context, i int, omitPanicHandler bool, marshalElement func(ctx context.Context, i int) graphql.Marshaler) (m graphql.Marshaler) {
	if !omitPanicHandler {
		defer func() {
			if r := recover(); r != nil {
				graphql.AddError(ctx, graphql.Recover(ctx, r))
				m = graphql.Null
			}
		}()
	}
	return marshalElement(ctx, i)
}

// selectsConcurrent reports whether sel selects, at any depth, a field in
// concurrent, a field of an interface or a union, or a selection it does not
// know.
func selectsConcurrent(sel ast.SelectionSet, concurrent map[string]bool) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			parent := s.ObjectDefinition
			if parent == nil || parent.Kind != ast.Object || concurrent[parent.Name+"."+s.Name] || selectsConcurrent(s.SelectionSet, concurrent) {
				return true
			}
		case *ast.InlineFragment:
			if selectsConcurrent(s.SelectionSet, concurrent) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || selectsConcurrent(s.Definition.SelectionSet, concurrent) {
				return true
			}
		default:
			return true
		}
	}
	return false
}
