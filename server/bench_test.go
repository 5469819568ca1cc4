package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/loadgen"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/mongotest"
)

// BenchmarkSearchMongo replays the search workload of `server bench-search`
// against the Mongo store with 10,000 customers: on in-process FerretDB
// (which uses no index, so the figures are for information only) or on
// MONGODB_URI. Run it with
//
//	go test ./server -run '^$' -bench SearchMongo -benchtime 1x
func BenchmarkSearchMongo(b *testing.B) {
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.ListenAddr, cfg.MetricsAddr, cfg.MongoURI, cfg.LogLevel, cfg.InstanceID = "127.0.0.1:0", "", mongotest.URI(b), zerolog.WarnLevel, "bench"
	cfg.SessionTTL, cfg.ShutdownGrace, cfg.AssistTTL = time.Hour, 5*time.Second, time.Minute
	srv, err := start(ctx, cfg, clock.System(), zerolog.New(io.Discard), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.shutdown(ctx)
	if err := demo.Ensure(ctx, srv.store, loadgen.Password, now(), io.Discard); err != nil {
		b.Fatal(err)
	}
	d, err := srv.store.DomainBySlug(ctx, demo.Slug)
	if err != nil {
		b.Fatal(err)
	}
	g := demo.NewGenerator(d, passwords.Encode(passwords.OWASP, loadgen.Password), demo.CustomerCount, now())
	if _, err := demo.Insert(ctx, srv.store, g, 10_000-demo.CustomerCount, 2000, nil); err != nil {
		b.Fatal(err)
	}
	client := loadgen.NewClient(srv.URL(), 64)
	if err := client.OperatorLogin(ctx, demo.Slug, demo.AdminEmail, loadgen.Password); err != nil {
		b.Fatal(err)
	}
	queries, err := loadgen.SearchWorkload(ctx, client, 42)
	if err != nil {
		b.Fatal(err)
	}
	server := "FerretDB (in-process)"
	if !mongotest.IsFerretDB(b) {
		server = "MongoDB"
	}
	for b.Loop() {
		fmt.Fprintf(os.Stdout, "\n%s, 10,000 customers\n| concurrency | requests | errors | searches/s | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|\n", server)
		for _, c := range []int{1, 8, 32} {
			fmt.Fprintln(os.Stdout, loadgen.Run(ctx, c, 10*time.Second, loadgen.Searches(client, queries)))
		}
	}
}
