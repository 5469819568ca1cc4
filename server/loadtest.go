package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/sqlite"
)

// The search benchmark: `server bench-search` seeds the embedded store, starts
// the real server as a child process and replays an as-you-type workload over
// HTTP. docs/BENCHMARKS.md has the command and the figures.

const searchBenchQuery = `query Search($q: String) {
  customers(query: $q, first: 20) {
    edges { cursor node { id firstName lastName email phone status } }
    pageInfo { hasNextPage endCursor }
  }
}`

// graphqlClient posts GraphQL requests with a bearer token.
type graphqlClient struct {
	url   string
	token string
	http  *http.Client
}

func newGraphQLClient(baseURL string, conns int) *graphqlClient {
	return &graphqlClient{url: baseURL + "/graphql", http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns},
	}}
}

// do sends one operation and decodes its data into out (when not nil). It
// returns an error for a transport failure or any GraphQL error.
func (c *graphqlClient) do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var decoded struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&decoded); err != nil {
		return fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if len(decoded.Errors) > 0 {
		return errors.New(decoded.Errors[0].Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(decoded.Data, out)
}

func (c *graphqlClient) operatorLogin(ctx context.Context, domain, email, password string) error {
	var out struct {
		OperatorLogin struct {
			Token *string `json:"token"`
		} `json:"operatorLogin"`
	}
	q := `mutation($d: String!, $e: String!, $p: String!) { operatorLogin(input: {domain: $d, email: $e, password: $p}) { token } }`
	if err := c.do(ctx, q, map[string]any{"d": domain, "e": email, "p": password}, &out); err != nil {
		return err
	}
	if out.OperatorLogin.Token == nil {
		return errors.New("operator login refused")
	}
	c.token = *out.OperatorLogin.Token
	return nil
}

// searchWorkload returns what operators type: for customers found by single
// letters, each prefix (1 to 8 characters) of a first name, a last name, an
// email or the phone digits, and of two-term queries, in typing order.
func searchWorkload(ctx context.Context, c *graphqlClient, seed uint64) ([]string, error) {
	type person struct{ FirstName, LastName, Email, Phone string }
	var people []person
	for letter := 'a'; letter <= 'z'; letter++ {
		var out struct {
			Customers struct {
				Edges []struct{ Node person } `json:"edges"`
			} `json:"customers"`
		}
		q := `query($q: String) { customers(query: $q, first: 100) { edges { node { firstName lastName email phone } } } }`
		if err := c.do(ctx, q, map[string]any{"q": string(letter)}, &out); err != nil {
			return nil, fmt.Errorf("sample customers: %w", err)
		}
		for _, e := range out.Customers.Edges {
			people = append(people, e.Node)
		}
	}
	if len(people) == 0 {
		return nil, errors.New("sample customers: the domain has none")
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
	var queries []string
	for range 4000 {
		p := people[rng.IntN(len(people))]
		switch rng.IntN(5) {
		case 0:
			queries = append(queries, typing(p.FirstName)...)
		case 1:
			queries = append(queries, typing(p.LastName)...)
		case 2:
			queries = append(queries, typing(p.Email)...)
		case 3:
			if digits := customers.Digits(p.Phone); digits != "" {
				queries = append(queries, typing(digits)...)
				continue
			}
			queries = append(queries, typing(p.LastName)...)
		default:
			first := []rune(p.FirstName)
			for _, last := range typing(p.LastName)[:min(4, len([]rune(p.LastName)))] {
				queries = append(queries, string(first[:min(3, len(first))])+" "+last)
			}
		}
	}
	return queries, nil
}

// loadResult summarizes one run of the workload.
type loadResult struct {
	Concurrency   int
	Requests      int
	Errors        int
	PerSecond     float64
	P50, P95, P99 time.Duration
}

func (r loadResult) String() string {
	return fmt.Sprintf("| %d | %d | %d | %.0f | %.2f | %.2f | %.2f |", r.Concurrency, r.Requests, r.Errors, r.PerSecond,
		ms(r.P50), ms(r.P95), ms(r.P99))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// runLoad calls do from concurrency workers for duration (n counts the calls
// across workers) and measures each call's latency.
func runLoad(ctx context.Context, concurrency int, duration time.Duration, do func(ctx context.Context, n int) error) loadResult {
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
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))]
	}
	return loadResult{Concurrency: concurrency, Requests: len(all), Errors: int(errCount.Load()),
		PerSecond: float64(len(all)) / elapsed.Seconds(), P50: pct(.50), P95: pct(.95), P99: pct(.99)}
}

