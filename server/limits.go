package main

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// codeQueryTooLarge is the extensions.code of an operation refused for its shape.
const codeQueryTooLarge = "QUERY_TOO_LARGE"

// shapeLimits refuses, after parsing and before anything runs, operations
// that are too deep, carry too many aliases, or have too many root fields
// (one request must not carry a hundred sign-in attempts).
type shapeLimits struct {
	maxDepth, maxAliases, maxRootFields int
}

var (
	_ graphql.HandlerExtension        = shapeLimits{}
	_ graphql.OperationContextMutator = shapeLimits{}
)

func (shapeLimits) ExtensionName() string { return "ShapeLimits" }

func (shapeLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (l shapeLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	shape := measure(oc.Operation.SelectionSet, oc.Doc.Fragments, 1, map[string]bool{})
	roots := len(collectFields(oc.Operation.SelectionSet, oc.Doc.Fragments, map[string]bool{}))
	refuse := func(format string, args ...any) *gqlerror.Error {
		return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": codeQueryTooLarge}}
	}
	switch {
	case shape.depth > l.maxDepth:
		return refuse("the operation is %d levels deep; at most %d are allowed", shape.depth, l.maxDepth)
	case shape.aliases > l.maxAliases:
		return refuse("the operation has %d aliases; at most %d are allowed", shape.aliases, l.maxAliases)
	case roots > l.maxRootFields:
		return refuse("the operation has %d root fields; at most %d are allowed", roots, l.maxRootFields)
	}
	return nil
}

type shape struct{ depth, aliases int }

// measure returns the depth and alias count of a selection set, following
// fragments (each fragment once per path, so cycles cannot loop). The depth
// below __schema and __type does not count: introspection costs what the
// schema's size costs, whatever its depth (GraphiQL's query is 15 deep), and
// only the admin playground may run it at all.
func measure(set ast.SelectionSet, fragments ast.FragmentDefinitionList, depth int, visiting map[string]bool) shape {
	out := shape{depth: depth - 1}
	for _, sel := range set {
		var inner shape
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name != "__schema" && s.Name != "__type" {
				inner = measure(s.SelectionSet, fragments, depth+1, visiting)
			}
			inner.depth = max(inner.depth, depth)
			if s.Alias != "" && s.Alias != s.Name {
				inner.aliases++
			}
		case *ast.InlineFragment:
			inner = measure(s.SelectionSet, fragments, depth, visiting)
		case *ast.FragmentSpread:
			if visiting[s.Name] {
				continue
			}
			if def := fragments.ForName(s.Name); def != nil {
				visiting[s.Name] = true
				inner = measure(def.SelectionSet, fragments, depth, visiting)
				delete(visiting, s.Name)
			}
		}
		out.depth = max(out.depth, inner.depth)
		out.aliases += inner.aliases
	}
	return out
}

// collectFields returns the fields of a selection set, fragments included.
func collectFields(set ast.SelectionSet, fragments ast.FragmentDefinitionList, visiting map[string]bool) []*ast.Field {
	var fields []*ast.Field
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			fields = append(fields, s)
		case *ast.InlineFragment:
			fields = append(fields, collectFields(s.SelectionSet, fragments, visiting)...)
		case *ast.FragmentSpread:
			if def := fragments.ForName(s.Name); def != nil && !visiting[s.Name] {
				visiting[s.Name] = true
				fields = append(fields, collectFields(def.SelectionSet, fragments, visiting)...)
			}
		}
	}
	return fields
}
