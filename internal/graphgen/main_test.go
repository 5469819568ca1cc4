package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListMarshallingIsPointedAtMarshalSlice(t *testing.T) {
	dir := t.TempDir()
	generated := "func (ec *executionContext) marshalNThing(ctx context.Context, sel ast.SelectionSet, v []Thing) graphql.Marshaler {\n" +
		"\tret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {\n"
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("things.generated.go", generated)
	write("none.generated.go", "package graph\n")
	if err := replaceListMarshalling(dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "things.generated.go"))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(generated, gqlgenCall, ownCall, 1); string(got) != want {
		t.Errorf("rewritten to\n%s\nwant\n%s", got, want)
	}
}

// An upgrade of gqlgen that changes the call fails the generation instead of
// leaving gqlgen's marshalling in place unnoticed.
func TestAChangedGqlgenCallFailsTheGeneration(t *testing.T) {
	for name, src := range map[string]string{
		"other arguments": "ret := graphql.MarshalSliceConcurrently(ctx2, len(v), 0, false, f)\n",
		"no list at all":  "package graph\n",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x.generated.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := replaceListMarshalling(dir); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// gqlgenPlainField is gqlgen's function of a plain field, as v0.17 writes it.
const gqlgenPlainField = `package graph

func (ec *executionContext) _Thing_name(ctx context.Context, field graphql.CollectedField, obj *model.Thing) (ret graphql.Marshaler) {
	return graphql.ResolveField(
		ctx,
		ec.OperationContext,
		field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext_Thing_name(ctx, field)
		},
		func(ctx context.Context) (any, error) {
			return obj.Name, nil
		},
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v string) graphql.Marshaler {
			return ec.marshalNString2string(ctx, selections, v)
		},
		true,
		true,
	)
}
`

func TestPlainFieldsAreMarshalledDirectly(t *testing.T) {
	got, rewritten, err := rewritePlainFields([]byte(gqlgenPlainField), map[string]bool{"_Thing_name": true})
	if err != nil {
		t.Fatal(err)
	}
	want := `package graph

func (ec *executionContext) _Thing_name(ctx context.Context, field graphql.CollectedField, obj *model.Thing) (ret graphql.Marshaler) {
	return ec.marshalNString2string(ctx, field.Selections, obj.Name)
}
`
	if string(got) != want || len(rewritten) != 1 {
		t.Errorf("rewritten %v to\n%s\nwant\n%s", rewritten, got, want)
	}
	if same, rewritten, err := rewritePlainFields([]byte(gqlgenPlainField), map[string]bool{"_Thing_other": true}); err != nil || string(same) != gqlgenPlainField || len(rewritten) != 0 {
		t.Errorf("a function not named was rewritten: %v %v\n%s", rewritten, err, same)
	}
}

// A plain field whose generated function has another shape (field
// middleware, a nullable type, a resolver: what an upgrade of gqlgen could
// change) fails the generation, naming it.
func TestAPlainFieldOfAnotherShapeFailsTheGeneration(t *testing.T) {
	for name, change := range map[string][2]string{
		"field middleware": {"\t\tnil,\n", "\t\tec.middleware,\n"},
		"nullable":         {"\t\ttrue,\n\t)", "\t\tfalse,\n\t)"},
		"a resolver":       {"return obj.Name, nil", "return ec.resolvers.Thing().Name(ctx, obj)"},
		"another marshal":  {"ec.marshalNString2string(ctx, selections, v)", "ec.marshalNString2string(ctx, nil, v)"},
	} {
		src := strings.Replace(gqlgenPlainField, change[0], change[1], 1)
		if src == gqlgenPlainField {
			t.Fatalf("%s: the change does not apply", name)
		}
		if _, _, err := rewritePlainFields([]byte(src), map[string]bool{"_Thing_name": true}); err == nil || !strings.Contains(err.Error(), "_Thing_name") {
			t.Errorf("%s: %v", name, err)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.generated.go"), []byte(gqlgenPlainField), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := marshalPlainFieldsDirectly(dir, map[string]bool{"_Thing_gone": true}); err == nil || !strings.Contains(err.Error(), "_Thing_gone") {
		t.Errorf("a plain field without its function: %v", err)
	}
}
