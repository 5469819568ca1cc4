// Command server runs the IoT Console backend-for-frontend: GraphQL over HTTP
// and WebSocket on /graphql, on the embedded SQLite store by default or on
// MongoDB when MONGODB_URI is set.
//
//	server [flags]                   serve (see -h for every setting)
//	server seed -domain demo -n N    add N generated customers to a domain
//	server create-operator ...       add an operator (and its domain) for a real deployment
//	server backup FILE               copy the embedded store (-data-dir) to FILE, even while it serves
//	server restore FILE              replace the embedded store with the backup FILE (no server on it)
//	server bench-search -n N         seed N customers and measure search over HTTP (docs/BENCHMARKS.md)
//	server bench-login               measure sign-in, and search under a brute-force burst
//	server bench-writes              measure status changes and remote assistance
//	server bench-sockets -n N        N WebSocket subscribers: memory, goroutines, delivery latency
//
// The bench subcommands are the load generators of internal/loadgen; each
// runs this binary again, without arguments, as the server under test.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/exports"
	"github.com/iotconsole/bff/internal/loadgen"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/mongo"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/throttle"
	"github.com/iotconsole/bff/resolvers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	os.Exit(report(err, os.Args[1:], os.Stderr))
}

// report writes what ended run with err to stderr and returns the exit
// status: 0 when it succeeded or printed the usage asked for with -h; 2 and
// a plain line for a subcommand's refused value (for the person typing); 1
// and one log line, in the JSON form of every other, for any other error:
// "server stopped" for the server, "import failed" for `server import`.
func report(err error, args []string, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if ie := (*inputError)(nil); errors.As(err, &ie) {
		fmt.Fprintln(stderr, ie.Error())
		return 2
	}
	msg := "server stopped"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		msg = args[0] + " failed"
	}
	log := zerolog.New(stderr).With().Timestamp().Logger()
	log.Error().Err(err).Msg(msg)
	return 1
}

// run is the whole program; main only adds the process around it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "seed":
			return runSeed(ctx, args[1:], getenv, stderr)
		case "import":
			return runImport(ctx, args[1:], getenv, os.Stdin, stdout, stderr)
		case "export":
			return runExport(ctx, args[1:], getenv, stdout, stderr)
		case "create-operator":
			return runCreateOperator(ctx, args[1:], getenv, stdout)
		case "backup":
			return runBackup(ctx, args[1:], getenv, stdout)
		case "restore":
			return runRestore(ctx, args[1:], getenv, stdout)
		case "bench-search":
			return loadgen.BenchSearch(ctx, args[1:], stdout)
		case "bench-login":
			return loadgen.BenchLogin(ctx, args[1:], stdout)
		case "bench-writes":
			return loadgen.BenchWrites(ctx, args[1:], stdout)
		case "bench-sockets":
			raiseOpenFileLimit(zerolog.New(io.Discard)) // a file per subscriber
			return loadgen.BenchSockets(ctx, args[1:], stdout)
		}
	}
	if getenv("GOGC") == "" {
		// Requests allocate a lot and the live heap is small: measured on
		// the server alone (docs/BENCHMARKS.md, GC target), 300 instead of
		// 100 took 15% less CPU per search (1.22 against 1.43 ms; 12 against
		// 41 collections per 1,000 searches) for a heap in use still under
		// 30 MiB and no visible change in RSS.
		debug.SetGCPercent(300)
	}
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, stderr)
	raiseOpenFileLimit(log)
	stdlog.SetFlags(0)
	stdlog.SetOutput(log.With().Str("source", "stdlib").Logger()) // libraries that use package log
	srv, err := start(ctx, cfg, clock.System(), log, stdout)
	if err != nil {
		return err
	}
	printPages(stdout, srv.listener.Addr(), cfg.Playground)
	<-ctx.Done()
	log.Info().Msg("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	return srv.shutdown(shutdownCtx)
}

// newLogger writes JSON lines, or readable colored lines when w is a terminal.
func newLogger(level zerolog.Level, w io.Writer) zerolog.Logger {
	if f, ok := w.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			w = zerolog.ConsoleWriter{Out: f, TimeFormat: time.TimeOnly}
		}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// raiseOpenFileLimit lifts the soft limit on open files to the hard limit:
