package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/sessions"
)

// config is everything the service reads at start-up. Each setting comes from
// a flag, else from the environment variable named beside it, else a default.
type config struct {
	ListenAddr     string        // LISTEN_ADDR
	MetricsAddr    string        // METRICS_ADDR: the metrics listener's address, "" when off
	DataDir        string        // DATA_DIR: the embedded store's directory
	MongoURI       string        // MONGODB_URI: when set, the Mongo store is used instead
	AllowedOrigins []string      // ALLOWED_ORIGINS: comma-separated browser origins allowed besides the server's own
	Playground     bool          // PLAYGROUND: serve /playground, with introspection for ADMINs through it
	Profiling      bool          // PROFILING: serve Go's /debug/pprof/ on the metrics listener (never the public one)
	LogLevel       zerolog.Level // LOG_LEVEL: trace, debug, info, warn, error
	Demo           bool          // DEMO: create the demo domain on a new embedded store (demo.EnsureOnStart)
	DemoPassword   string        // DEMO_PASSWORD (environment only: flags show up in process lists)
	SessionTTL     time.Duration // SESSION_TTL
	ShutdownGrace  time.Duration // SHUTDOWN_GRACE: how long in-flight requests get to finish
	ComplexityMax  int           // COMPLEXITY_LIMIT
	TokenLimit     int           // TOKEN_LIMIT: the GraphQL parser's token limit
	PasswordMin    int           // PASSWORD_MIN_LENGTH: 8 to 64
	AssistTTL      time.Duration // ASSIST_TTL: how long a remote assistance lasts
	DashboardURL   string        // DASHBOARD_URL: where startAssist sends the operator
	ConsoleURL     string        // CONSOLE_URL: where operator setup links lead
	WSInitTimeout  time.Duration // WS_INIT_TIMEOUT: how long a socket may wait before connection_init
	WSPing         time.Duration // WS_PING_INTERVAL: keep-alive period; a peer silent for two is dropped
	InstanceID     string        // INSTANCE_ID: names this instance's saved position in the event stream
	MaxDepth       int           // MAX_DEPTH: deepest selection nesting
	MaxAliases     int           // MAX_ALIASES: aliases in one operation
	MaxRootFields  int           // MAX_ROOT_FIELDS: root fields in one operation
	MaxSelections  int           // MAX_SELECTIONS: selections written in one document (see documentLimits)
	MaxBodyBytes   int           // MAX_BODY_BYTES: largest HTTP request body
	WSMaxMessage   int           // WS_MAX_MESSAGE_BYTES: largest WebSocket message
	// WSMaxSocketsPerAccount (WS_MAX_SOCKETS_PER_ACCOUNT): signed-in
	// WebSocket connections of one account or assistance; see
	// defaultSocketsPerAccount.
	WSMaxSocketsPerAccount int
	// SearchCachePages (SEARCH_CACHE_PAGES): how many customer search pages
	// are kept for repeated searches (0: none); see customers.SearchVersions.
	SearchCachePages int
	// TrustedProxies (TRUSTED_PROXIES): the reverse proxies and load
	// balancers whose proxy header (TrustedProxyHeader,
	// TRUSTED_PROXY_HEADER) names the client; none by default.
	TrustedProxies     []netip.Prefix
	TrustedProxyHeader string
	// ThrottleExempt (THROTTLE_EXEMPT_CIDRS): client addresses without a
	// budget of failed sign-ins (an office's NAT); their accounts still back off.
	ThrottleExempt []netip.Prefix
	// SignInTarpit is how long a refused sign-in's answer is held at most
	// (sessions.WithTarpit). No variable sets it: the tests shorten it.
	SignInTarpit time.Duration
	// SignInFailureFloor is how long a failed sign-in takes at least
	// (sessions.WithFailureFloor). No variable sets it: the tests shorten it.
	SignInFailureFloor time.Duration
}

// defaultMetricsAddr keeps /metrics on the loopback interface: what a
// process exports about itself (routes, error rates, connection counts) is
// for the machine's own scraper, not for the service's public port.
// 9464 is the port OpenTelemetry's Prometheus exporter uses.
const defaultMetricsAddr = "127.0.0.1:9464"

