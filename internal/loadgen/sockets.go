package loadgen

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/iotconsole/bff/internal/demo"
)

// BenchSockets is `server bench-sockets`: n authenticated WebSocket
// subscribers on one instance, the memory and goroutines they cost, how long
// one status change takes to reach all of them, and whether everything is
// given back when they leave. The caller raises the process's limit on open
// files: every subscriber is one.
func BenchSockets(ctx context.Context, args []string, out io.Writer) error {
	fs := flags("bench-sockets")
	dataDir := fs.String("data-dir", "./bench-sockets-data", "embedded store to serve (created with the demo domain)")
	n := fs.Int("n", 10_000, "WebSocket subscribers")
	addr := fs.String("listen-addr", "127.0.0.1:18092", "where the server under test listens")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:18093", "where the server under test serves /metrics")
	if err := parse(fs, args); err != nil {
		return err
	}
	// Every subscriber is the support operator's (one sign-in): the
	// server under test lets one account hold them all.
	child, base, err := startChild(ctx, "", *dataDir, *addr, *metricsAddr, fmt.Sprintf("WS_MAX_SOCKETS_PER_ACCOUNT=%d", max(*n, 1)))
	if err != nil {
		return err
	}
	defer stopChild(child)
	ops := NewClient(base, 4)
	if err := ops.OperatorLogin(ctx, demo.Slug, demo.SupportEmail, Password); err != nil {
		return err
	}
	watcherToken := ops.Token
	if err := ops.OperatorLogin(ctx, demo.Slug, demo.AdminEmail, Password); err != nil {
		return err
	}
	var page struct {
		Customers struct {
			Edges []struct {
				Node struct{ ID string }
			} `json:"edges"`
		} `json:"customers"`
	}
	if err := ops.Do(ctx, `{ customers(status: ACTIVE, first: 1) { edges { node { id } } } }`, nil, &page); err != nil || len(page.Customers.Edges) == 0 {
		return fmt.Errorf("find a customer to disable: %v", err)
	}
	target := page.Customers.Edges[0].Node.ID

	baseline, err := serverGauges("http://" + *metricsAddr)
	if err != nil {
		return err
	}
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/graphql"
	arrivals := make([]time.Time, *n)
	conns := make([]*websocket.Conn, *n)
	var wg sync.WaitGroup
	connect := make(chan int)
	errs := make(chan error, *n)
	opened := time.Now()
	// 32 connect at once: a server lets one address hold no more sockets
	// that have not passed connection_init (maxWaitingPerAddress).
	for range 32 {
		go func() {
			for i := range connect {
				c, err := subscriber(wsURL, watcherToken)
				if err != nil {
					errs <- err
					wg.Done()
					continue
				}
				conns[i] = c
				go func() {
					defer wg.Done()
					for {
						var msg map[string]any
						if err := c.ReadJSON(&msg); err != nil {
							return
						}
						if msg["type"] == "next" {
							arrivals[i] = time.Now()
						}
					}
				}()
			}
		}()
	}
	wg.Add(*n)
	for i := range *n {
		connect <- i
	}
	close(connect)
	time.Sleep(2 * time.Second)
	if len(errs) > 0 {
		return fmt.Errorf("%d sockets failed, first: %w", len(errs), <-errs)
	}
	fmt.Fprintf(out, "%d subscribers connected and subscribed in %s\n", *n, time.Since(opened).Round(time.Millisecond)-2*time.Second)
	atRest, err := serverGauges("http://" + *metricsAddr)
	if err != nil {
		return err
	}

	sent := time.Now()
	q := `mutation($id: ID!) { setAccountStatus(input: {customerId: $id, status: DISABLED, reason: "bench"}) { changed } }`
	if err := ops.Do(ctx, q, map[string]any{"id": target}, nil); err != nil {
		return err
	}
	time.Sleep(5 * time.Second)
	var delays []time.Duration
	for _, at := range arrivals {
		if !at.IsZero() {
			delays = append(delays, at.Sub(sent))
		}
	}
	slices.Sort(delays)
	pct := func(p float64) time.Duration { return percentile(delays, p) }

	for _, c := range conns {
		if c != nil {
			_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			_ = c.Close()
		}
	}
	wg.Wait()
	// Goroutines go at once; the heap shrinks at the next collection, which
	// the runtime forces within two minutes when nothing allocates.
	closed := time.Now()
	var after map[string]float64
	for {
		time.Sleep(5 * time.Second)
		if after, err = serverGauges("http://" + *metricsAddr); err != nil {
			return err
		}
		back := after["go_goroutines"] <= baseline["go_goroutines"] && after["go_memstats_heap_inuse_bytes"] <= 1.1*baseline["go_memstats_heap_inuse_bytes"]
		if back || time.Since(closed) > 150*time.Second {
			break
		}
	}
	fmt.Fprintf(out, "back to baseline %s after the last socket closed\n", time.Since(closed).Round(time.Second))
	mib := func(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
	fmt.Fprintf(out, `
| | goroutines | RSS | heap in use | open sockets |
|---|---|---|---|---|
| before | %.0f | %s | %s | %.0f |
| %d subscribers at rest | %.0f | %s | %s | %.0f |
| after all disconnected | %.0f | %s | %s | %.0f |

per subscriber: %.1f KiB of RSS, %.1f KiB of heap, %.1f goroutines
status event delivered to %d of %d subscribers: p50 %s, p99 %s, max %s
`,
		baseline["go_goroutines"], mib(baseline["process_resident_memory_bytes"]), mib(baseline["go_memstats_heap_inuse_bytes"]), baseline["bff_websocket_connections"],
		*n, atRest["go_goroutines"], mib(atRest["process_resident_memory_bytes"]), mib(atRest["go_memstats_heap_inuse_bytes"]), atRest["bff_websocket_connections"],
		after["go_goroutines"], mib(after["process_resident_memory_bytes"]), mib(after["go_memstats_heap_inuse_bytes"]), after["bff_websocket_connections"],
		(atRest["process_resident_memory_bytes"]-baseline["process_resident_memory_bytes"])/float64(*n)/1024,
		(atRest["go_memstats_heap_inuse_bytes"]-baseline["go_memstats_heap_inuse_bytes"])/float64(*n)/1024,
		(atRest["go_goroutines"]-baseline["go_goroutines"])/float64(*n),
		len(delays), *n, pct(.5).Round(time.Millisecond), pct(.99).Round(time.Millisecond), pct(1).Round(time.Millisecond))
	return nil
}

// subscriber opens one graphql-transport-ws socket that watches the domain's status changes.
func subscriber(url, token string) (*websocket.Conn, error) {
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 30 * time.Second,
		ReadBufferSize: 1024, WriteBufferSize: 1024}
	c, _, err := dialer.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	if err := c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"token": token}}); err != nil {
		return nil, err
	}
	var ack map[string]any
	if err := c.ReadJSON(&ack); err != nil || ack["type"] != "connection_ack" {
		return nil, fmt.Errorf("connection_init: %v %v", ack, err)
	}
	err = c.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { customerStatusChanged { status customer { id } } }`}})
	return c, err
}
