package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotconsole/bff/internal/demo"
)

// BenchLogin is `server bench-login`: sign-in throughput with the real
// hashing parameters, and search latency while one account is brute-forced.
func BenchLogin(ctx context.Context, args []string, out io.Writer) error {
	fs := flags("bench-login")
	dataDir := fs.String("data-dir", "./bench-login-data", "embedded store to serve (created with the demo domain)")
	duration := fs.Duration("duration", 20*time.Second, "length of each run")
	addr := fs.String("listen-addr", "127.0.0.1:18091", "where the server under test listens")
	if err := parse(fs, args); err != nil {
		return err
	}
	child, base, err := startChild(ctx, "", *dataDir, *addr, "off")
	if err != nil {
		return err
	}
	defer stopChild(child)
	operator := NewClient(base, 64)
	if err := operator.OperatorLogin(ctx, demo.Slug, demo.AdminEmail, Password); err != nil {
		return err
	}
	var page struct {
		Customers struct {
			Edges []struct {
				Node struct{ Email, Status string }
			} `json:"edges"`
		} `json:"customers"`
	}
	if err := operator.Do(ctx, `{ customers(status: ACTIVE, first: 100) { edges { node { email status } } } }`, nil, &page); err != nil {
		return err
	}
	var emails []string
	for _, e := range page.Customers.Edges {
		emails = append(emails, e.Node.Email)
	}
	customer := NewClient(base, 16)
	login := func(password string) func(context.Context, int) error {
		return func(ctx context.Context, n int) error {
			var res struct {
				Login struct {
					Token *string `json:"token"`
				} `json:"login"`
			}
			q := `mutation($e: String!, $p: String!) { login(input: {domain: "demo", email: $e, password: $p}) { token } }`
			if err := customer.Do(ctx, q, map[string]any{"e": emails[n%len(emails)], "p": password}, &res); err != nil {
				return err
			}
			if res.Login.Token == nil {
				return errors.New("login refused")
			}
			return nil
		}
	}
	fmt.Fprintf(out, "| run | concurrency | requests | errors | per second | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|---|\n")
	row := func(name string, r Result) {
		fmt.Fprintf(out, "| %s %s\n", name, r.String())
	}
	row("customer logins", Run(ctx, 4, *duration, login(Password)))

	queries, err := SearchWorkload(ctx, operator, 7)
	if err != nil {
		return err
	}
	row("search, idle", Run(ctx, 4, *duration, Searches(operator, queries)))
	burstCtx, stopBurst := context.WithCancel(ctx)
	attacker := NewClient(base, 16)
	var guesses atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for burstCtx.Err() == nil {
				q := `mutation($p: String!) { login(input: {domain: "demo", email: "` + emails[0] + `", password: $p}) { token } }`
				_ = attacker.Do(burstCtx, q, map[string]any{"p": fmt.Sprint("guess-", guesses.Add(1))}, nil)
			}
		}()
	}
	searchUnderAttack := Run(ctx, 4, *duration, Searches(operator, queries))
	stopBurst()
	wg.Wait()
	row("search, brute force on one account", searchUnderAttack)
	fmt.Fprintf(out, "\nbrute force: %d wrong-password logins sent by 8 workers during the run\n", guesses.Load())
	return nil
}
