// Package mongotest gives tests a MongoDB-wire server: MONGODB_URI when it is
// set, otherwise an in-process FerretDB v1.24 (SQLite handler, temp dir,
// loopback port) started once per test binary.
package mongotest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/iotconsole/bff/internal/ids"
)

var (
	once      sync.Once
	baseURI   string
	isFerret  bool
	startErr  error
	ferretDir string // the shared FerretDB's files, "" without one
)

// Main runs a package's tests (a TestMain calls it) and then removes the
// shared FerretDB's directory, which would otherwise stay in the system's
// temporary directory after every run. It returns m.Run's exit code.
func Main(m *testing.M) int {
	code := m.Run()
	if ferretDir != "" {
		_ = os.RemoveAll(ferretDir)
	}
	return code
}

// URI returns a connection string to a database of its own for this test
// (dropped when the test ends).
func URI(t testing.TB) string {
	t.Helper()
	db := "t" + ids.New()[:20]
	uri := databaseURI(t, db)
	t.Cleanup(func() {
		client, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			return
		}
		defer client.Disconnect(context.Background())
		_ = client.Database(db).Drop(context.Background())
	})
	return uri
}

// databaseURI starts the test server once and returns a connection string
// to its database db.
func databaseURI(t testing.TB, db string) string {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		t.Fatalf("start MongoDB test server: %v", startErr)
	}
	u, err := url.Parse(baseURI)
	if err != nil {
		t.Fatalf("parse MongoDB URI: %v", err)
	}
	u.Path = "/" + db
	return u.String()
}

// IsFerretDB reports whether the test server is FerretDB, whose writes are
// not atomic under concurrency: tests that race writers skip on it.
func IsFerretDB(t testing.TB) bool {
	t.Helper()
	once.Do(start)
	return isFerret
}

// SkipIfFerretDB skips a test that needs single-document atomicity under
// concurrent writers, which FerretDB v1.24 does not give.
func SkipIfFerretDB(t testing.TB) {
	t.Helper()
	if IsFerretDB(t) {
		t.Skip("FerretDB v1.24 does not make concurrent conditional updates atomic (8 racing writers: several winners); run with MONGODB_URI against MongoDB")
	}
}

func start() {
	if uri := os.Getenv("MONGODB_URI"); uri != "" {
		baseURI = uri
		isFerret, startErr = detectFerret(uri)
		return
	}
	dir, err := os.MkdirTemp("", "ferretdb-")
	if err != nil {
		startErr = err
		return
	}
	ferretDir = dir
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		startErr = fmt.Errorf("configure FerretDB: %w", err)
		return
	}
	// The server lives as long as the test binary; Main removes its files.
	go f.Run(context.Background())
	baseURI = f.MongoDBURI()
	isFerret = true
}

func detectFerret(uri string) (bool, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return false, err
	}
	defer client.Disconnect(context.Background())
	var info bson.M
	if err := client.Database("admin").RunCommand(context.Background(), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, err
	}
	for k := range info {
		if strings.HasPrefix(k, "ferretdb") {
			return true, nil
		}
	}
	return false, nil
}

// Server is a FerretDB of one test's own, which the test can stop and
// start again at the same address with the same data: for fault tests.
type Server struct {
	t    testing.TB
	addr string
	dir  string
	stop context.CancelFunc
	done chan struct{}
}

// Private starts a FerretDB for t alone and stops it when t ends.
func Private(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	s := &Server{t: t, addr: addr, dir: t.TempDir()}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URI returns the connection string of the server's test database.
func (s *Server) URI() string {
	return "mongodb://" + s.addr + "/private"
}

// Start runs the server (again) at its address.
func (s *Server) Start() {
	s.t.Helper()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: s.addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + s.dir + "/",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		s.t.Fatalf("start FerretDB: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop, s.done = stop, make(chan struct{})
	go func() {
		defer close(s.done)
		_ = f.Run(ctx)
	}()
	_ = f.MongoDBURI() // waits until it listens
}

// Stop stops the server; connections to it fail until Start.
func (s *Server) Stop() {
	if s.stop == nil {
		return
	}
	s.stop()
	<-s.done
	s.stop = nil
}

var (
	templatesMu sync.Mutex
	templates   []string
)

// Template returns a connection string to a database named after name that outlives the test
// that asks for it, for data written once and copied into many tests' databases
// (CopyDocuments). DropTemplates drops them.
func Template(t testing.TB, name string) string {
	t.Helper()
	uri := databaseURI(t, "template-"+name+"-"+ids.New()[:12])
	templatesMu.Lock()
	templates = append(templates, uri)
	templatesMu.Unlock()
	return uri
}

// DropTemplates drops every database Template handed out; a TestMain calls it after the tests.
func DropTemplates() {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	for _, uri := range templates {
		client, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			continue
		}
		if cs, err := connstring.ParseAndValidate(uri); err == nil {
			_ = client.Database(cs.Database).Drop(context.Background())
		}
		_ = client.Disconnect(context.Background())
	}
	templates = nil
}

// onlyDuplicates reports whether err is a bulk write's failure made only
// of duplicate keys.
func onlyDuplicates(err error) bool {
	var bulk mongo.BulkWriteException
	if !errors.As(err, &bulk) || bulk.WriteConcernError != nil || len(bulk.WriteErrors) == 0 {
		return false
	}
	for _, we := range bulk.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) {
			return false
		}
	}
	return true
}

// CopyDocuments inserts the documents of every collection of the database at from into the
// database at to (whose indexes, made by the store, stay as they are), 1,000 at a time: every
// document, or those matching only[collection] where it names the collection. A document whose
// _id the target already holds (one the store wrote as it opened) is left as the target has it.
func CopyDocuments(ctx context.Context, from, to string, only map[string]bson.D) error {
	src, err := connstring.ParseAndValidate(from)
	if err != nil {
		return err
	}
	dst, err := connstring.ParseAndValidate(to)
	if err != nil {
		return err
	}
	client, err := mongo.Connect(options.Client().ApplyURI(from))
	if err != nil {
		return err
	}
	defer client.Disconnect(ctx)
	in, out := client.Database(src.Database), client.Database(dst.Database)
	names, err := in.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return err
	}
	for _, name := range names {
		if strings.HasPrefix(name, "system.") {
			continue
		}
		filter, ok := only[name]
		if !ok {
			filter = bson.D{}
		}
		cur, err := in.Collection(name).Find(ctx, filter)
		if err != nil {
			return err
		}
		var batch []any
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			_, err := out.Collection(name).InsertMany(ctx, batch, options.InsertMany().SetOrdered(false))
			batch = batch[:0]
			if onlyDuplicates(err) { // a document the store wrote as it opened (meta): the target's stays
				return nil
			}
			return err
		}
		for cur.Next(ctx) {
			batch = append(batch, bson.Raw(append([]byte(nil), cur.Current...)))
			if len(batch) == 1000 {
				if err := flush(); err != nil {
					cur.Close(ctx)
					return fmt.Errorf("copy %s: %w", name, err)
				}
			}
		}
		if err := cur.Err(); err != nil {
			cur.Close(ctx)
			return err
		}
		cur.Close(ctx)
		if err := flush(); err != nil {
			return fmt.Errorf("copy %s: %w", name, err)
		}
	}
	return nil
}