// defaultConfig returns the defaults of every setting: what the service runs
// with when neither a flag nor the environment says otherwise, and what the
// tests and the subcommands start from. InstanceID is left empty: its
// default depends on the host and the listen address.
func defaultConfig() config {
	return config{
		ListenAddr:         ":8080",
		MetricsAddr:        defaultMetricsAddr,
		DataDir:            "./data",
		LogLevel:           zerolog.InfoLevel,
		Demo:               true,
		SessionTTL:         12 * time.Hour,
		SignInTarpit:       sessions.DefaultTarpit,
		SignInFailureFloor: sessions.DefaultFailureFloor,
		ShutdownGrace:      15 * time.Second,
		ComplexityMax:      3000,
		TokenLimit:         5000,
		PasswordMin:        passwords.DefaultMinLength,
		AssistTTL:          assist.DefaultTTL,
		DashboardURL:       "/dashboard",
		ConsoleURL:         "/console",
		WSInitTimeout:      10 * time.Second,
		WSPing:             15 * time.Second,
		MaxDepth:           12,
		MaxAliases:         30,
		MaxRootFields:      10,
		MaxSelections:      500,
		MaxBodyBytes:       1 << 20,
		WSMaxMessage:       64 << 10,

		WSMaxSocketsPerAccount: defaultSocketsPerAccount,

		SearchCachePages: customers.DefaultSearchCachePages,

		TrustedProxyHeader: "X-Forwarded-For",
	}
}

// validate returns an error naming the first setting the service cannot run
// with: a duration or limit that is not positive (MAX_ALIASES and
// SEARCH_CACHE_PAGES may be 0), a
// password minimum outside 8 to 64, no listen address, no store or no
// instance id.
func (c config) validate() error {
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"SESSION_TTL", c.SessionTTL}, {"SHUTDOWN_GRACE", c.ShutdownGrace}, {"ASSIST_TTL", c.AssistTTL},
		{"WS_INIT_TIMEOUT", c.WSInitTimeout}, {"WS_PING_INTERVAL", c.WSPing},
	} {
		if d.value <= 0 {
			return fmt.Errorf("bad %s %s: want a positive duration", d.name, d.value)
		}
	}
	for _, l := range []struct {
		name       string
		value, min int
	}{
		{"COMPLEXITY_LIMIT", c.ComplexityMax, 1}, {"TOKEN_LIMIT", c.TokenLimit, 1}, {"MAX_DEPTH", c.MaxDepth, 1},
		{"MAX_ALIASES", c.MaxAliases, 0}, {"MAX_ROOT_FIELDS", c.MaxRootFields, 1}, {"MAX_SELECTIONS", c.MaxSelections, 1},
		{"MAX_BODY_BYTES", c.MaxBodyBytes, 1},
		{"WS_MAX_MESSAGE_BYTES", c.WSMaxMessage, 1}, {"WS_MAX_SOCKETS_PER_ACCOUNT", c.WSMaxSocketsPerAccount, 1},
		{"SEARCH_CACHE_PAGES", c.SearchCachePages, 0},
	} {
		if l.value < l.min {
			return fmt.Errorf("bad %s %d: want at least %d", l.name, l.value, l.min)
		}
	}
	if _, err := passwords.NewPolicy(c.PasswordMin); err != nil {
		return fmt.Errorf("bad PASSWORD_MIN_LENGTH: %w", err)
	}
	if _, err := newClientAddresser(c.TrustedProxies, c.TrustedProxyHeader); err != nil {
		return err
	}
	switch {
	case c.ListenAddr == "":
		return errors.New("bad LISTEN_ADDR: empty")
	case c.MongoURI == "" && c.DataDir == "":
		return errors.New("bad DATA_DIR: empty, and no MONGODB_URI")
	case c.InstanceID == "":
		return errors.New("bad INSTANCE_ID: empty")
	}
	return nil
}

// errHelp is returned after -h printed the usage: not a failure.
var errHelp = errors.New("help requested")

// subcommandsUsage heads `server -h`: what the binary does besides serving.
const subcommandsUsage = `usage: server [flags]                 serve (the flags below; each has an environment variable)
       server seed [-domain D] [-n N] [-file FILE]     add generated customers (or write them to an import file)
       server create-operator -domain D -email E ...   add an operator (and the domain with -domain-name)
       server import -domain D [-dry-run] [-rejects F] FILE|-   bring customers in (README: Bringing customers in and out)
       server export -domain D [-format jsonl|csv] [-include-password-hashes] [FILE]
       server backup -data-dir DIR FILE | server restore FILE -data-dir DIR   the embedded store
       server bench-search | bench-login | bench-writes | bench-sockets   benchmarks (docs/BENCHMARKS.md)
Each subcommand takes -h.

flags:`

