package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/passwords"
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
	LogLevel       zerolog.Level // LOG_LEVEL: trace, debug, info, warn, error
	Demo           bool          // DEMO: create the demo domain on an empty embedded store
	DemoPassword   string        // DEMO_PASSWORD (environment only: flags show up in process lists)
	SessionTTL     time.Duration // SESSION_TTL
	ShutdownGrace  time.Duration // SHUTDOWN_GRACE: how long in-flight requests get to finish
	ComplexityMax  int           // COMPLEXITY_LIMIT
	TokenLimit     int           // TOKEN_LIMIT: the GraphQL parser's token limit
	PasswordMin    int           // PASSWORD_MIN_LENGTH: 8 to 64
	AssistTTL      time.Duration // ASSIST_TTL: how long a remote assistance lasts
	DashboardURL   string        // DASHBOARD_URL: where startAssist sends the operator
	WSInitTimeout  time.Duration // WS_INIT_TIMEOUT: how long a socket may wait before connection_init
	WSPing         time.Duration // WS_PING_INTERVAL: keep-alive period; a peer silent for two is dropped
	InstanceID     string        // INSTANCE_ID: names this instance's saved position in the event stream
	MaxDepth       int           // MAX_DEPTH: deepest selection nesting
	MaxAliases     int           // MAX_ALIASES: aliases in one operation
	MaxRootFields  int           // MAX_ROOT_FIELDS: root fields in one operation
	MaxBodyBytes   int           // MAX_BODY_BYTES: largest HTTP request body
	WSMaxMessage   int           // WS_MAX_MESSAGE_BYTES: largest WebSocket message
}

// defaultMetricsAddr keeps /metrics on the loopback interface: what a
// process exports about itself (routes, error rates, connection counts) is
// for the machine's own scraper, not for the service's public port.
// 9464 is the port OpenTelemetry's Prometheus exporter uses.
const defaultMetricsAddr = "127.0.0.1:9464"

// errHelp is returned after -h printed the usage: not a failure.
var errHelp = errors.New("help requested")

// parseConfig reads args (without the program name) and the environment.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c config
	var origins, level, playground, demo string
	envs := &envParser{getenv: getenv}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.ListenAddr, "listen-addr", env("LISTEN_ADDR", ":8080"), "address to serve HTTP and WebSocket on (LISTEN_ADDR)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("METRICS_ADDR", defaultMetricsAddr), "address of the Prometheus /metrics listener, or off (METRICS_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("DATA_DIR", "./data"), "directory of the embedded SQLite store (DATA_DIR)")
	fs.StringVar(&c.MongoURI, "mongodb-uri", env("MONGODB_URI", ""), "MongoDB connection string; selects the Mongo store (MONGODB_URI)")
	fs.StringVar(&origins, "allowed-origins", env("ALLOWED_ORIGINS", ""), "comma-separated browser origins allowed besides the server's own (ALLOWED_ORIGINS)")
	fs.StringVar(&playground, "playground", env("PLAYGROUND", "off"), "on: serve the admin playground at /playground, the only way to introspect (PLAYGROUND)")
	fs.StringVar(&level, "log-level", env("LOG_LEVEL", "info"), "trace, debug, info, warn or error (LOG_LEVEL)")
	fs.StringVar(&demo, "demo", env("DEMO", "on"), "on: create the demo domain on an empty embedded store (DEMO)")
	fs.DurationVar(&c.SessionTTL, "session-ttl", envs.duration("SESSION_TTL", 12*time.Hour), "how long a session lives (SESSION_TTL)")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", envs.duration("SHUTDOWN_GRACE", 15*time.Second), "time in-flight requests get at shutdown (SHUTDOWN_GRACE)")
	fs.IntVar(&c.ComplexityMax, "complexity-limit", envs.int("COMPLEXITY_LIMIT", 3000), "maximum GraphQL query complexity (COMPLEXITY_LIMIT)")
	fs.IntVar(&c.TokenLimit, "token-limit", envs.int("TOKEN_LIMIT", 5000), "maximum GraphQL tokens in one query (TOKEN_LIMIT)")
	fs.DurationVar(&c.AssistTTL, "assist-ttl", envs.duration("ASSIST_TTL", assist.DefaultTTL), "how long a remote assistance lasts (ASSIST_TTL)")
	fs.StringVar(&c.DashboardURL, "dashboard-url", env("DASHBOARD_URL", "/dashboard"), "the customer dashboard's URL, for remote assistance links (DASHBOARD_URL)")
	fs.DurationVar(&c.WSInitTimeout, "ws-init-timeout", envs.duration("WS_INIT_TIMEOUT", 10*time.Second), "time a WebSocket has to send connection_init (WS_INIT_TIMEOUT)")
	fs.DurationVar(&c.WSPing, "ws-ping-interval", envs.duration("WS_PING_INTERVAL", 15*time.Second), "WebSocket keep-alive period; peers that miss two pings are dropped (WS_PING_INTERVAL)")
	fs.StringVar(&c.InstanceID, "instance-id", env("INSTANCE_ID", ""), "stable name of this instance, to resume the event stream after a restart (INSTANCE_ID; default host name and listen address)")
	fs.IntVar(&c.MaxDepth, "max-depth", envs.int("MAX_DEPTH", 12), "deepest selection nesting (MAX_DEPTH)")
	fs.IntVar(&c.MaxAliases, "max-aliases", envs.int("MAX_ALIASES", 30), "aliases in one operation (MAX_ALIASES)")
	fs.IntVar(&c.MaxRootFields, "max-root-fields", envs.int("MAX_ROOT_FIELDS", 10), "root fields in one operation (MAX_ROOT_FIELDS)")
	fs.IntVar(&c.MaxBodyBytes, "max-body-bytes", envs.int("MAX_BODY_BYTES", 1<<20), "largest HTTP request body (MAX_BODY_BYTES)")
	fs.IntVar(&c.WSMaxMessage, "ws-max-message-bytes", envs.int("WS_MAX_MESSAGE_BYTES", 64<<10), "largest WebSocket message (WS_MAX_MESSAGE_BYTES)")
	fs.IntVar(&c.PasswordMin, "password-min-length", envs.int("PASSWORD_MIN_LENGTH", passwords.DefaultMinLength), "minimum password length, 8 to 64 (PASSWORD_MIN_LENGTH)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
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
	if c.Playground, err = parseSwitch("PLAYGROUND", playground); err != nil {
		return config{}, err
	}
	if c.Demo, err = parseSwitch("DEMO", demo); err != nil {
		return config{}, err
	}
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
	if c.SessionTTL <= 0 || c.ShutdownGrace <= 0 || c.ComplexityMax <= 0 || c.TokenLimit <= 0 || c.AssistTTL <= 0 || c.WSInitTimeout <= 0 || c.WSPing <= 0 ||
		c.MaxDepth <= 0 || c.MaxAliases < 0 || c.MaxRootFields <= 0 || c.MaxBodyBytes <= 0 || c.WSMaxMessage <= 0 {
		return config{}, errors.New("bad configuration: durations and limits must be positive")
	}
	if _, err := passwords.NewPolicy(c.PasswordMin); err != nil {
		return config{}, fmt.Errorf("bad PASSWORD_MIN_LENGTH: %w", err)
	}
	return c, nil
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
