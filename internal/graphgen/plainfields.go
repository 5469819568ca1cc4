package main

import (
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/99designs/gqlgen/codegen"
	gqlast "github.com/vektah/gqlparser/v2/ast"
)

// plainScalars are the built-in scalars whose generated marshalling never
// gives null for a Go value (graphql.MarshalString, MarshalID, MarshalInt,
// MarshalBoolean), so it never reads the field context to report one.
// Float is not among them: a NaN marshals to null.
var plainScalars = map[string]bool{"String": true, "ID": true, "Int": true, "Boolean": true}

// isPlain reports whether f is a plain field: a non-null scalar of
// plainScalars or an enum, read from a field of the object's Go struct (no
// resolver, no method, no arguments, no directives), on an object that is no
// root operation type. gqlgen resolves such a field as any other: a field
// context (a context value), the field middleware and a deferred panic
// handler, about a tenth of a search's CPU for its 20 customers' six fields
// (docs/BENCHMARKS.md, "Plain fields"). Read directly, it cannot fail or
// panic: the object it is read from is never nil there (the generated code
// marshals a nil object as null before it reads a field).
//
// What a plain field gives up is the field middleware: the server installs
// none (no handler.AroundFields), and must not, or must drop this.
func isPlain(obj *codegen.Object, f *codegen.Field) bool {
	t := f.TypeReference
	if obj.Root || obj.Stream || f.IsResolver || !f.IsVariable() || len(f.Args) > 0 || f.HasDirectives() ||
		t == nil || !t.GQL.NonNull || t.IsPtr() || t.IsSlice() {
		return false
	}
	switch t.Definition.Kind {
	case gqlast.Enum:
		return true
	case gqlast.Scalar:
		return plainScalars[t.Definition.Name]
	}
	return false
}

// marshalPlainFieldsDirectly rewrites the generated function of each plain
// field in dir's generated files, named in plain ("_Type_field"), from
//
//	return graphql.ResolveField(ctx, ec.OperationContext, field, fieldContext,
//		func(ctx context.Context) (any, error) { return obj.Name, nil }, nil,
//		func(ctx context.Context, selections ast.SelectionSet, v string) graphql.Marshaler {
//			return ec.marshalNString2string(ctx, selections, v)
//		}, true, true)
//
// to
//
//	return ec.marshalNString2string(ctx, field.Selections, obj.Name)
//
// It fails if a plain field's function is missing or has another shape (an
// upgrade of gqlgen that generates it differently), naming it.
func marshalPlainFieldsDirectly(dir string, plain map[string]bool) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.generated.go"))
	if err != nil {
		return err
	}
	found := map[string]bool{}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		out, rewritten, err := rewritePlainFields(src, plain)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, f := range rewritten {
			found[f] = true
		}
		if len(rewritten) > 0 {
			if err := os.WriteFile(name, out, 0o644); err != nil {
				return err
			}
		}
	}
	var missing []string
	for f := range plain {
		if !found[f] {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("no generated function for plain fields %v: update internal/graphgen", missing)
	}
	return nil
}

// rewritePlainFields rewrites the functions of src named in plain (see
// marshalPlainFieldsDirectly) and returns the formatted source and the
// functions rewritten.
func rewritePlainFields(src []byte, plain map[string]bool) ([]byte, []string, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		return nil, nil, err
	}
	type edit struct {
		start, end int
		body       string
	}
	var edits []edit
	var rewritten []string
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || !plain[fn.Name.Name] {
			continue
		}
		value, marshal, ok := resolveFieldShape(fn)
		if !ok {
			return nil, nil, fmt.Errorf("%s is not gqlgen's ResolveField of a struct field: update internal/graphgen", fn.Name.Name)
		}
		text := func(n ast.Node) string {
			return string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
		}
		edits = append(edits, edit{
			start: fset.Position(fn.Body.Pos()).Offset,
			end:   fset.Position(fn.Body.End()).Offset,
			body:  fmt.Sprintf("{\n\treturn %s(ctx, field.Selections, %s)\n}", text(marshal), text(value)),
		})
		rewritten = append(rewritten, fn.Name.Name)
	}
	if len(edits) == 0 {
		return src, nil, nil
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := slices.Clone(src)
	for _, e := range edits {
		out = slices.Concat(out[:e.start], []byte(e.body), out[e.end:])
	}
	formatted, err := format.Source(out)
	if err != nil {
		return nil, nil, err
	}
	return formatted, rewritten, nil
}

// resolveFieldShape checks that fn's body is gqlgen's ResolveField of a
// struct field, without field middleware, of a non-null type, and returns
// the value it reads (obj.Name) and the marshal function it calls
// (ec.marshalN...).
func resolveFieldShape(fn *ast.FuncDecl) (value, marshal ast.Expr, ok bool) {
	if len(fn.Body.List) != 1 {
		return nil, nil, false
	}
	ret, ok := fn.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return nil, nil, false
	}
	call, ok := ret.Results[0].(*ast.CallExpr)
	if !ok || !isSelector(call.Fun, "graphql", "ResolveField") || len(call.Args) != 9 {
		return nil, nil, false
	}
	a := call.Args
	if !isIdent(a[0], "ctx") || !isIdent(a[2], "field") || !isIdent(a[5], "nil") || !isIdent(a[8], "true") {
		return nil, nil, false
	}
	// the resolver: func(ctx context.Context) (any, error) { return obj.Name, nil }
	resolver, ok := singleReturn(a[4])
	if !ok || len(resolver.Results) != 2 || !isIdent(resolver.Results[1], "nil") {
		return nil, nil, false
	}
	read, ok := resolver.Results[0].(*ast.SelectorExpr)
	if !ok || !isIdent(read.X, "obj") {
		return nil, nil, false
	}
	// the marshaller: func(ctx, selections, v T) graphql.Marshaler { return ec.marshalX(ctx, selections, v) }
	marshaller, ok := singleReturn(a[6])
	if !ok || len(marshaller.Results) != 1 {
		return nil, nil, false
	}
	mc, ok := marshaller.Results[0].(*ast.CallExpr)
	if !ok || len(mc.Args) != 3 || !isIdent(mc.Args[0], "ctx") || !isIdent(mc.Args[1], "selections") || !isIdent(mc.Args[2], "v") {
		return nil, nil, false
	}
	if sel, ok := mc.Fun.(*ast.SelectorExpr); !ok || !isIdent(sel.X, "ec") {
		return nil, nil, false
	}
	return read, mc.Fun, true
}

// singleReturn returns the return statement of a function literal whose body
// is that statement alone.
func singleReturn(e ast.Expr) (*ast.ReturnStmt, bool) {
	lit, ok := e.(*ast.FuncLit)
	if !ok || len(lit.Body.List) != 1 {
		return nil, false
	}
	ret, ok := lit.Body.List[0].(*ast.ReturnStmt)
	return ret, ok
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func isSelector(e ast.Expr, x, sel string) bool {
	s, ok := e.(*ast.SelectorExpr)
	return ok && isIdent(s.X, x) && s.Sel.Name == sel
}
