package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/mongo"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/sqlite"
)

// Most tests start on a store holding the demo domain (2,000 customers with their devices).
// Writing it costs about a second on the embedded store and three to four on the in-process
// FerretDB, once per test; so each store's demo is written once per test binary, through the
// service's own code (demo.Ensure), and copied for each test into a store of its own: the files of
// the embedded store, whole; on MongoDB the domain, its operators and the first
// mongoDemoCustomers customers with their devices, since FerretDB spends seconds on inserting
// the 4,000 documents of the whole demo (the tests that need many customers, paging and search,
// run on the embedded store and in the stores' contract suite).

// mongoDemoCustomers is how many of the demo's customers a Mongo test store gets.
const mongoDemoCustomers = 100

var sqliteDemo struct {
	once sync.Once
	dir  string
	err  error
}

// copySQLiteDemo fills the empty data directory dir with a copy of the embedded demo store, and
// reports whether it did: not when dir holds anything already (a store shared by two instances
// is made once) or the configuration asks for another demo.
func copySQLiteDemo(t *testing.T, cfg config) bool {
	t.Helper()
	if cfg.MongoURI != "" || !cfg.Demo || cfg.DemoPassword != testPassword || cfg.DataDir == "" {
		return false
	}
	if entries, err := os.ReadDir(cfg.DataDir); err == nil && len(entries) > 0 {
		return false
	}
	sqliteDemo.once.Do(func() {
		sqliteDemo.dir, sqliteDemo.err = os.MkdirTemp("", "bff-demo-store-")
		if sqliteDemo.err != nil {
			return
		}
		tcfg := testConfig()
		tcfg.DataDir = sqliteDemo.dir
		srv, err := start(context.Background(), tcfg, &clock.Shifted{}, zerolog.Nop(), io.Discard)
		if err != nil {
			sqliteDemo.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sqliteDemo.err = srv.shutdown(ctx)
	})
	if sqliteDemo.err != nil {
		t.Fatalf("demo store template: %v", sqliteDemo.err)
	}
	entries, err := os.ReadDir(sqliteDemo.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == sqlite.LockFileName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(sqliteDemo.dir, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(cfg.DataDir, e.Name()), b, 0o600)
		}
		if err != nil {
			t.Fatalf("copy the demo store: %v", err)
		}
	}
	return true
}

var mongoDemo struct {
	once sync.Once
	uri  string
	only map[string]bson.D // the part of the template a test gets
	err  error
}

// copyMongoDemo copies the Mongo demo domain into the store at uri unless it holds the demo
// already (the second instance of a shared store).
func copyMongoDemo(t *testing.T, s *testInstance) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.store.DomainBySlug(ctx, demo.Slug); err == nil {
		return
	} else if !errors.Is(err, apperr.ErrNotFound) {
		t.Fatal(err)
	}
	mongoDemo.once.Do(func() {
		mongoDemo.uri = mongotest.Template(t, "demo")
		st, err := mongo.Open(ctx, mongoDemo.uri)
		if err != nil {
			mongoDemo.err = err
			return
		}
		defer st.Close(ctx)
		if mongoDemo.err = demo.Ensure(ctx, st, testPassword, now(), io.Discard); mongoDemo.err != nil {
			return
		}
		d, err := st.DomainBySlug(ctx, demo.Slug)
		if err != nil {
			mongoDemo.err = err
			return
		}
		hits, err := st.SearchCustomers(ctx, customers.SearchQuery{DomainID: d.ID, Limit: mongoDemoCustomers})
		if err != nil {
			mongoDemo.err = err
			return
		}
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.Customer.ID
		}
		in := bson.D{{Key: "$in", Value: ids}}
		mongoDemo.only = map[string]bson.D{"customers": {{Key: "_id", Value: in}}, "devices": {{Key: "customerId", Value: in}}}
	})
	if mongoDemo.err != nil {
		t.Fatalf("demo store template: %v", mongoDemo.err)
	}
	if err := mongotest.CopyDocuments(ctx, mongoDemo.uri, s.cfg.MongoURI, mongoDemo.only); err != nil {
		t.Fatalf("copy the demo store: %v", err)
	}
}

// removeTemplates deletes the templates when the test binary ends.
func removeTemplates() {
	if sqliteDemo.dir != "" {
		_ = os.RemoveAll(sqliteDemo.dir)
	}
	mongotest.DropTemplates()
}
