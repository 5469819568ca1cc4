package main

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
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

// documentLimits refuses, before gqlparser validates it, a document whose
// validation alone would cost far more than any client's document. The
// rule "Field Selection Merging" (GraphQL spec, section 5.3.2; gqlparser's
// OverlappingFieldsCanBeMerged) compares every two fields that a selection
// set, with its inline fragments and the fragments it spreads, selects under
// one response key, and their selections likewise, and gqlparser reports
// every pair that conflicts: `status` written 400 times on each side of
// `... on Operator` and `... on Customer` took 6.5 s of CPU and answered
// 160,000 errors (46 MB) to an anonymous 5.7 KB request; 45 fragments of 10
// copies each, spread into one set, 101,025 errors (25 MB); 4,970 copies of
// one field, under the token limit, 2.4 s before the complexity limit
// refused them. So, before validation:
//   - at most maxSelections selections (fields, fragment spreads, inline
//     fragments) written in the whole document (MAX_SELECTIONS; the
//     console's largest document has under 50, GraphiQL's introspection
//     about 150);
//   - each operation and fragment, its fragments expanded, selects at most
//     maxFields fields (the complexity limit, which would refuse more after
//     validation anyway), and at most maxFieldPairs pairs of fields that
//     share a response path (fieldPairs), which is what validation compares.
//
// They answer QUERY_TOO_LARGE (COMPLEXITY_LIMIT_EXCEEDED for maxFields). A
// document in the query cache passed validation before and is not measured
// again; any other is parsed here and again by gqlgen (parsing is linear,
// and bounded by the token limit). gqlgen runs this before it parses
// (graphql.OperationParameterMutator), after the persisted-query extension
// has filled the query in.
type documentLimits struct {
	validated     graphql.Cache[*ast.QueryDocument] // the handler's query cache
	tokenLimit    int
	maxSelections int
	maxFields     int
}

// maxFieldPairs bounds the pairs of fields sharing a response path that
// validation compares in one operation or fragment (see documentLimits).
// Clients' documents compare a few hundred: Apollo Client adds __typename
// to every selection set, so 20 colocated fragments spread into one set,
// each with id and __typename, make 420 pairs; 70 of them would make 4,970.
// A pair that conflicts costs validation an error: 10,000 of them took
// 170 ms of CPU, 2,500 about 40.
const maxFieldPairs = 5_000

var _ graphql.OperationParameterMutator = documentLimits{}

func (documentLimits) ExtensionName() string { return "DocumentLimits" }

func (documentLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters implements graphql.OperationParameterMutator.
func (l documentLimits) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if params.Query == "" {
		return nil
	}
	if _, ok := l.validated.Get(ctx, params.Query); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: params.Query}, l.tokenLimit)
	if err != nil {
		return nil // gqlgen parses it again and says what is wrong
	}
	refuse := func(code, format string, args ...any) *gqlerror.Error {
		return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": code}}
	}
	if n := countSelections(doc); n > l.maxSelections {
		return refuse(codeQueryTooLarge, "the document has %d selections; at most %d are allowed", n, l.maxSelections)
	}
	roots := make([]ast.SelectionSet, 0, len(doc.Operations)+len(doc.Fragments))
	for _, op := range doc.Operations {
		roots = append(roots, op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		roots = append(roots, f.SelectionSet)
	}
	for _, root := range roots {
		fields, pairs := fieldPairs(doc.Fragments, root, l.maxFields)
		switch {
		case fields > l.maxFields:
			return refuse(codeComplexityLimitExceeded, "the operation expands to more than %d fields, over the complexity limit", l.maxFields)
		case pairs > maxFieldPairs:
			return refuse(codeQueryTooLarge, "the document selects one response key so often that validating it would compare %d pairs of fields; at most %d are allowed", pairs, maxFieldPairs)
		}
	}
	return nil
}

// maxRequestErrors bounds the errors of an answer without data (a request
// error: parse, validation, limits), as graphql-js's validate does with its
// maxErrors (100): past it the answer keeps the first maxRequestErrors and
// says the rest were left out, so that no document, whatever validation
// finds in it, is answered with megabytes of errors.
const maxRequestErrors = 100

// capRequestErrors is a response middleware (handler.AroundResponses)
// that applies maxRequestErrors.
func capRequestErrors(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || resp.Data != nil || len(resp.Errors) <= maxRequestErrors {
		return resp
	}
	left := len(resp.Errors) - maxRequestErrors
	code := resp.Errors[0].Extensions["code"]
	resp.Errors = append(resp.Errors[:maxRequestErrors:maxRequestErrors], &gqlerror.Error{
		Message:    fmt.Sprintf("%d more errors left out: fix these first", left),
		Extensions: map[string]any{"code": code},
	})
	return resp
}

// countSelections returns the selections written in doc: fields, fragment
// spreads and inline fragments of its operations and fragments, each
// fragment once.
func countSelections(doc *ast.QueryDocument) int {
	n := 0
	var count func(set ast.SelectionSet)
	count = func(set ast.SelectionSet) {
		for _, sel := range set {
			n++
			switch s := sel.(type) {
			case *ast.Field:
				count(s.SelectionSet)
			case *ast.InlineFragment:
				count(s.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		count(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		count(f.SelectionSet)
	}
	return n
}

// fieldPairs expands root's fragments (a named fragment once in each
// selection set that spreads it, as validation compares it once) and
// returns the fields it selects and the pairs of them that share a response
// path (the response keys from root down), which Field Selection Merging
// compares: Σ n(n-1)/2 over the paths. It stops expanding past maxFields.
func fieldPairs(fragments ast.FragmentDefinitionList, root ast.SelectionSet, maxFields int) (fields, pairs int) {
	atPath := map[string]int{}
	visiting := map[string]bool{} // fragments being expanded: a cycle adds nothing (validation refuses cycles)
	var expand func(set ast.SelectionSet, path string, spread map[string]bool)
	expand = func(set ast.SelectionSet, path string, spread map[string]bool) {
		for _, sel := range set {
			if fields > maxFields {
				return
			}
			switch s := sel.(type) {
			case *ast.Field:
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				fields++
				inner := path + "\x00" + key
				atPath[inner]++
				expand(s.SelectionSet, inner, map[string]bool{})
			case *ast.InlineFragment:
				expand(s.SelectionSet, path, spread)
			case *ast.FragmentSpread:
				def := fragments.ForName(s.Name)
				if def == nil || spread[s.Name] || visiting[s.Name] {
					continue
				}
				spread[s.Name], visiting[s.Name] = true, true
				expand(def.SelectionSet, path, spread)
				delete(visiting, s.Name)
			}
		}
	}
	expand(root, "", map[string]bool{})
	for _, n := range atPath {
		pairs = saturate(pairs + n*(n-1)/2)
	}
	return fields, pairs
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