// every WebSocket is a file, and the usual soft limit of 1,024 is far below
// the sockets one instance serves.
func raiseOpenFileLimit(log zerolog.Logger) {
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil || limit.Cur >= limit.Max {
		return
	}
	limit.Cur = limit.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
		log.Warn().Err(err).Msg("raise the open file limit")
	}
}

// openStore opens MongoDB when cfg names one, otherwise the embedded store,
// and derives the customers' search tokens again when older rules derived
// them (reindexSearch, logging to log): every command that reads or writes
// customers (the server, import, seed...) then finds tokens of the current
// rules, and a new store records the current rules at once (a store created
// and filled by `server import` was reindexed whole by the server's first
// start).
//
// On the embedded store the reindex is done by whoever holds the data
// directory's lock (sqlite.LockDir): a caller that holds it says so with
// lockHeld (the server, an import that has the store to itself); any other
// takes the lock for the reindex when it is free, and leaves the reindex to
// the holder when it is not. A schema upgrade is the same (sqlite.LockHeld):
// a command that does not hold the lock upgrades only when it can take it,
// and is refused while a server of an older release holds it. A server has reindexed as it started; an
// import or seed that has an empty store to itself defers the search index (the rules read 0
// meanwhile) and builds it as it ends: deriving every token again under a
// running import made a 24 s import of 100,000 customers take 83 s.
func openStore(ctx context.Context, cfg config, log zerolog.Logger, lockHeld bool, opts ...sqlite.Option) (store.Store, error) {
	var st store.Store
	var err error
	if cfg.MongoURI != "" {
		openCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		st, err = mongo.Open(openCtx, cfg.MongoURI)
	} else {
		upgrading := sqlite.BeforeMigrations(func(from, to int) {
			log.Info().Int("from_version", from).Int("to_version", to).
				Msg("upgrading the embedded store's schema; an upgrade that builds the search index again takes about a minute a million customers")
		})
		if lockHeld {
			opts = append(opts, sqlite.LockHeld()) // it may upgrade the schema
		}
		st, err = sqlite.Open(ctx, cfg.DataDir, append(opts, upgrading)...)
	}
	if err != nil {
		return nil, err
	}
	if cfg.MongoURI == "" && !lockHeld {
		unlock, err := sqlite.LockDir(cfg.DataDir)
		switch {
		case errors.Is(err, sqlite.ErrDirInUse):
			return st, nil // the holder's to do
		case err != nil:
			_ = st.Close(context.Background())
			return nil, err
		}
		defer unlock()
	}
	if err := reindexSearch(ctx, st, log); err != nil {
		_ = st.Close(context.Background())
		return nil, err
	}
	return st, nil
}

// commandLog is the log of a command other than the server: JSON lines on
// standard error.
func commandLog() zerolog.Logger { return zerolog.New(os.Stderr).With().Timestamp().Logger() }

// server is one running instance.
type server struct {
	log      zerolog.Logger
	store    store.Store
	http     *http.Server
	listener net.Listener
	metrics  *http.Server // /metrics, on metricsListener when configured
	sockets  *gorillaSockets
	assist   *assist.Service // for tests: whom a request for agreement can reach
	broker   *events.Broker  // for tests: a subscriber that falls behind

	metricsListener net.Listener
	unlock          func()             // releases the data directory's lock (lockDataDir)
	stop            context.CancelFunc // stops background work
	done            chan struct{}      // closed when Serve returns
	tailDone        chan struct{}      // closed when the event tail has saved its position
}

