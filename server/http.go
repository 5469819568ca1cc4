package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/web"
	"github.com/iotconsole/bff/resolvers"
)

// routes returns the service's HTTP handler. /metrics is not among its
// routes: metricsRoutes serves it on a listener of its own.
func routes(cfg config, log zerolog.Logger, gql http.Handler, ping func(context.Context) error, m *metrics, sessionService *sessions.Service) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /graphql", apiHeaders(graphqlOverHTTP(gql)))
	mux.Handle("GET /graphql", apiHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead { // ServeMux routes HEAD here, and lists it in a 405's Allow: the GET's headers (net/http drops the body)
			r = r.Clone(r.Context())
			r.Method = http.MethodGet
		}
		if r.Header.Get("Upgrade") == "" {
			graphqlOverHTTP(gql).ServeHTTP(w, r) // a query in the URL
			return
		}
		r = withSocketSlot(r)
		gql.ServeHTTP(w, r) // returns when the connection has ended
		if c := slotOf(r.Context()).conn; c != nil {
			c.closeLeftOpen()
		}
	})))
	// Any other method (PUT, DELETE, an OPTIONS that is no CORS preflight):
	// 405 with the API's headers and a JSON answer, as for a mutation sent
	// with GET, not ServeMux's plain text (tryout 19).
	mux.Handle("/graphql", apiHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD, POST")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"errors":[{"message":"send queries with GET or POST, mutations with POST, subscriptions over a WebSocket","extensions":{"code":"METHOD_NOT_ALLOWED"}}]}` + "\n"))
	})))
	mux.Handle("GET /healthz", apiHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})))
	mux.Handle("GET /readyz", apiHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ping(ctx); err != nil {
			zerolog.Ctx(r.Context()).Warn().Err(err).Msg("store not reachable")
			http.Error(w, "store not reachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})))
	if cfg.Playground {
		mux.Handle("POST /playground/graphql", apiHeaders(adminsOnly(sessionService, gql)))
	}
	web.Register(mux, cfg.Playground)

	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		// The mux names the route on the request it was given, a copy of
		// the access log's: hand the name back through the context.
		if route, ok := r.Context().Value(routeKey{}).(*string); ok {
			*route = r.Pattern
		}
	})
	addresser, err := newClientAddresser(cfg.TrustedProxies, cfg.TrustedProxyHeader)
	if err != nil { // config.validate refuses it first; should it not, trust no proxy
		addresser = &clientAddresser{}
	}
	h = withSession(h, int64(cfg.MaxBodyBytes), addresser)
	h = withCORS(h, cfg.AllowedOrigins)
	h = withRequestID(h)
	h = hlog.AccessHandler(func(r *http.Request, status, size int, d time.Duration) {
		route := "unmatched"
		if named, _ := r.Context().Value(routeKey{}).(*string); named != nil && *named != "" {
			route = *named
		}
		m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		// The path only: query strings, headers and bodies may carry secrets.
		hlog.FromRequest(r).Debug().Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).
			Int("size", size).Dur("duration", d).Msg("request")
	})(h)
	h = withRouteName(h)
	h = hlog.RequestIDHandler("req_id", "X-Request-Id")(h)
	h = hlog.NewHandler(log)(h)
	return h
}

type routeKey struct{}

// withRouteName gives the request a place for the name of the route that
// serves it (the mux's pattern), for the access log and the metrics.
func withRouteName(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, new(string))))
	})
}

// metricsRoutes returns the handler of the metrics listener: Prometheus
// metrics at /metrics and, with profiling on, Go's profiles at
// /debug/pprof/ (net/http/pprof): CPU, heap, goroutines, for benchmarks.
// They stay off the public listener whatever the configuration.
func metricsRoutes(m *metrics, profiling bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", apiHeaders(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})))
	if profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	}
	return mux
}

