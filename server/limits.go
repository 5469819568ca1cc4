package main

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Codes in extensions.code of operations refused for their shape, and for
// their cost (gqlgen's complexity limit answers the same code).
const (
	codeQueryTooLarge           = "QUERY_TOO_LARGE"
	codeComplexityLimitExceeded = "COMPLEXITY_LIMIT_EXCEEDED"
)

// Both are request errors (GraphQL over HTTP, "Request errors"): nothing of
// the operation runs, so the answer has no data entry, and is 400 as
// application/graphql-response+json (gqlgen answers 422 for an error of
// KindProtocol, which graphqlOverHTTP turns into those; of KindUser, 200
// with "data": null).
func init() {
	errcode.RegisterErrorType(codeQueryTooLarge, errcode.KindProtocol)
	errcode.RegisterErrorType(codeComplexityLimitExceeded, errcode.KindProtocol)
}

// shapeLimits refuses, after parsing and validation and before anything
// else walks the operation (the complexity limit included, which must be
// installed after it), operations that expand to more fields than maxFields,
// are too deep, carry too many aliases, or have too many root fields (one
// request must not carry a hundred sign-in attempts). It also answers
// introspection only for requests marked by withIntrospection (the admin
// playground's endpoint); /graphql refuses it as a validation failure.
//
// maxFields is the complexity limit: every field costs at least 1 there, so
// an operation that expands to more fields cannot pass it anyway, and
// refusing it here keeps gqlgen's complexity walk (which expands every
// fragment spread on every path) from ever seeing a document whose fragments
// fan out exponentially. gqlparser's validation rules already visit each
// fragment once.
type shapeLimits struct {
	maxFields, maxDepth, maxAliases, maxRootFields int
}

var (
	_ graphql.HandlerExtension        = shapeLimits{}
	_ graphql.OperationContextMutator = shapeLimits{}
)

func (shapeLimits) ExtensionName() string { return "ShapeLimits" }

func (shapeLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (l shapeLimits) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	s, err := measureOperation(ctx, oc.Doc, oc.Operation)
	if err != nil {
		return &gqlerror.Error{Message: "request cancelled", Extensions: map[string]any{"code": codeBadRequest}}
	}
	refuse := func(format string, args ...any) *gqlerror.Error {
		return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": codeQueryTooLarge}}
	}
	// GraphQL spec, "Single Root Field": a subscription's selection set has
	// exactly one response key. gqlparser's rule compares field names, so
	// two aliases of one subscription field passed it, and gqlgen then
	// answered INTERNAL.
	if oc.Operation.Operation == ast.Subscription && len(graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Subscription"})) > 1 {
		return &gqlerror.Error{Message: "a subscription selects exactly one root field", Extensions: map[string]any{"code": errcode.ValidationFailed}}
	}
	if s.introspection {
		if !introspectionAllowed(ctx) {
			return &gqlerror.Error{Message: "introspection is disabled on this endpoint", Extensions: map[string]any{"code": errcode.ValidationFailed}}
		}
		oc.DisableIntrospection = false
	}
	switch {
	case s.fields > l.maxFields:
		return &gqlerror.Error{Message: fmt.Sprintf("the operation expands to more than %d fields, over the complexity limit", l.maxFields),
			Extensions: map[string]any{"code": codeComplexityLimitExceeded}}
	case s.depth > l.maxDepth:
		return refuse("the operation is %d levels deep; at most %d are allowed", s.depth, l.maxDepth)
	case s.aliases > l.maxAliases:
		return refuse("the operation has %d aliases; at most %d are allowed", s.aliases, l.maxAliases)
	case s.roots > l.maxRootFields:
		return refuse("the operation has %d root fields; at most %d are allowed", s.roots, l.maxRootFields)
	}
	return nil
}

// shape is what the limits need to know of a selection set once every
// fragment in it is expanded. Counts saturate at shapeCap, so no document
// can overflow them.
type shape struct {
	fields        int  // field selections, nested ones included
	depth         int  // deepest nesting of fields (a set of leaves is 1 deep)
	aliases       int  // fields whose alias differs from their name
	roots         int  // fields at the set's own level
	introspection bool // selects __schema or __type somewhere
}

const shapeCap = 1 << 30

func saturate(n int) int { return min(n, shapeCap) }

// add merges the shape of a fragment (inline or spread) into s: its fields
// sit at s's level.
func (s *shape) add(o shape) {
	s.fields = saturate(s.fields + o.fields)
	s.depth = max(s.depth, o.depth)
	s.aliases = saturate(s.aliases + o.aliases)
	s.roots = saturate(s.roots + o.roots)
	s.introspection = s.introspection || o.introspection
}

// measureOperation returns the shape of op in time linear in the size of
// doc, whatever its fragments: each fragment is measured once and its shape
// reused at every spread that reaches it, where walking the expansion of
// `fragment F0 { ...F1 ...F1 } fragment F1 { ...F2 ...F2 } ...` would take
// 2^n steps. The depth below __schema and __type does not count:
// introspection costs what the schema's size costs, whatever its depth
// (GraphiQL's query is 15 deep), and only the admin playground may run it at
// all. It returns ctx's error if ctx ends first.
func measureOperation(ctx context.Context, doc *ast.QueryDocument, op *ast.OperationDefinition) (shape, error) {
	m := measurer{ctx: ctx, fragments: doc.Fragments, memo: map[string]shape{}, visiting: map[string]bool{}}
	s := m.set(op.SelectionSet)
	return s, m.err
}

type measurer struct {
	ctx       context.Context
	fragments ast.FragmentDefinitionList
	memo      map[string]shape
	visiting  map[string]bool // fragments being measured: a cycle adds nothing (validation refuses cycles anyway)
	err       error
}

func (m *measurer) set(set ast.SelectionSet) shape {
	var out shape
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			inner := m.set(s.SelectionSet)
			if s.Name == "__schema" || s.Name == "__type" {
				inner.depth, inner.introspection = 0, true
			}
			out.fields = saturate(out.fields + 1 + inner.fields)
			out.depth = max(out.depth, 1+inner.depth)
			out.aliases = saturate(out.aliases + inner.aliases)
			if s.Alias != "" && s.Alias != s.Name {
				out.aliases = saturate(out.aliases + 1)
			}
			out.roots = saturate(out.roots + 1)
			out.introspection = out.introspection || inner.introspection
		case *ast.InlineFragment:
			out.add(m.set(s.SelectionSet))
		case *ast.FragmentSpread:
			out.add(m.fragment(s.Name))
		}
	}
	return out
}

func (m *measurer) fragment(name string) shape {
	if s, done := m.memo[name]; done {
		return s
	}
	if m.visiting[name] || m.err != nil {
		return shape{}
	}
	if m.err = m.ctx.Err(); m.err != nil {
		return shape{}
	}
	def := m.fragments.ForName(name)
	if def == nil {
		return shape{}
	}
	m.visiting[name] = true
	s := m.set(def.SelectionSet)
	delete(m.visiting, name)
	m.memo[name] = s
	return s
}