// searching returns a load function that runs the search workload. Request
// bodies are encoded once and responses are only checked for errors, so
// that the load generator leaves the shared CPU to the server.
func searching(c *graphqlClient, queries []string) func(context.Context, int) error {
	bodies := make([][]byte, len(queries))
	for i, q := range queries {
		bodies[i], _ = json.Marshal(map[string]any{"query": searchBenchQuery, "variables": map[string]any{"q": q}})
	}
	return func(ctx context.Context, n int) error {
		return c.send(ctx, bodies[n%len(bodies)])
	}
}

// send posts an encoded request and returns an error for a failed request
// or a response carrying GraphQL errors.
func (c *graphqlClient) send(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(answer, []byte(`"errors":`)) {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, answer)
	}
	return nil
}

// benchSearchPassword signs in to the benchmark's own data directory only.
const benchSearchPassword = "bench-search-password"

// runBenchSearch is `server bench-search`.
func runBenchSearch(ctx context.Context, args []string, out io.Writer) error {
	fs := flagSet("bench-search")
	dataDir := fs.String("data-dir", "./bench-data", "embedded store to seed and serve (kept between runs)")
	n := fs.Int("n", 1_000_000, "customers in the demo domain")
	duration := fs.Duration("duration", 20*time.Second, "length of each concurrency level")
	levels := fs.String("concurrency", "1,8,32", "comma-separated concurrency levels")
	addr := fs.String("listen-addr", "127.0.0.1:18090", "where the server under test listens")
	if err := parseSubcommand(fs, args); err != nil {
		return err
	}
	var concurrency []int
	for _, l := range strings.Split(*levels, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(l))
		if err != nil || c < 1 {
			return fmt.Errorf("bad -concurrency %q", *levels)
		}
		concurrency = append(concurrency, c)
	}
	if err := seedForBench(ctx, *dataDir, *n, out); err != nil {
		return err
	}
	child, base, err := startChild(ctx, *dataDir, *addr, "off")
	if err != nil {
		return err
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	client := newGraphQLClient(base, 64)
	if err := client.operatorLogin(ctx, demoSlug, demoAdminEmail, benchSearchPassword); err != nil {
		return err
	}
	queries, err := searchWorkload(ctx, client, 42)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "workload: %d queries; warming up\n", len(queries))
	runLoad(ctx, 8, 5*time.Second, searching(client, queries))
	fmt.Fprintf(out, "\n| concurrency | requests | errors | searches/s | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|\n")
	for _, c := range concurrency {
		fmt.Fprintln(out, runLoad(ctx, c, *duration, searching(client, queries)))
	}
	fmt.Fprintf(out, "\nserver RSS: %s; database on disk: %.0f MiB (%s)\n", processRSS(child.Process.Pid), float64(dirSize(*dataDir))/(1<<20), *dataDir)
	return nil
}

// seedForBench brings the demo domain of the store in dir to n customers.
func seedForBench(ctx context.Context, dir string, n int, out io.Writer) error {
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	if err := ensureDemo(ctx, st, benchSearchPassword, io.Discard); err != nil {
		return err
	}
	d, err := st.DomainBySlug(ctx, demoSlug)
	if err != nil {
		return err
	}
	have, err := st.CountCustomers(ctx, d.ID)
	if err != nil {
		return err
	}
	missing := n - int(have)
	if missing <= 0 {
		return nil
	}
	fmt.Fprintf(out, "seeding %d customers into %s\n", missing, dir)
	g := demo.NewGenerator(d, passwords.Encode(passwords.OWASP, benchSearchPassword), int(have), now())
	_, err = insertGenerated(ctx, st, g, missing, 5000, nil)
	return err
}

func waitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("the server did not become ready within 60 s")
}

// processRSS returns a process's resident memory as /proc reports it.
func processRSS(pid int) string {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(rest)
		}
	}
	return "unknown"
}

