package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/resolvers"
)

// fanOut returns `query Q { ...F0 }` with fragments F0..F(n-1) that each
// spread the next one twice: under 2 KB at n=40, 2^n fields once expanded.
func fanOut(n int) string {
	var b strings.Builder
	b.WriteString("query Q { ...F0 }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Query { __typename }\n", n)
	return b.String()
}

// cpuTime returns the CPU time this process has used so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		t.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

func TestFragmentFanOutIsRefusedInLinearTime(t *testing.T) {
	s := startTest(t, nil)
	s.post(t, "", "{ __typename }", nil) // warm up
	for _, n := range []int{12, 20, 40, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			query := fanOut(n)
			before := cpuTime(t)
			resp := s.post(t, "", query, nil)
			used := cpuTime(t) - before
			t.Logf("n=%d: %d bytes, %s of CPU (server and client), %s", n, len(query), used, resp.code())
			if resp.code() != codeComplexityLimitExceeded {
				t.Fatalf("answer %+v, want %s", resp, codeComplexityLimitExceeded)
			}
			// The expansion has 2^n fields; walking it took 0.14 s at n=20
			// and doubled per level. A linear pass over 200 fragments takes
			// well under a millisecond: the budget only absorbs scheduling noise.
			if used > 100*time.Millisecond {
				t.Fatalf("refusing it cost %s of CPU", used)
			}
		})
	}
	// A fragment used many times, but expanding to little, still runs.
	resp := s.post(t, "", `query { ...A ...A ...A } fragment A on Query { __typename ...B ...B } fragment B on Query { __typename }`, nil)
	if resp.code() != "" || dig(resp.Data, "__typename") != "Query" {
		t.Fatalf("small reused fragments: %+v", resp)
	}
}

func TestMeasureStopsWhenTheRequestEnds(t *testing.T) {
	doc, err := parser.ParseQuery(&ast.Source{Input: fanOut(30)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := measureOperation(ctx, doc, doc.Operations[0]); err == nil {
		t.Fatal("measuring for a request that has ended went on")
	}
	s, err := measureOperation(context.Background(), doc, doc.Operations[0])
	if err != nil || s.fields != 1<<30 || s.roots != 1<<30 || s.depth != 1 {
		t.Fatalf("shape of the 2^30 expansion = %+v, %v; want saturated counts, depth 1", s, err)
	}
}

// FuzzPreExecutionChecks runs generated fragment graphs (fan-out, reuse,
// inline fragments, aliases, nesting, the odd cycle) through the real
// /graphql handler, whose parse, validation, shape and complexity checks
// must each cost time linear in the document: an input that takes more than
// the budget fails.
func FuzzPreExecutionChecks(f *testing.F) {
	f.Add([]byte{40, 2, 0, 2, 0, 2, 0, 2, 0})
	f.Add([]byte{63, 3, 1, 2, 3, 0, 1, 1, 1, 2, 2, 3, 3, 0})
	f.Add([]byte{5, 17, 16, 1, 0, 3})
	cfg := testConfig()
	h := newGraphQLHandler(cfg, &resolvers.Resolver{}, newGorillaSockets(nil, defaultSocketsPerAccount, clock.System(), func(int) {}), newMetrics())
	f.Fuzz(func(t *testing.T, data []byte) {
		query := fragmentGraph(data)
		body, _ := json.Marshal(map[string]any{"query": query})
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("%d-byte document took %s before an answer:\n%s", len(query), took, query)
		}
	})
}

// fragmentGraph turns fuzz bytes into a document of up to 64 fragments on
// Query, each with up to three spreads of later fragments (and, rarely, of
// an earlier one: a cycle), an aliased field, an inline fragment and a
// nested selection through viewer.
func fragmentGraph(data []byte) string {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		v := int(data[0])
		data = data[1:]
		return v
	}
	n := 1 + next()%64
	var b strings.Builder
	b.WriteString("query Q { ...F0 }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { __typename", i)
		for range next() % 4 {
			switch v := next(); {
			case v%16 == 15:
				fmt.Fprintf(&b, " ...F%d", v%(i+1)) // back to an earlier one: a cycle
			case i+1 < n:
				fmt.Fprintf(&b, " ...F%d", i+1+v%(n-i-1))
			}
		}
		switch next() % 4 {
		case 1:
			fmt.Fprintf(&b, " a%d: __typename", i)
		case 2:
			b.WriteString(" ... on Query { __typename }")
		case 3:
			b.WriteString(" viewer { __typename }")
		}
		b.WriteString(" }\n")
	}
	return b.String()
}
