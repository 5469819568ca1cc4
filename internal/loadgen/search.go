package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/sqlite"
)

// BenchSearch is `server bench-search`: it seeds the demo domain of an
// embedded store, starts the server on it and replays the as-you-type
// search workload over HTTP at each concurrency level, then prints the
// server's RSS, heap, collections and CPU time, and the database's size.
func BenchSearch(ctx context.Context, args []string, out io.Writer) error {
	fs := flags("bench-search")
	dataDir := fs.String("data-dir", "./bench-data", "embedded store to seed and serve (kept between runs)")
	n := fs.Int("n", 1_000_000, "customers in the demo domain")
	duration := fs.Duration("duration", 20*time.Second, "length of each concurrency level")
	levels := fs.String("concurrency", "1,8,32", "comma-separated concurrency levels")
	addr := fs.String("listen-addr", "127.0.0.1:18090", "where the server under test listens")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:18094", "where the server under test serves /metrics")
	cpuProfile := fs.String("cpuprofile", "", "write the server's CPU profile over the concurrency levels to this file (go tool pprof)")
	server := fs.String("server", "", "the server binary to measure on -data-dir as it is, without seeding (another build, side by side); default: this one, after seeding")
	if err := parse(fs, args); err != nil {
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
	child, client, err := startDemo(ctx, *server, *dataDir, *n, *addr, *metricsAddr, 64, out)
	if err != nil {
		return err
	}
	defer stopChild(child)
	byShape, err := SearchWorkloadByShape(ctx, client, 42)
	if err != nil {
		return err
	}
	queries, err := SearchWorkload(ctx, client, 42)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "workload: %d queries; warming up\n", len(queries))
	Run(ctx, 8, 5*time.Second, Searches(client, queries))
	before, err := serverGauges("http://" + *metricsAddr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n| concurrency | requests | errors | searches/s | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|\n")
	profiled := make(chan error, 1)
	if *cpuProfile != "" {
		go func() {
			profiled <- saveCPUProfile("http://"+*metricsAddr, *duration*time.Duration(len(concurrency)), *cpuProfile)
		}()
	} else {
		profiled <- nil
	}
	searches := 0
	for _, c := range concurrency {
		r := Run(ctx, c, *duration, Searches(client, queries))
		searches += r.Requests
		fmt.Fprintln(out, r)
	}
	if err := <-profiled; err != nil {
		return err
	}
	fmt.Fprintf(out, "\nEach shape alone at concurrency 8 for %s:\n\n| shape | requests | errors | searches/s | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|\n", *duration/2)
	for _, shape := range Shapes {
		r := Run(ctx, 8, *duration/2, Searches(client, byShape[shape]))
		searches += r.Requests
		fmt.Fprintf(out, "| %s | %d | %d | %.0f | %.2f | %.2f | %.2f |\n", shape, r.Requests, r.Errors, r.PerSecond, ms(r.P50), ms(r.P95), ms(r.P99))
	}
	after, err := serverGauges("http://" + *metricsAddr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nserver RSS: %s; database on disk: %.0f MiB (%s)\n", processRSS(child.Process.Pid), float64(dirSize(*dataDir))/(1<<20), *dataDir)
	cpu := after["process_cpu_seconds_total"] - before["process_cpu_seconds_total"]
	fmt.Fprintf(out, "server during the runs: %.0f collections, heap in use %.1f MiB at the end, %.1f s of CPU (%.2f ms a search)\n",
		after["go_gc_duration_seconds_count"]-before["go_gc_duration_seconds_count"], after["go_memstats_heap_inuse_bytes"]/(1<<20),
		cpu, 1000*cpu/float64(max(searches, 1)))
	return nil
}

// startDemo seeds the demo domain of the embedded store in dataDir to n
// customers (unless server names another build, which is measured on dataDir
// as it is), starts the server under test on it and returns it with a client
// of up to conns connections signed in as the demo ADMIN. The caller stops
// the child (stopChild).
func startDemo(ctx context.Context, server, dataDir string, n int, addr, metricsAddr string, conns int, out io.Writer) (*exec.Cmd, *Client, error) {
	if server == "" {
		if err := seed(ctx, dataDir, n, out); err != nil {
			return nil, nil, err
		}
	}
	child, base, err := startChild(ctx, server, dataDir, addr, metricsAddr)
	if err != nil {
		return nil, nil, err
	}
	client := NewClient(base, conns)
	if err := client.OperatorLogin(ctx, demo.Slug, demo.AdminEmail, Password); err != nil {
		stopChild(child)
		return nil, nil, err
	}
	return child, client, nil
}

// seed brings the demo domain of the embedded store in dir to n customers.
func seed(ctx context.Context, dir string, n int, out io.Writer) error {
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	at := time.Now()
	if err := demo.Ensure(ctx, st, Password, at, io.Discard); err != nil {
		return err
	}
	d, err := st.DomainBySlug(ctx, demo.Slug)
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
	g := demo.NewGenerator(d, passwords.Encode(passwords.OWASP, Password), int(have), at)
	_, err = demo.Insert(ctx, st, g, missing, 5000, nil)
	return err
}

// saveCPUProfile writes the CPU profile the server whose metrics listener is
// at metrics takes over the next d (net/http/pprof, served with PROFILING on)
// to path.
func saveCPUProfile(metrics string, d time.Duration, path string) error {
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", metrics, int(d.Seconds())))
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CPU profile: the server answered %s (is PROFILING on?)", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("CPU profile: %w", err)
	}
	return f.Close()
}
