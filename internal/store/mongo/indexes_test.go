package mongo

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/mongotest"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// explained are the commands whose plans are checked: those that select
// documents by a filter.
var explained = map[string]bool{"find": true, "aggregate": true, "count": true, "update": true, "delete": true, "findAndModify": true}

// Every query the store sends, while the whole store contract runs (every
// lookup by id, email, serial number and session, search of one and several
// terms and its pages, the audit and assist pages), is explained on MongoDB:
// none may scan a collection, but the few that do by design (mayScan). Then a
// one-term search, of a common and of a rare prefix, reads about a page of
// index keys in a domain of 3,000 customers. FerretDB uses no index, so the
// test needs a real MongoDB: MONGODB_URI=mongodb://... go test ./internal/store/mongo -run TestQueriesUseAnIndex
func TestQueriesUseAnIndex(t *testing.T) {
	if mongotest.IsFerretDB(t) {
		t.Skip("FerretDB uses no index, so query plans say nothing here: set MONGODB_URI to a MongoDB to run this test")
	}
	var mu sync.Mutex
	type sent struct {
		db, name string
		cmd      bson.Raw
	}
	var commands []sent
	commandMonitor = &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if explained[e.CommandName] {
			mu.Lock()
			commands = append(commands, sent{e.DatabaseName, e.CommandName, slices.Clone(e.Command)})
			mu.Unlock()
		}
	}}
	defer func() { commandMonitor = nil }()
	ctx := context.Background()
	uri := mongotest.URI(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(ctx, mongotest.URI(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(ctx) })
		return s
	})
	s, err := Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	d := storetest.NewDomain(t, s)
	g := demo.NewGenerator(d, "$argon2id$test", 0, time.Now())
	if _, err := demo.Insert(ctx, s, g, 3000, 500, nil); err != nil {
		t.Fatal(err)
	}

	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	mu.Lock()
	defer mu.Unlock()
	for _, c := range commands {
		if mayScan(c.cmd) {
			continue
		}
		plan, err := explain(ctx, client.Database(c.db), c.cmd, "queryPlanner")
		if err != nil {
			t.Errorf("explain %s: %v", c.cmd, err)
			continue
		}
		if hasStage(plan, "COLLSCAN") {
			t.Errorf("a collection scan: %s", c.cmd)
		}
	}

	// One term, common or rare: about a page of keys, never every match.
	for _, text := range []string{"a", "m", "ma", "mar", "smith", "z", "4", "jo@"} {
		terms, err := customers.ParseQuery(text, "US")
		if err != nil {
			t.Fatal(err)
		}
		q := customers.SearchQuery{DomainID: d.ID, Terms: terms, Limit: 20}
		cmd := bson.D{{Key: "find", Value: "customers"}, {Key: "filter", Value: searchFilter(q, true)},
			{Key: "sort", Value: bson.D{{Key: "lastKey", Value: 1}, {Key: "firstKey", Value: 1}, {Key: "_id", Value: 1}}},
			{Key: "limit", Value: q.Limit}, {Key: "hint", Value: searchHint(q, true)}}
		raw, err := bson.Marshal(cmd)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := explain(ctx, client.Database(databaseOf(t, uri)), raw, "executionStats")
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := plan.Lookup("executionStats", "totalKeysExamined").AsInt64OK()
		if hasStage(plan, "SORT") || keys > 3*int64(q.Limit)+10 {
			t.Errorf("search %q: %d index keys read, in-memory sort %v; want about a page (%d)", text, keys, hasStage(plan, "SORT"), q.Limit)
		}
	}
}

// mayScan reports the queries that read a collection whole by design: the
// tail of the capped events collection (natural order), its oldest event,
// and the backfills run when a store opens (once; see prefixes.go and
// devices.go).
func mayScan(cmd bson.Raw) bool {
	coll, _ := cmd.Index(0).Value().StringValueOK()
	filter := strings.ReplaceAll(cmd.Lookup("filter").String(), " ", "")
	switch coll {
	case "events":
		return true
	case "customers", "devices":
		return strings.Contains(filter, `"searchPrefixes":{"$exists":false}`) || strings.Contains(filter, `"serialNumber":{"$exists":false}`)
	}
	return false
}

// explain runs cmd (as the driver sent it, less the fields explain refuses)
// under explain with verbosity.
func explain(ctx context.Context, db *mongo.Database, cmd bson.Raw, verbosity string) (bson.Raw, error) {
	elems, err := cmd.Elements()
	if err != nil {
		return nil, err
	}
	var inner bson.D
	for _, e := range elems {
		switch e.Key() {
		case "$db", "lsid", "$clusterTime", "txnNumber", "$readPreference", "readConcern", "writeConcern", "maxTimeMS", "apiVersion":
			continue
		}
		inner = append(inner, bson.E{Key: e.Key(), Value: e.Value()})
	}
	return db.RunCommand(ctx, bson.D{{Key: "explain", Value: inner}, {Key: "verbosity", Value: verbosity}}).Raw()
}

// hasStage reports whether the chosen plan of an explain answer has a stage
// of that name (rejected plans do not count).
func hasStage(doc bson.Raw, stage string) bool {
	elems, err := doc.Elements()
	if err != nil {
		return false
	}
	for _, e := range elems {
		if e.Key() == "rejectedPlans" {
			continue
		}
		if name, ok := e.Value().StringValueOK(); ok && e.Key() == "stage" && name == stage {
			return true
		}
		switch e.Value().Type {
		case bson.TypeEmbeddedDocument:
			if hasStage(e.Value().Document(), stage) {
				return true
			}
		case bson.TypeArray:
			vals, _ := e.Value().Array().Values()
			for _, v := range vals {
				if v.Type == bson.TypeEmbeddedDocument && hasStage(v.Document(), stage) {
					return true
				}
			}
		}
	}
	return false
}