// writeError answers a request refused before GraphQL runs: a GraphQL-shaped
// JSON error with extensions.code, marked as API answers are (apiHeaders).
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": message, "extensions": map[string]string{"code": code}}},
	})
}

// apiHeaders marks API answers (they carry tokens and personal data) as
// never to be stored by a browser or a proxy, nor sniffed as another type.
func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// withRequestID hands the request id to the domain layer for audit records.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := hlog.IDFromRequest(r); ok {
			r = r.WithContext(audit.WithRequestID(r.Context(), id.String()))
		}
		next.ServeHTTP(w, r)
	})
}

// withSession carries the bearer token (checked lazily per operation) and
// bounds the body size.
func withSession(next http.Handler, maxBody int64, clients *clientAddresser) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			writeError(w, http.StatusRequestEntityTooLarge, codeBadRequest, "the request body is too large")
			return
		}
		if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
			// A body that does not say its length is read (up to the limit)
			// before anything parses it, so that one too long gets 413.
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
			if err != nil {
				writeError(w, http.StatusRequestEntityTooLarge, codeBadRequest, "the request body is too large")
				return
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		r = r.WithContext(audit.WithClientAddr(r.Context(), clients.addr(r)))
		if token := bearerToken(r.Header.Get("Authorization")); token != "" {
			r = r.WithContext(resolvers.WithToken(r.Context(), token))
		}
		next.ServeHTTP(w, r)
	})
}

// withCORS answers cross-origin requests only for the configured origins:
// their preflight gets the headers a browser needs to send a bearer token
// in a JSON POST, and their responses are readable. Every other origin gets
// no CORS headers at all (and a preflight is refused), so browsers keep its
// scripts out. Same-origin requests need none of this.
func withCORS(next http.Handler, allowed []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		ok := origin != "" && slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, origin) })
		if ok {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Add("Vary", "Origin")
		}
		// A WebSocket handshake from a foreign page is refused here, with a
		// log line of the server's own (gqlgen logged the upgrader's refusal
		// through the standard library: no level, no request id). The
		// upgrader checks again (newGorillaSockets).
		if websocket.IsWebSocketUpgrade(r) && !originAllowed(r, allowed) {
			hlog.FromRequest(r).Warn().Str("origin", origin[:min(len(origin), 200)]).Msg("WebSocket refused: its Origin is not allowed (ALLOWED_ORIGINS)")
			writeError(w, http.StatusForbidden, codeForbidden, "origin not allowed")
			return
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !ok {
				writeError(w, http.StatusForbidden, codeForbidden, "origin not allowed")
				return
			}
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminsOnly serves the playground's endpoint: the same API, with
// introspection, for requests signed by an ADMIN operator's session. Anyone
// else gets a GraphQL error and nothing runs.
func adminsOnly(svc *sessions.Service, gql http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse := func(status int, code, message string) { writeError(w, status, code, message) }
		token := bearerToken(r.Header.Get("Authorization"))
		if token == "" {
			refuse(http.StatusUnauthorized, codeUnauthenticated, "sign in first")
			return
		}
		p, err := svc.Authenticate(r.Context(), token)
		switch {
		case errors.Is(err, apperr.ErrUnauthenticated), errors.Is(err, apperr.ErrAccountDisabled):
			refuse(http.StatusUnauthorized, codeUnauthenticated, "sign in first")
		case err != nil:
			zerolog.Ctx(r.Context()).Error().Err(err).Msg("playground authentication failed")
			refuse(http.StatusServiceUnavailable, codeUnavailable, "try again later")
		case !p.Can(operators.PermUsePlayground):
			refuse(http.StatusForbidden, codeForbidden, "the playground is for administrators")
		default:
			gql.ServeHTTP(w, r.WithContext(withIntrospection(r.Context())))
		}
	})
}

