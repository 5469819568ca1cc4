package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotconsole/bff/internal/customers"
)

const searchQuery = `query Search($q: String) {
  customers(query: $q, first: 20) {
    edges { cursor node { id firstName lastName email phone status } }
    pageInfo { hasNextPage endCursor }
  }
}`

// The shapes of the search workload's queries.
const (
	ShapeFirstName = "first name"
	ShapeLastName  = "last name"
	ShapeEmail     = "email"
	ShapePhone     = "phone digits"
	ShapeTwoTerms  = "two terms"
)

// Shapes lists the workload's shapes in the order the benchmark reports them.
var Shapes = []string{ShapeFirstName, ShapeLastName, ShapeEmail, ShapePhone, ShapeTwoTerms}

// SearchWorkload returns what operators type: for customers found by single
// letters, each prefix (1 to 8 characters) of a first name, a last name, an
// email or the phone digits, and of two-term queries, in typing order. The
// same seed gives the same queries on the same data. It returns an error if
// sampling the customers fails or finds none.
func SearchWorkload(ctx context.Context, c *Client, seed uint64) ([]string, error) {
	queries, _, err := searchWorkload(ctx, c, seed)
	return queries, err
}

// SearchWorkloadByShape returns SearchWorkload's queries grouped by shape.
func SearchWorkloadByShape(ctx context.Context, c *Client, seed uint64) (map[string][]string, error) {
	queries, shapes, err := searchWorkload(ctx, c, seed)
	byShape := map[string][]string{}
	for i, q := range queries {
		byShape[shapes[i]] = append(byShape[shapes[i]], q)
	}
	return byShape, err
}

// searchWorkload returns the workload's queries and the shape of each.
func searchWorkload(ctx context.Context, c *Client, seed uint64) ([]string, []string, error) {
	type person struct{ FirstName, LastName, Email, Phone string }
	var people []person
	for letter := 'a'; letter <= 'z'; letter++ {
		var out struct {
			Customers struct {
				Edges []struct{ Node person } `json:"edges"`
			} `json:"customers"`
		}
		q := `query($q: String) { customers(query: $q, first: 100) { edges { node { firstName lastName email phone } } } }`
		if err := c.Do(ctx, q, map[string]any{"q": string(letter)}, &out); err != nil {
			return nil, nil, fmt.Errorf("sample customers: %w", err)
		}
		for _, e := range out.Customers.Edges {
			people = append(people, e.Node)
		}
	}
	if len(people) == 0 {
		return nil, nil, errors.New("sample customers: the domain has none")
	}
	typing := func(s string) []string {
		r := []rune(s)
		var out []string
		for n := 1; n <= min(8, len(r)); n++ {
			out = append(out, string(r[:n]))
		}
		return out
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var queries, shapes []string
	add := func(shape string, qs ...string) {
		queries = append(queries, qs...)
		for range qs {
			shapes = append(shapes, shape)
		}
	}
	for range 4000 {
		p := people[rng.IntN(len(people))]
		switch rng.IntN(5) {
		case 0:
			add(ShapeFirstName, typing(p.FirstName)...)
		case 1:
			add(ShapeLastName, typing(p.LastName)...)
		case 2:
			add(ShapeEmail, typing(p.Email)...)
		case 3:
			if digits := customers.Digits(p.Phone); digits != "" {
				add(ShapePhone, typing(digits)...)
				continue
			}
			add(ShapeLastName, typing(p.LastName)...)
		default:
			first := []rune(p.FirstName)
			for _, last := range typing(p.LastName)[:min(4, len([]rune(p.LastName)))] {
				add(ShapeTwoTerms, string(first[:min(3, len(first))])+" "+last)
			}
		}
	}
	return queries, shapes, nil
}

// Searches returns a load function that runs the search queries in turn.
// Request bodies are encoded once and responses are only checked for
// errors, so that the load generator leaves the shared CPU to the server.
func Searches(c *Client, queries []string) func(context.Context, int) error {
	bodies := make([][]byte, len(queries))
	for i, q := range queries {
		bodies[i], _ = json.Marshal(map[string]any{"query": searchQuery, "variables": map[string]any{"q": q}})
	}
	return func(ctx context.Context, n int) error {
		return c.send(ctx, bodies[n%len(bodies)])
	}
}

// Result summarizes one run of a workload.
type Result struct {
	Concurrency   int
	Requests      int
	Errors        int
	PerSecond     float64
	P50, P95, P99 time.Duration
}

// String returns the result as a row of the benchmarks' Markdown tables.
func (r Result) String() string {
	return fmt.Sprintf("| %d | %d | %d | %.0f | %.2f | %.2f | %.2f |", r.Concurrency, r.Requests, r.Errors, r.PerSecond,
		ms(r.P50), ms(r.P95), ms(r.P99))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Run calls do from concurrency workers for duration (n counts the calls
// across workers) and measures each call's latency. A call cut off by the
// end of the run is not counted.
func Run(ctx context.Context, concurrency int, duration time.Duration, do func(ctx context.Context, n int) error) Result {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var next atomic.Int64
	var errCount atomic.Int64
	latencies := make([][]time.Duration, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				err := do(ctx, int(next.Add(1)))
				if ctx.Err() != nil {
					return // cut off by the end of the run: not a measurement
				}
				latencies[w] = append(latencies[w], time.Since(t0))
				if err != nil {
					errCount.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(latencies...)
	slices.Sort(all)
	return Result{Concurrency: concurrency, Requests: len(all), Errors: int(errCount.Load()),
		PerSecond: float64(len(all)) / elapsed.Seconds(), P50: percentile(all, .50), P95: percentile(all, .95), P99: percentile(all, .99)}
}

// RunCount calls do count times, one call after the other (n from 1), and
// measures each call's latency.
func RunCount(ctx context.Context, count int, do func(ctx context.Context, n int) error) Result {
	var latencies []time.Duration
	errCount := 0
	start := time.Now()
	for n := 1; n <= count && ctx.Err() == nil; n++ {
		t0 := time.Now()
		if err := do(ctx, n); err != nil {
			errCount++
		}
		latencies = append(latencies, time.Since(t0))
	}
	elapsed := time.Since(start)
	slices.Sort(latencies)
	return Result{Concurrency: 1, Requests: len(latencies), Errors: errCount, PerSecond: float64(len(latencies)) / elapsed.Seconds(),
		P50: percentile(latencies, .50), P95: percentile(latencies, .95), P99: percentile(latencies, .99)}
}

// percentile returns the p-th (0 to 1) of sorted durations, 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
