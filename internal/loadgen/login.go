package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotconsole/bff/internal/demo"
)

// BenchLogin is `server bench-login`: sign-in throughput with the real
// hashing parameters, and search latency and sign-ins while guessers
// attack: one account from one address, then many accounts from many
// addresses through a trusted proxy (the server runs with
// TRUSTED_PROXIES=127.0.0.0/8, each guess carries another X-Forwarded-For
// address of 198.18.0.0/15, the benchmarking range of RFC 2544), when
// returning customers sign in with their device tokens and new devices
// without.
func BenchLogin(ctx context.Context, args []string, out io.Writer) error {
	fs := flags("bench-login")
	dataDir := fs.String("data-dir", "./bench-login-data", "embedded store to serve (created with the demo domain)")
	duration := fs.Duration("duration", 20*time.Second, "length of each run")
	addr := fs.String("listen-addr", "127.0.0.1:18091", "where the server under test listens")
	attackers := fs.Int("attackers", 8, "workers that send wrong-password sign-ins during the attack runs")
	if err := parse(fs, args); err != nil {
		return err
	}
	child, base, err := startChild(ctx, "", *dataDir, *addr, "off", "TRUSTED_PROXIES=127.0.0.0/8")
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
	var devices sync.Map // email -> the device token its last sign-in returned
	customer := NewClient(base, 16)
	login := func(withDevice bool) func(context.Context, int) error {
		return func(ctx context.Context, n int) error {
			var res struct {
				Login struct {
					Token       *string `json:"token"`
					DeviceToken *string `json:"deviceToken"`
				} `json:"login"`
			}
			email := emails[n%len(emails)]
			vars := map[string]any{"e": email, "p": Password}
			if d, ok := devices.Load(email); ok && withDevice {
				vars["d"] = d
			}
			q := `mutation($e: String!, $p: String!, $d: String) { login(input: {domain: "demo", email: $e, password: $p, deviceToken: $d}) { token deviceToken } }`
			if err := customer.Do(ctx, q, vars, &res); err != nil {
				return err
			}
			if res.Login.Token == nil {
				return errors.New("login refused")
			}
			if res.Login.DeviceToken != nil {
				devices.Store(email, *res.Login.DeviceToken)
			}
			return nil
		}
	}
	fmt.Fprintf(out, "| run | concurrency | requests | errors | per second | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|---|\n")
	row := func(name string, r Result) {
		fmt.Fprintf(out, "| %s %s\n", name, r.String())
	}
	row("customer logins", Run(ctx, 4, *duration, login(true)))

	queries, err := SearchWorkload(ctx, operator, 7)
	if err != nil {
		return err
	}
	row("search, idle", Run(ctx, 4, *duration, Searches(operator, queries)))

	// One account from one address (the loopback peer, no proxy header).
	stop := attack(ctx, NewClient(base, 16), *attackers, func(int64) string { return emails[0] })
	row("search, brute force on one account", Run(ctx, 4, *duration, Searches(operator, queries)))
	fmt.Fprintf(out, "\nbrute force on one account: %d wrong-password sign-ins sent by %d workers during the run\n\n", stop(), *attackers)

	// Many accounts from many addresses through the trusted proxy.
	spread := NewClient(base, 16)
	pool := netip.MustParsePrefix("198.18.0.0/15")
	spread.Header = func(h http.Header) {
		a := pool.Addr().As4()
		n := rand.Uint32N(1 << 17)
		a[1] += byte(n >> 16)
		a[2], a[3] = byte(n>>8), byte(n)
		h.Set("X-Forwarded-For", netip.AddrFrom4(a).String())
	}
	stop = attack(ctx, spread, *attackers, func(n int64) string { return emails[n%int64(len(emails))] })
	fmt.Fprintf(out, "| run | concurrency | requests | errors | per second | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|---|\n")
	row("search, stuffing from many addresses via a trusted proxy", Run(ctx, 4, *duration, Searches(operator, queries)))
	row("returning customers (device tokens), during it", Run(ctx, 4, *duration, login(true)))
	row("new devices (no token), during it", Run(ctx, 4, *duration, login(false)))
	fmt.Fprintf(out, "\nstuffing: %d wrong-password sign-ins to %d accounts from random addresses of %s sent by %d workers during the three runs\n",
		stop(), len(emails), pool, *attackers)
	return nil
}

// attack starts workers that send wrong-password sign-ins through c to the
// account email(n) for the n-th guess, until the returned stop is called;
// stop returns how many were sent.
func attack(ctx context.Context, c *Client, workers int, email func(n int64) string) (stop func() int64) {
	burstCtx, cancel := context.WithCancel(ctx)
	var sent atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for burstCtx.Err() == nil {
				n := sent.Add(1)
				q := `mutation($e: String!, $p: String!) { login(input: {domain: "demo", email: $e, password: $p}) { token } }`
				_ = c.Do(burstCtx, q, map[string]any{"e": email(n), "p": fmt.Sprint("guess-", n)}, nil)
			}
		}()
	}
	return func() int64 { cancel(); wg.Wait(); return sent.Load() }
}
