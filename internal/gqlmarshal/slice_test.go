package gqlmarshal

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

const testSchema = `
interface Named { name: String! }
type Device implements Named { name: String! owner: Customer! }
type Customer implements Named { name: String! devices: [Device!]! }
type Query { customers: [Customer!]! named: [Named!]! }
`

// concurrentTestFields plays generated code's concurrentFields for testSchema.
var concurrentTestFields = map[string]bool{"Customer.devices": true}

// listSelection returns the selection of the query's one root field.
func listSelection(t *testing.T, query string) ast.SelectionSet {
	t.Helper()
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: testSchema})
	doc, errs := gqlparser.LoadQuery(schema, query)
	if errs != nil {
		t.Fatalf("query %s: %v", query, errs)
	}
	return doc.Operations[0].SelectionSet[0].(*ast.Field).SelectionSet
}

func TestSelectsConcurrent(t *testing.T) {
	for query, want := range map[string]bool{
		`{ customers { name } }`:                                                       false,
		`{ customers { name devices { name } } }`:                                      true,
		`{ customers { ...F } } fragment F on Customer { name devices { name } }`:      true,
		`{ customers { ...F } } fragment F on Customer { name }`:                       false,
		`{ customers { ... on Customer { devices { name } } } }`:                       true,
		`{ customers { name devices { owner { name devices { name } } } } }`:           true,
		`{ named { name } }`:                                                           true, // on an interface: which object is known per element
		`{ named { ... on Device { name owner { name } } } }`:                          false,
		`{ named { ... on Device { owner { devices { name } } } } }`:                   true,
		`{ customers { __typename name } }`:                                            false,
		`{ customers { ... @include(if: true) { name } } }`:                            false,
		`{ customers { ... @include(if: true) { devices { name } } } }`:                true,
		`{ customers { name ...F } } fragment F on Named { ... on Customer { name } }`: false,
	} {
		if got := selectsConcurrent(listSelection(t, query), concurrentTestFields); got != want {
			t.Errorf("%s: selectsConcurrent = %v, want %v", query, got, want)
		}
	}
}

// overlapProbe marshals element 0 by waiting up to a while for element 1 to
// start, so that overlapped says whether the two ran at the same time.
type overlapProbe struct {
	started    [3]chan struct{}
	overlapped atomic.Bool
	indexes    [3]int
}

func newOverlapProbe() *overlapProbe {
	p := &overlapProbe{}
	for i := range p.started {
		p.started[i] = make(chan struct{})
	}
	return p
}

func (p *overlapProbe) marshal(ctx context.Context, i int) graphql.Marshaler {
	p.indexes[i] = *graphql.GetFieldContext(ctx).Index
	close(p.started[i])
	if i == 0 {
		select {
		case <-p.started[1]:
			p.overlapped.Store(true)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return graphql.MarshalInt(i)
}

func TestAListWithoutConcurrentFieldsIsMarshalledOneElementAfterTheOther(t *testing.T) {
	p := newOverlapProbe()
	ret := Slice(context.Background(), listSelection(t, `{ customers { name } }`), concurrentTestFields, 3, 0, false, p.marshal)
	if p.overlapped.Load() {
		t.Error("element 1 started while element 0 was being marshalled")
	}
	checkElements(t, ret, p)
}

func TestAListWithAConcurrentFieldIsMarshalledAnElementAGoroutine(t *testing.T) {
	p := newOverlapProbe()
	ret := Slice(context.Background(), listSelection(t, `{ customers { devices { name } } }`), concurrentTestFields, 3, 0, false, p.marshal)
	if !p.overlapped.Load() {
		t.Error("element 1 did not start while element 0 waited: the elements' concurrent fields would not wait together (a dataloader's batch)")
	}
	checkElements(t, ret, p)
}

func checkElements(t *testing.T, ret graphql.Array, p *overlapProbe) {
	t.Helper()
	if len(ret) != 3 {
		t.Fatalf("%d elements, want 3", len(ret))
	}
	for i, m := range ret {
		if got, want := text(m), text(graphql.MarshalInt(i)); got != want {
			t.Errorf("element %d = %s, want %s", i, got, want)
		}
		if p.indexes[i] != i {
			t.Errorf("element %d marshalled with the field context's index %d", i, p.indexes[i])
		}
	}
}

// text returns m as the response would hold it.
func text(m graphql.Marshaler) string {
	var b strings.Builder
	m.MarshalGQL(&b)
	return b.String()
}

func TestAPanickingElementIsNullWithAnError(t *testing.T) {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	ret := Slice(ctx, listSelection(t, `{ customers { name } }`), concurrentTestFields, 3, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		if i == 1 {
			panic("element 1")
		}
		return graphql.MarshalInt(i)
	})
	if got := text(ret); got != "[0,null,2]" {
		t.Errorf("elements %s, want [0,null,2]", got)
	}
	errs := graphql.GetErrors(ctx)
	if len(errs) != 1 || len(errs[0].Path) != 1 || errs[0].Path[0] != ast.PathIndex(1) {
		t.Errorf("errors %v, want one at index 1", errs)
	}
}