// start takes the data directory's lock (the embedded store), opens the
// store, creates the demo domain if due, and serves on cfg.ListenAddr in the
// background. It returns an error, having released everything, if cfg does
// not validate, another server holds the data directory, or any of that fails.
func start(ctx context.Context, cfg config, clk clock.Clock, log zerolog.Logger, stdout io.Writer) (*server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// What is open so far, closed in reverse order when a later step fails.
	var opened []func()
	fail := func(err error) (*server, error) {
		for i := len(opened) - 1; i >= 0; i-- {
			opened[i]()
		}
		return nil, err
	}
	unlock, err := lockDataDir(cfg)
	if err != nil {
		return nil, err
	}
	opened = append(opened, unlock)
	// The addresses are taken first, so that a busy one is found before minutes of start-up work.
	listener, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fail(fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err))
	}
	opened = append(opened, func() { _ = listener.Close() })
	var metricsListener net.Listener
	if cfg.MetricsAddr != "" {
		if metricsListener, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fail(fmt.Errorf("listen on %s for metrics: %w", cfg.MetricsAddr, err))
		}
		opened = append(opened, func() { _ = metricsListener.Close() })
	}
	st, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return fail(err)
	}
	opened = append(opened, func() { _ = st.Close(ctx) })
	hasher := passwords.NewHasher(passwords.OWASP, 2, 2*time.Second)
	policy, err := passwords.NewPolicy(cfg.PasswordMin)
	if err != nil {
		return fail(err)
	}
	if cfg.MongoURI == "" && cfg.Demo {
		if err := demo.EnsureOnStart(ctx, st, cfg.DemoPassword, clk.Now(), stdout); err != nil {
			return fail(err)
		}
	}
	sessionOpts := []sessions.Option{sessions.WithExemptAddresses(cfg.ThrottleExempt), sessions.WithTarpit(cfg.SignInTarpit), sessions.WithFailureFloor(cfg.SignInFailureFloor)}
	if shared, ok := st.(throttle.Store); ok && cfg.MongoURI != "" { // instances on one MongoDB share the sign-in limits
		sessionOpts = append(sessionOpts, sessions.WithThrottleStore(shared))
	}
	sessionService := sessions.NewService(st, hasher, policy, clk.Now, cfg.SessionTTL, sessionOpts...)
	broker := events.NewBroker()
	broker.OnDrop(func() { log.Warn().Msg("an event subscriber fell behind and was dropped; its subscription completes") })
	assistService := assist.NewService(st, clk.Now, cfg.AssistTTL)
	customerService := customers.NewService(st, hasher, policy, clk.Now)
	customerService.SetSearchCachePages(cfg.SearchCachePages)
	r := &resolvers.Resolver{
		SessionService:  sessionService,
		OperatorService: operators.NewService(st, hasher, policy, clk.Now),
		CustomerService: customerService,
		PasswordRatings: passwords.NewRatingLimiter(clk.Now),
		DeviceService:   devices.NewService(st, clk.Now),
		DomainStore:     st,
		EventBroker:     broker,
		AssistService:   assistService,
		DomainService:   domains.NewService(st, clk.Now),
		AuditService:    audit.NewService(st, clk.Now),
		DashboardURL:    cfg.DashboardURL,
		ConsoleURL:      cfg.ConsoleURL,
	}
	r.ExportService = exports.NewService(r.CustomerService, r.DeviceService, r.AuditService, clk.Now)
	m := newMetrics()
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "bff_event_subscribers_dropped_total", Help: "Event subscribers (mostly WebSocket subscriptions) dropped for falling behind; their subscription completes.",
	}, func() float64 { return float64(broker.Dropped()) }))
	sockets := newGorillaSockets(cfg.AllowedOrigins, cfg.WSMaxSocketsPerAccount, clk, func(open int) { m.websockets.Set(float64(open)) })
	sockets.keepAlive = cfg.WSPing
	gql := newGraphQLHandler(cfg, r, sockets, m)
	bg, stop := context.WithCancel(context.Background())
	s := &server{
		log:   log,
		store: st,
		http: &http.Server{
			Handler:           routes(cfg, log, gql, st.Ping, m, sessionService),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			IdleTimeout:       120 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return log.WithContext(bg) },
		},
		listener: listener,
		metrics:  &http.Server{Handler: metricsRoutes(m, cfg.Profiling), ReadHeaderTimeout: 10 * time.Second},
		sockets:  sockets,
		assist:   assistService,
		broker:   broker,
		unlock:   unlock,
		stop:     stop,
		done:     make(chan struct{}),
		tailDone: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("serve")
		}
	}()
	if metricsListener != nil {
		s.metricsListener = metricsListener
		go func() {
			if err := s.metrics.Serve(metricsListener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("serve metrics")
			}
		}()
	}
	relay := &events.Relay{Store: st, Broker: broker, Instance: cfg.InstanceID, Log: log,
		OnGap: func() { sockets.CloseAll(websocket.CloseServiceRestart, "events were missed; reconnect") }}
	go func() {
		defer close(s.tailDone)
		relay.Run(bg)
	}()
	assistService.RevokeOnAccountEnd(log.WithContext(bg), broker)
	assistService.ExpireRequestsOnTime(log.WithContext(bg), broker, clk)
	if shared, ok := st.(assist.PresenceStore); ok && cfg.MongoURI != "" { // instances on one MongoDB know each other's customers online
		assistService.SharePresence(log.WithContext(bg), shared, cfg.InstanceID, clk)
	}
	closeSocketsOnEvents(bg, broker, sockets)
	go every(bg, sweepEvery, log, "sweep expired sessions", func(ctx context.Context) error {
		_, err := sessionService.SweepExpired(ctx)
		return err
	})
	go every(bg, sweepEvery, log, "record expired assistance", assistService.SweepExpired)
	ready := log.Info().Str("addr", listener.Addr().String()).Str("store", storeName(cfg))
	if metricsListener != nil {
		ready = ready.Str("metrics_addr", metricsListener.Addr().String())
	}
	ready.Msg("ready")
	return s, nil
}

