// Package loadgen holds the load generators behind the server's bench
// subcommands (`server bench-search`, `server bench-login`, `server
// bench-sockets`; docs/BENCHMARKS.md has the commands and the figures).
//
// Each generator starts the server under test as a child process by running
// the current executable without arguments, so it must be called from the
// server binary itself. The child gets the environment of the generator
// (GOGC included: set it to measure the server with another GC target) plus
// its data directory, addresses, a quiet log level and the benchmark
// password. The generator's own process always runs with a GC target of 300,
// whatever the environment says, so that it takes as little of the shared
// CPU as it can and the same share whatever the server under test is given.
package loadgen

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Password is the password of the demo operators and customers in the
// benchmarks' own data directories.
const Password = "bench-search-password"

// generatorGC is the GC target of the load generator's own process.
const generatorGC = 300

// flags returns the FlagSet of a bench subcommand.
func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses a bench subcommand's args, printing the flags on -h, and
// sets the load generator's GC target.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
		}
		return fmt.Errorf("bad command line for %s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bad command line for %s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	debug.SetGCPercent(generatorGC)
	return nil
}

// startChild starts binary ("" for this executable) as the server on the
// embedded store in dir (creating the demo domain with Password) and waits
// until it is ready.
// metricsAddr is the child's METRICS_ADDR ("off" for none); env adds NAME=value settings. It returns the
// running command and the server's base URL.
func startChild(ctx context.Context, binary, dir, addr, metricsAddr string, env ...string) (*exec.Cmd, string, error) {
	if binary == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, "", err
		}
		binary = self
	}
	child := exec.CommandContext(ctx, binary)
	child.Env = append(os.Environ(), "DATA_DIR="+dir, "LISTEN_ADDR="+addr, "METRICS_ADDR="+metricsAddr, "LOG_LEVEL=warn", "DEMO_PASSWORD="+Password, "PROFILING=on")
	child.Env = append(child.Env, env...)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return nil, "", err
	}
	base := "http://" + addr
	if err := WaitReady(ctx, base); err != nil {
		_ = child.Process.Kill()
		_ = child.Wait()
		return nil, "", err
	}
	return child, base, nil
}

// stopChild ends a child started by startChild.
func stopChild(child *exec.Cmd) {
	_ = child.Process.Kill()
	_ = child.Wait()
}

// WaitReady waits until the server at base answers /readyz with 200. It
// returns an error after 60 s, or ctx's error.
func WaitReady(ctx context.Context, base string) error {
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

// dirSize returns the bytes of the files under dir.
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

// serverGauges reads the Prometheus samples the server at base exports
// (counters too), by name with their labels.
func serverGauges(base string) (map[string]float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	gauges := map[string]float64{}
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			gauges[name] = v
		}
	}
	return gauges, scanner.Err()
}