// graphqlOverHTTP shapes /graphql's answers where gqlgen's differ from the
// GraphQL over HTTP specification (graphql.github.io/graphql-over-http):
//   - a request that fails before execution (it does not parse or
//     validate) has no "data" entry; it is answered 200 as
//     application/json (gqlgen: 422) and 400 as
//     application/graphql-response+json;
//   - a mutation (or subscription) sent with GET is 405 with Allow: POST
//     (gqlgen: 406): GET is for queries, which change nothing;
//   - gqlgen's own refusals, which carry no code and come as text/plain,
//     are JSON of the media type asked for, with a code: a body that is not
//     JSON (a form, text/plain) 415 UNSUPPORTED_MEDIA_TYPE, the rest
//     BAD_REQUEST (variables that do not decode, several operations and no
//     operationName).
//
// Successful answers pass through untouched and unbuffered.
func graphqlOverHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The answer's media type, chosen once (responseContentType), is all
		// gqlgen is told the client accepts: it picks its status codes by
		// the first type listed, whatever the weights.
		accept := responseContentType(r.Header.Get("Accept"))
		r.Header.Set("Accept", accept)
		sw := &shapedResponse{ResponseWriter: w, accept: accept}
		next.ServeHTTP(sw, r)
		sw.finish()
	})
}

// shapedResponse passes a response through, unless its status is one
// graphqlOverHTTP reshapes: then it keeps the body to rewrite it.
type shapedResponse struct {
	http.ResponseWriter
	accept string // the request's Accept
	status int
	held   *bytes.Buffer // the body of a response being reshaped
}

func (s *shapedResponse) WriteHeader(status int) {
	if s.status != 0 {
		return
	}
	s.status = status
	switch status {
	case http.StatusUnprocessableEntity, http.StatusBadRequest, http.StatusNotAcceptable:
		s.held = &bytes.Buffer{}
	default:
		s.ResponseWriter.WriteHeader(status)
	}
}

func (s *shapedResponse) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	if s.held != nil {
		return s.held.Write(b)
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets streamed answers through.
func (s *shapedResponse) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok && s.held == nil {
		f.Flush()
	}
}

func (s *shapedResponse) finish() {
	if s.held == nil {
		return
	}
	h := s.ResponseWriter.Header()
	if s.status == http.StatusNotAcceptable { // gqlgen's answer to a mutation over GET
		h.Set("Allow", "POST")
		h.Set("Content-Type", "application/json")
		s.ResponseWriter.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = s.ResponseWriter.Write([]byte(`{"errors":[{"message":"GET is for queries: send mutations with POST or over a WebSocket, subscriptions over a WebSocket","extensions":{"code":"METHOD_NOT_ALLOWED"}}]}` + "\n"))
		return
	}
	status := s.status
	if status == http.StatusUnprocessableEntity {
		status = http.StatusOK // application/json: the errors say it
	}
	body := s.held.Bytes()
	var answer map[string]json.RawMessage
	if json.Unmarshal(body, &answer) == nil {
		delete(answer, "data") // a request error has no data entry at all
		var errs []gqlerror.Error
		if json.Unmarshal(answer["errors"], &errs) == nil {
			for i, e := range errs {
				code := codeBadRequest
				switch {
				case e.Message == "transport not supported":
					code, status = codeUnsupportedMediaType, http.StatusUnsupportedMediaType
					e.Message = "send the request as JSON (Content-Type: application/json), or a query in the URL with GET"
				case isOperationNotFound(e.Message):
					e.Message = operationNotFound
				}
				if e.Extensions["code"] == nil {
					e.Extensions = map[string]any{"code": code}
				}
				errs[i] = e
			}
			answer["errors"], _ = json.Marshal(errs)
		}
		if b, err := json.Marshal(answer); err == nil {
			body = append(b, '\n')
		}
		if !strings.Contains(h.Get("Content-Type"), "json") {
			h.Set("Content-Type", responseContentType(s.accept))
		}
	}
	h.Del("Content-Length")
	s.ResponseWriter.WriteHeader(status)
	_, _ = s.ResponseWriter.Write(body)
}
