package main

import (
	"context"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// maxOperationNames bounds the label values clients can create by naming
// their operations; further names are counted as "other".
const maxOperationNames = 200

// metrics are the Prometheus series the service exports on /metrics.
type metrics struct {
	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	operations *prometheus.HistogramVec
	errors     *prometheus.CounterVec
	websockets prometheus.Gauge

	mu    sync.Mutex
	names map[string]bool
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		operations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bff_graphql_operation_duration_seconds", Help: "GraphQL operation latency by operation name (time to the first response).",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bff_graphql_errors_total", Help: "GraphQL errors by extensions.code.",
		}, []string{"code"}),
		websockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bff_websocket_connections", Help: "Open WebSocket connections.",
		}),
		names: map[string]bool{},
	}
	m.registry.MustRegister(m.requests, m.operations, m.errors, m.websockets,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) operationLabel(name string) string {
	if name == "" {
		return "anonymous"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.names[name] {
		return name
	}
	if len(m.names) >= maxOperationNames || len(name) > 64 {
		return "other"
	}
	m.names[name] = true
	return name
}

// aroundOperations times each operation up to its first response.
func (m *metrics) aroundOperations(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	label := m.operationLabel(graphql.GetOperationContext(ctx).OperationName)
	start := time.Now()
	handler := next(ctx)
	var once sync.Once
	return func(ctx context.Context) *graphql.Response {
		resp := handler(ctx)
		once.Do(func() { m.operations.WithLabelValues(label).Observe(time.Since(start).Seconds()) })
		return resp
	}
}