// parseConfig reads args (without the program name) and the environment
// over defaultConfig() and returns the result if it validates.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := defaultConfig()
	var origins, level, playground, profiling, demo, proxies, exempt string
	envs := &envParser{getenv: getenv}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.ListenAddr, "listen-addr", env("LISTEN_ADDR", c.ListenAddr), "address to serve HTTP and WebSocket on (LISTEN_ADDR)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("METRICS_ADDR", c.MetricsAddr), "address of the Prometheus /metrics listener, or off (METRICS_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("DATA_DIR", c.DataDir), "directory of the embedded SQLite store (DATA_DIR)")
	fs.StringVar(&c.MongoURI, "mongodb-uri", env("MONGODB_URI", c.MongoURI), "MongoDB connection string; selects the Mongo store (MONGODB_URI)")
	fs.StringVar(&origins, "allowed-origins", env("ALLOWED_ORIGINS", strings.Join(c.AllowedOrigins, ",")), "comma-separated browser origins allowed besides the server's own (ALLOWED_ORIGINS)")
	fs.StringVar(&playground, "playground", env("PLAYGROUND", onOff(c.Playground)), "on: serve the admin playground at /playground, the only way to introspect (PLAYGROUND)")
	fs.StringVar(&profiling, "profiling", env("PROFILING", onOff(c.Profiling)), "on: serve Go's /debug/pprof/ on the metrics listener, for benchmarks (PROFILING)")
	fs.StringVar(&level, "log-level", env("LOG_LEVEL", c.LogLevel.String()), "trace, debug, info, warn or error (LOG_LEVEL)")
	fs.StringVar(&demo, "demo", env("DEMO", onOff(c.Demo)), "on: create the demo domain on a new embedded store, one without domains (DEMO)")
	fs.DurationVar(&c.SessionTTL, "session-ttl", envs.duration("SESSION_TTL", c.SessionTTL), "how long a session lives (SESSION_TTL)")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", envs.duration("SHUTDOWN_GRACE", c.ShutdownGrace), "time in-flight requests get at shutdown (SHUTDOWN_GRACE)")
	fs.IntVar(&c.ComplexityMax, "complexity-limit", envs.int("COMPLEXITY_LIMIT", c.ComplexityMax), "maximum GraphQL query complexity (COMPLEXITY_LIMIT)")
	fs.IntVar(&c.TokenLimit, "token-limit", envs.int("TOKEN_LIMIT", c.TokenLimit), "maximum GraphQL tokens in one query (TOKEN_LIMIT)")
	fs.DurationVar(&c.AssistTTL, "assist-ttl", envs.duration("ASSIST_TTL", c.AssistTTL), "how long a remote assistance lasts (ASSIST_TTL)")
	fs.StringVar(&c.DashboardURL, "dashboard-url", env("DASHBOARD_URL", c.DashboardURL), "the customer dashboard's URL, for remote assistance links (DASHBOARD_URL)")
	fs.StringVar(&c.ConsoleURL, "console-url", env("CONSOLE_URL", c.ConsoleURL), "the console's URL, for operator setup links (CONSOLE_URL)")
	fs.DurationVar(&c.WSInitTimeout, "ws-init-timeout", envs.duration("WS_INIT_TIMEOUT", c.WSInitTimeout), "time a WebSocket has to send connection_init (WS_INIT_TIMEOUT)")
	fs.DurationVar(&c.WSPing, "ws-ping-interval", envs.duration("WS_PING_INTERVAL", c.WSPing), "WebSocket keep-alive period; peers that miss two pings are dropped (WS_PING_INTERVAL)")
	fs.StringVar(&c.InstanceID, "instance-id", env("INSTANCE_ID", c.InstanceID), "stable name of this instance, to resume the event stream after a restart (INSTANCE_ID; default host name and listen address)")
	fs.IntVar(&c.MaxDepth, "max-depth", envs.int("MAX_DEPTH", c.MaxDepth), "deepest selection nesting (MAX_DEPTH)")
	fs.IntVar(&c.MaxAliases, "max-aliases", envs.int("MAX_ALIASES", c.MaxAliases), "aliases in one operation (MAX_ALIASES)")
	fs.IntVar(&c.MaxRootFields, "max-root-fields", envs.int("MAX_ROOT_FIELDS", c.MaxRootFields), "root fields in one operation (MAX_ROOT_FIELDS)")
	fs.IntVar(&c.MaxSelections, "max-selections", envs.int("MAX_SELECTIONS", c.MaxSelections), "selections written in one GraphQL document (MAX_SELECTIONS)")
	fs.IntVar(&c.MaxBodyBytes, "max-body-bytes", envs.int("MAX_BODY_BYTES", c.MaxBodyBytes), "largest HTTP request body (MAX_BODY_BYTES)")
	fs.IntVar(&c.SearchCachePages, "search-cache-pages", envs.int("SEARCH_CACHE_PAGES", c.SearchCachePages), "customer search pages kept for repeated searches, 0 for none (SEARCH_CACHE_PAGES)")
	fs.IntVar(&c.WSMaxMessage, "ws-max-message-bytes", envs.int("WS_MAX_MESSAGE_BYTES", c.WSMaxMessage), "largest WebSocket message (WS_MAX_MESSAGE_BYTES)")
	fs.IntVar(&c.WSMaxSocketsPerAccount, "ws-max-sockets-per-account", envs.int("WS_MAX_SOCKETS_PER_ACCOUNT", c.WSMaxSocketsPerAccount),
		"signed-in WebSocket connections of one account or assistance; more are closed with 1013 (WS_MAX_SOCKETS_PER_ACCOUNT)")
	fs.StringVar(&proxies, "trusted-proxies", env("TRUSTED_PROXIES", ""), "comma-separated CIDR ranges of the reverse proxies whose header names the client (TRUSTED_PROXIES)")
	fs.StringVar(&c.TrustedProxyHeader, "trusted-proxy-header", env("TRUSTED_PROXY_HEADER", c.TrustedProxyHeader), "the header the trusted proxies write: X-Forwarded-For or Forwarded (TRUSTED_PROXY_HEADER)")
	fs.StringVar(&exempt, "throttle-exempt-cidrs", env("THROTTLE_EXEMPT_CIDRS", ""), "comma-separated CIDR ranges of client addresses without a budget of failed sign-ins (THROTTLE_EXEMPT_CIDRS)")
	fs.IntVar(&c.PasswordMin, "password-min-length", envs.int("PASSWORD_MIN_LENGTH", c.PasswordMin), "minimum password length, 8 to 64 (PASSWORD_MIN_LENGTH)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(usage, subcommandsUsage)
			fs.SetOutput(usage)
			fs.PrintDefaults()
			return config{}, errHelp
		}
		return config{}, fmt.Errorf("bad command line: %w", err)
	}
	if envs.err != nil {
		return config{}, envs.err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("bad command line: unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.LogLevel, err = zerolog.ParseLevel(strings.ToLower(level)); err != nil || level == "" {
		return config{}, fmt.Errorf("bad LOG_LEVEL %q: want trace, debug, info, warn or error", level)
	}
	if c.Profiling, err = parseSwitch("PROFILING", profiling); err != nil {
		return c, err
	}
	if c.Playground, err = parseSwitch("PLAYGROUND", playground); err != nil {
		return config{}, err
	}
	if c.Demo, err = parseSwitch("DEMO", demo); err != nil {
		return config{}, err
	}
	if c.TrustedProxies, err = parseCIDRs("TRUSTED_PROXIES", proxies); err != nil {
		return config{}, err
	}
	if c.ThrottleExempt, err = parseCIDRs("THROTTLE_EXEMPT_CIDRS", exempt); err != nil {
		return config{}, err
	}
	c.AllowedOrigins = nil
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, strings.TrimSuffix(o, "/"))
		}
	}
	if strings.EqualFold(c.MetricsAddr, "off") {
		c.MetricsAddr = ""
	}
	c.DemoPassword = getenv("DEMO_PASSWORD")
	if c.InstanceID == "" {
		host, _ := os.Hostname()
		c.InstanceID = host + c.ListenAddr
	}
	if err := c.validate(); err != nil {
		return config{}, err
	}
	return c, nil
}

// onOff returns a switch's value as the flags spell it.
func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func parseSwitch(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("bad %s %q: want on or off", name, v)
}

// envParser reads typed environment variables, remembering the first
// malformed one so that it is reported like a bad flag.
type envParser struct {
	getenv func(string) string
	err    error
}

func (e *envParser) duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("bad %s %q: want a duration such as 30s or 12h", name, v)
	}
	return d
}

func (e *envParser) int(name string, def int) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("bad %s %q: want a whole number", name, v)
	}
	return n
}
