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
