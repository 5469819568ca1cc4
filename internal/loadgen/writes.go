package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/iotconsole/bff/internal/assist"
)

const (
	activeCustomersQuery = `query { customers(status: ACTIVE, first: 100) { edges { node { id } } } }`
	setStatusMutation    = `mutation($i: SetAccountStatusInput!) {
  setAccountStatus(input: $i) { changed customer { status } userErrors { code message } }
}`
	startAssistMutation = `mutation($i: StartAssistInput!) {
  startAssist(input: $i) { assistSession { id state } userErrors { code message } }
}`
	endAssistMutation = `mutation($i: EndAssistInput!) {
  endAssist(input: $i) { assistSession { state } userErrors { code message } }
}`
)

// userErrors is the part of a payload that says why nothing was done.
type userErrors []struct{ Code, Message string }

func (u userErrors) err() error {
	if len(u) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s", u[0].Code, u[0].Message)
}

// BenchWrites is `server bench-writes`: it seeds the demo domain of an
// embedded store (or measures another build, -server, on it as it is),
// starts the server and times the console's writes through GraphQL as the
// demo ADMIN: setAccountStatus at -concurrency (each call disables or
// enables one of 50 active customers in turn, so every call changes
// something),
// then remote assistance, startAssist followed by endAssist, one pair at a
// time (an operator runs one assistance at once) on 50 other active
// customers, as many pairs as an
// operator may start at once (assist.StartBurst; then one per
// assist.StartInterval).
func BenchWrites(ctx context.Context, args []string, out io.Writer) error {
	fs := flags("bench-writes")
	dataDir := fs.String("data-dir", "./bench-writes", "embedded store to seed and serve (kept between runs)")
	n := fs.Int("n", 20_000, "customers in the demo domain")
	duration := fs.Duration("duration", 10*time.Second, "length of each run")
	concurrency := fs.Int("concurrency", 4, "concurrent status changes")
	addr := fs.String("listen-addr", "127.0.0.1:18095", "where the server under test listens")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:18096", "where the server under test serves /metrics")
	server := fs.String("server", "", "the server binary to measure on -data-dir as it is, without seeding (another build, side by side); default: this one, after seeding")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *concurrency < 1 {
		return fmt.Errorf("bad -concurrency %d", *concurrency)
	}
	child, client, err := startDemo(ctx, *server, *dataDir, *n, *addr, *metricsAddr, 16, out)
	if err != nil {
		return err
	}
	defer stopChild(child)
	var page struct {
		Customers struct {
			Edges []struct {
				Node struct{ ID string }
			}
		}
	}
	if err := client.Do(ctx, activeCustomersQuery, nil, &page); err != nil {
		return err
	}
	var ids []string
	for _, e := range page.Customers.Edges {
		ids = append(ids, e.Node.ID)
	}
	if len(ids) < 4*(*concurrency) {
		return fmt.Errorf("the demo domain has %d active customers, want at least %d", len(ids), 4*(*concurrency))
	}
	// Half of them change status, the other half is assisted (a disabled
	// account cannot be).
	statusIDs, assistIDs := ids[:len(ids)/2], ids[len(ids)/2:]

	fmt.Fprintf(out, "\n| run | concurrency | requests | errors | per second | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|---|\n")
	status := Run(ctx, *concurrency, *duration, func(ctx context.Context, n int) error {
		// Call n changes customer n mod len(statusIDs), all active at first:
		// disabled on the first round through the list, enabled on the
		// next, and so on, so every call is a change.
		s, reason := "DISABLED", "benchmark"
		if (n/len(statusIDs))%2 == 1 {
			s, reason = "ACTIVE", ""
		}
		vars := map[string]any{"i": map[string]any{"customerId": statusIDs[n%len(statusIDs)], "status": s, "reason": reason}}
		var r struct {
			SetAccountStatus struct{ UserErrors userErrors }
		}
		if err := client.Do(ctx, setStatusMutation, vars, &r); err != nil {
			return err
		}
		return r.SetAccountStatus.UserErrors.err()
	})
	fmt.Fprintf(out, "| status changes | %s\n", resultCells(status))
	assists := RunCount(ctx, assist.StartBurst, func(ctx context.Context, n int) error {
		vars := map[string]any{"i": map[string]any{"customerId": assistIDs[n%len(assistIDs)], "reason": "benchmark", "mode": "VIEW"}}
		var started struct {
			StartAssist struct {
				AssistSession *struct{ ID string }
				UserErrors    userErrors
			}
		}
		if err := client.Do(ctx, startAssistMutation, vars, &started); err != nil {
			return err
		}
		if err := started.StartAssist.UserErrors.err(); err != nil {
			return err
		}
		if started.StartAssist.AssistSession == nil {
			return errors.New("startAssist returned no session")
		}
		var ended struct {
			EndAssist struct{ UserErrors userErrors }
		}
		if err := client.Do(ctx, endAssistMutation, map[string]any{"i": map[string]any{"assistSessionId": started.StartAssist.AssistSession.ID}}, &ended); err != nil {
			return err
		}
		return ended.EndAssist.UserErrors.err()
	})
	fmt.Fprintf(out, "| assists (start and end) | %s\n", resultCells(assists))
	fmt.Fprintf(out, "\n(assists: %d pairs in turn, an operator's burst, not -duration; then one per %s)\n", assist.StartBurst, assist.StartInterval)
	fmt.Fprintf(out, "\nserver RSS: %s\n", processRSS(child.Process.Pid))
	return nil
}

// resultCells returns r's cells after the run's name in the benchmarks'
// Markdown tables.
func resultCells(r Result) string {
	return fmt.Sprintf("%d | %d | %d | %.0f | %.2f | %.2f | %.2f |", r.Concurrency, r.Requests, r.Errors, r.PerSecond, ms(r.P50), ms(r.P95), ms(r.P99))
}
