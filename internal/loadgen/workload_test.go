package loadgen

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRunCountsCallsAndErrors runs a fake load: every third call fails.
func TestRunCountsCallsAndErrors(t *testing.T) {
	r := Run(context.Background(), 3, 200*time.Millisecond, func(_ context.Context, n int) error {
		time.Sleep(time.Millisecond)
		if n%3 == 0 {
			return errors.New("refused")
		}
		return nil
	})
	if r.Concurrency != 3 || r.Requests == 0 || r.Errors == 0 || r.Errors > r.Requests/2 {
		t.Fatalf("result %+v", r)
	}
	if r.P50 < time.Millisecond || r.P50 > r.P95 || r.P95 > r.P99 {
		t.Fatalf("percentiles %v %v %v", r.P50, r.P95, r.P99)
	}
	if row := r.String(); !strings.HasPrefix(row, "| 3 | ") || strings.Count(row, "|") != 8 {
		t.Fatalf("row %q", row)
	}
}

// TestRunCountCallsInTurn runs a fake load of 10 calls, every third failing.
func TestRunCountCallsInTurn(t *testing.T) {
	var seen []int
	r := RunCount(context.Background(), 10, func(_ context.Context, n int) error {
		seen = append(seen, n)
		time.Sleep(time.Millisecond)
		if n%3 == 0 {
			return errors.New("refused")
		}
		return nil
	})
	if r.Concurrency != 1 || r.Requests != 10 || r.Errors != 3 || len(seen) != 10 || seen[0] != 1 || seen[9] != 10 {
		t.Fatalf("result %+v after calls %v", r, seen)
	}
	if r.P50 < time.Millisecond || r.P50 > r.P95 || r.P95 > r.P99 {
		t.Fatalf("percentiles %v %v %v", r.P50, r.P95, r.P99)
	}
}

func TestPercentile(t *testing.T) {
	var sorted []time.Duration
	for i := 1; i <= 100; i++ {
		sorted = append(sorted, time.Duration(i))
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {.5, 51}, {.99, 100}, {1, 100}} {
		if got := percentile(sorted, tt.p); got != tt.want {
			t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, .5); got != 0 {
		t.Errorf("percentile of nothing = %v", got)
	}
}