func dirSize(dir string) int64 {
	var total int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			total += info.Size()
		}
		return nil
	})
	return total
}

// runBenchLogin is `server bench-login`: sign-in throughput with the real
// hashing parameters, and search latency while one account is brute-forced.
func runBenchLogin(ctx context.Context, args []string, out io.Writer) error {
	fs := flagSet("bench-login")
	dataDir := fs.String("data-dir", "./bench-login-data", "embedded store to serve (created with the demo domain)")
	duration := fs.Duration("duration", 20*time.Second, "length of each run")
	addr := fs.String("listen-addr", "127.0.0.1:18091", "where the server under test listens")
	if err := parseSubcommand(fs, args); err != nil {
		return err
	}
	child, base, err := startChild(ctx, *dataDir, *addr, "off")
	if err != nil {
		return err
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	operator := newGraphQLClient(base, 64)
	if err := operator.operatorLogin(ctx, demoSlug, demoAdminEmail, benchSearchPassword); err != nil {
		return err
	}
	var page struct {
		Customers struct {
			Edges []struct {
				Node struct{ Email, Status string }
			} `json:"edges"`
		} `json:"customers"`
	}
	if err := operator.do(ctx, `{ customers(status: ACTIVE, first: 100) { edges { node { email status } } } }`, nil, &page); err != nil {
		return err
	}
	var emails []string
	for _, e := range page.Customers.Edges {
		emails = append(emails, e.Node.Email)
	}
	customer := newGraphQLClient(base, 16)
	login := func(password string) func(context.Context, int) error {
		return func(ctx context.Context, n int) error {
			var res struct {
				Login struct {
					Token *string `json:"token"`
				} `json:"login"`
			}
			q := `mutation($e: String!, $p: String!) { login(input: {domain: "demo", email: $e, password: $p}) { token } }`
			if err := customer.do(ctx, q, map[string]any{"e": emails[n%len(emails)], "p": password}, &res); err != nil {
				return err
			}
			if res.Login.Token == nil {
				return errors.New("login refused")
			}
			return nil
		}
	}
	fmt.Fprintf(out, "| run | concurrency | requests | errors | per second | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|---|\n")
	row := func(name string, r loadResult) {
		fmt.Fprintf(out, "| %s %s\n", name, r.String())
	}
	row("customer logins", runLoad(ctx, 4, *duration, login(benchSearchPassword)))

	queries, err := searchWorkload(ctx, operator, 7)
	if err != nil {
		return err
	}
	row("search, idle", runLoad(ctx, 4, *duration, searching(operator, queries)))
	burstCtx, stopBurst := context.WithCancel(ctx)
	attacker := newGraphQLClient(base, 16)
	var guesses atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for burstCtx.Err() == nil {
				q := `mutation($p: String!) { login(input: {domain: "demo", email: "` + emails[0] + `", password: $p}) { token } }`
				_ = attacker.do(burstCtx, q, map[string]any{"p": fmt.Sprint("guess-", guesses.Add(1))}, nil)
			}
		}()
	}
	searchUnderAttack := runLoad(ctx, 4, *duration, searching(operator, queries))
	stopBurst()
	wg.Wait()
	row("search, brute force on one account", searchUnderAttack)
	fmt.Fprintf(out, "\nbrute force: %d wrong-password logins sent by 8 workers during the run\n", guesses.Load())
	return nil
}

// startChild starts this binary as the server on the embedded store in dir
// (creating the demo domain with the benchmark password) and waits until ready.
func startChild(ctx context.Context, dir, addr, metricsAddr string) (*exec.Cmd, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	child := exec.CommandContext(ctx, self)
	child.Env = append(os.Environ(), "DATA_DIR="+dir, "LISTEN_ADDR="+addr, "METRICS_ADDR="+metricsAddr, "LOG_LEVEL=warn", "DEMO_PASSWORD="+benchSearchPassword)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return nil, "", err
	}
	base := "http://" + addr
	if err := waitReady(ctx, base); err != nil {
		_ = child.Process.Kill()
		_ = child.Wait()
		return nil, "", err
	}
	return child, base, nil
}