// printPages tells whoever started the service where its pages are.
func printPages(w io.Writer, addr net.Addr, playground bool) {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	base := "http://" + net.JoinHostPort(host, port)
	fmt.Fprintf(w, "Console (operators):    %s/console\n", base)
	fmt.Fprintf(w, "Dashboard (customers):  %s/dashboard\n", base)
	if playground {
		fmt.Fprintf(w, "Playground (admins):    %s/playground\n", base)
	}
}

func storeName(cfg config) string {
	if cfg.MongoURI != "" {
		return "mongodb"
	}
	return "sqlite"
}

// sweepEvery is how often expired sessions are deleted (neither store has a
// TTL index to rely on: FerretDB has none; reads ignore them anyway) and
// expired assistance recorded as EXPIRED.
const sweepEvery = time.Minute

// every calls f every period until ctx ends, logging its failures as what.
func every(ctx context.Context, period time.Duration, log zerolog.Logger, what string, f func(context.Context) error) {
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := f(ctx); err != nil {
				log.Warn().Err(err).Msg(what)
			}
		}
	}
}

// socketCloseDelay lets a socket's subscriptions deliver the event that
// ends its session (a disabled customer's STATUS_CHANGED) before the server
// closes it: the delivery and the close start from the same event, and on a
// loaded 2-core machine 250 ms was sometimes not enough for the delivery.
// The session itself ends at once: every request and new socket is refused
// from the write on, and the socket's subscriptions take no later event
// (gorillaSockets.EndDeliveries).
const socketCloseDelay = time.Second

// closeSocketsOnEvents is the socket half of what events end (the rules
// live with their services: sessions end in the store's write, assistance in
// assist.RevokeOnAccountEnd): a disabled account closes the customer's
// sockets (4403), a password reset closes them (4401), an erased customer's
// close (4401: its tokens now answer UNAUTHENTICATED, as the socket's next
// connection_init would), the customer's own password change closes all but
// the new session's (4401), signing out closes that session's (4401), an
// ended assistance closes the assisting sockets (4401). An event that ends
// every session of an account (it carries the account's new session epoch)
// closes only the sockets opened in an earlier epoch: a customer who signs
// in again right after a reset keeps the new socket, however late the
// event arrives.
func closeSocketsOnEvents(ctx context.Context, broker *events.Broker, sockets *gorillaSockets) {
	relevant := func(e events.Event) bool {
		return e.Type == events.StatusChanged || e.Type == events.PasswordReset || e.Type == events.AssistEnded || e.Type == events.SessionRevoked ||
			e.Type == events.CustomerDeleted || e.Type == events.OperatorAccessEnded || e.Type == events.SecondFactorRequired
	}
	// Called by Publish, in the order of the events: the connections take no
	// event after this one from here on, and close a moment later.
	sub := broker.SubscribeFunc(relevant, func(e events.Event) bool {
		subject, except, code, reason := e.CustomerID, "", closeUnauthorized, ""
		switch {
		case e.Type == events.SessionRevoked && e.Data[events.KeySession] != "":
			subject, reason = sessionSubject(e.Data[events.KeySession]), "signed out"
		case e.Type == events.SessionRevoked && e.Data[events.KeyKeepSession] != "":
			except, reason = sessionSubject(e.Data[events.KeyKeepSession]), "session ended by a password change"
		case e.Type == events.AssistEnded:
			subject, reason = assistSubject(e.Data[events.KeyAssistID]), "assistance ended"
		case e.Type == events.PasswordReset:
			reason = "session ended by a password reset"
		case e.Type == events.CustomerDeleted:
			reason = "account deleted"
		case e.Type == events.OperatorAccessEnded && e.Data[events.KeyStatus] == string(operators.StatusDisabled):
			subject, code, reason = e.Data[events.KeyOperatorID], closeForbidden, "operator disabled"
		case e.Type == events.OperatorAccessEnded:
			subject, reason = e.Data[events.KeyOperatorID], "session ended: "+e.Data[events.KeyReason]
		case e.Type == events.SecondFactorRequired:
			subject, reason = withoutSecondFactorSubject(e.DomainID), "session ended: the domain now requires a second factor"
		case e.Type == events.StatusChanged && e.Data[events.KeyStatus] == string(customers.StatusDisabled):
			code, reason = closeForbidden, "account disabled"
		default:
			return true
		}
		before, _ := e.EndsBefore() // 0 for an event about one session or one assistance: no epoch to compare
		sockets.EndDeliveries(subject, except, before, broker.Publishing())
		time.AfterFunc(socketCloseDelay, func() { sockets.CloseSubjectExcept(subject, except, before, code, reason) })
		return true
	}, nil)
	context.AfterFunc(ctx, sub.Cancel)
}

// withoutSecondFactorSubject is the socket subject of the connections of a
// domain's operator sessions not opened with a second factor, which end
// when the domain comes to require one (events.SecondFactorRequired).
func withoutSecondFactorSubject(domainID string) string { return "without-second-factor:" + domainID }

// assistSubject is the socket subject of an assist session's connections.
func assistSubject(assistID string) string { return "assist:" + assistID }

// sessionSubject is the socket subject of one session's connections.
func sessionSubject(tokenHash string) string { return "session:" + tokenHash }

// URL returns the base URL the server answers on.
func (s *server) URL() string {
	return "http://" + s.listener.Addr().String()
}

// shutdown stops accepting, closes WebSockets with 1001, lets in-flight
// requests finish within ctx, closes the store, then releases the data
// directory's lock.
func (s *server) shutdown(ctx context.Context) error {
	s.sockets.CloseAll(closeGoingAway, "server shutting down")
	err := s.http.Shutdown(ctx)
	_ = s.metrics.Close()
	s.sockets.CloseAll(closeGoingAway, "server shutting down") // any upgraded meanwhile
	<-s.done
	s.stop()
	<-s.tailDone
	err = errors.Join(err, s.store.Close(context.Background()))
	s.unlock()
	return err
}

// reindexSearch derives the customers' search tokens again and builds the
// search index when the store's were derived by older rules, or when a bulk
// load was interrupted before building it (customers.Reindex), before the
// server answers a search: once after an upgrade that changed the rules, about a minute per
// million customers; a store with customers logs its start, every 100,000
// customers read and its end.
func reindexSearch(ctx context.Context, st store.Store, log zerolog.Logger) error {
	rules, err := st.SearchTokenRules(ctx)
	if err != nil || rules >= customers.TokenRules {
		return err
	}
	started, read := time.Now(), 0
	changed, err := customers.Reindex(ctx, st, func(n int) {
		if read == 0 {
			msg := "deriving the customers' search tokens by newer rules and building the search index"
			if rules == 0 { // a bulk load interrupted before it built the index, or a store that never recorded its rules
				msg = "building the search index: after an interrupted bulk load, or an upgrade that writes every row again"
			}
			log.Info().Int("from_rules", rules).Int("to_rules", customers.TokenRules).Msg(msg)
		}
		if n/100_000 > read/100_000 {
			log.Info().Int("customers_read", n).Msg("deriving search tokens")
		}
		read = n
	})
	if err != nil {
		return fmt.Errorf("derive search tokens: %w", err)
	}
	if read > 0 {
		log.Info().Int("customers_read", read).Int("customers_changed", changed).Float64("seconds", time.Since(started).Seconds()).Msg("search tokens derived again")
	}
	return nil
}
