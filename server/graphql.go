package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/rs/zerolog"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/iotconsole/bff/graph"
	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/resolvers"
)

// newGraphQLHandler returns the /graphql handler: POST, GET (queries only)
// and WebSocket, automatic persisted queries, with limits, one error
// presenter and panic recovery. Answers are application/json, or
// application/graphql-response+json when the client asks for it (Accept);
// see graphqlOverHTTP for the status codes.
func newGraphQLHandler(cfg config, r *resolvers.Resolver, sockets *gorillaSockets, m *metrics) *handler.Server {
	wsReadLimit := int64(cfg.WSMaxMessage)
	gcfg := graph.Config{Resolvers: r}
	setListComplexity(&gcfg.Complexity)
	schema := graph.NewExecutableSchema(gcfg)
	srv := handler.New(schema)
	srv.AddTransport(leanPOST{})
	srv.AddTransport(transport.GET{}) // queries only; a mutation is refused (405, see graphqlOverHTTP)
	srv.AddTransport(transport.Websocket{
		Implementation:        sockets,
		InitFunc:              socketInit(r.SessionService, sockets),
		InitTimeout:           cfg.WSInitTimeout,
		PayloadReadLimit:      &wsReadLimit,
		KeepAlivePingInterval: cfg.WSPing, // legacy graphql-ws "ka"
		PingPongInterval:      cfg.WSPing, // graphql-transport-ws ping; a peer that does not answer within two is dropped
	})
	srv.SetParserTokenLimit(cfg.TokenLimit)
	validated := newQueryCache(queryCacheBytes, queryCacheMaxDocument)
	srv.SetQueryCache(validated) // parse and validate each distinct query once
	// Automatic persisted queries (Apollo's protocol, extensions.persistedQuery
	// with the query's SHA-256): mobile apps send a hash, the query only once.
	srv.Use(extension.AutomaticPersistedQuery{Cache: newPersistedQueryCache(persistedQueryBytes, persistedQueryMax)})
	// Before validation, whose cost grows with the square of what a
	// document repeats.
	srv.Use(documentLimits{validated: validated, tokenLimit: cfg.TokenLimit, maxSelections: cfg.MaxSelections, maxFields: cfg.ComplexityMax})
	// Shape first: it refuses, in time linear in the document, what the
	// complexity walk would take exponential time to refuse.
	srv.Use(shapeLimits{maxFields: cfg.ComplexityMax, maxDepth: cfg.MaxDepth, maxAliases: cfg.MaxAliases, maxRootFields: cfg.MaxRootFields})
	srv.Use(strictVariables{schema: schema.Schema()}) // the JSON types the spec's input coercion accepts
	srv.Use(extension.FixedComplexityLimit(cfg.ComplexityMax))
	srv.AroundResponses(capRequestErrors)
	srv.AroundOperations(m.aroundOperations)
	srv.AroundOperations(limitSubscriptions)
	srv.AroundOperations(resolvers.AroundOperations)
	srv.AroundRootFields(r.AroundRootFields) // view-only assistance; what an assistance does, told to the customer
	// No AroundFields: plain fields (a struct's scalars) are marshalled
	// without gqlgen's field middleware (internal/graphgen, plainfields.go).
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		r.RecordRefusal(ctx, err)
		gerr := presentError(ctx, err)
		if !errors.Is(err, context.Canceled) {
			// An operation its client completed or left, whose answer no
			// one reads (see protocolState), is no error of the server's.
			code, _ := gerr.Extensions["code"].(string)
			m.errors.WithLabelValues(code).Inc()
		}
		return gerr
	})
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		zerolog.Ctx(ctx).Error().Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).Msg("resolver panicked")
		return errors.New("internal error")
	})
	return srv
}

// Error codes in extensions.code.
const (
	codeUnauthenticated      = "UNAUTHENTICATED"
	codeForbidden            = "FORBIDDEN"
	codeNotFound             = "NOT_FOUND"
	codeBadUserInput         = "BAD_USER_INPUT"
	codeRateLimited          = "RATE_LIMITED"
	codeAccountDisabled      = "ACCOUNT_DISABLED"
	codeUnavailable          = "UNAVAILABLE"
	codeConflict             = "CONFLICT"
	codeBadRequest           = "BAD_REQUEST"
	codeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE" // a body that is not JSON

	codePasswordChangeRequired = "PASSWORD_CHANGE_REQUIRED"
	codeInternal               = "INTERNAL"
)

// presentError maps a domain error to a GraphQL error with extensions.code.
// Errors gqlgen made itself (parse, validation, limits) keep their code;
// anything unexpected is logged with the request id and shown as "internal error".
func presentError(ctx context.Context, err error) *gqlerror.Error {
	gerr := graphql.DefaultErrorPresenter(ctx, err)
	if gerr.Extensions == nil {
		gerr.Extensions = map[string]any{}
	}
	var ve *apperr.ValidationError
	kinds := []struct {
		target  error
		code    string
		message string
	}{
		{apperr.ErrUnauthenticated, codeUnauthenticated, "sign in first"},
		{apperr.ErrInvalidCredentials, codeUnauthenticated, "the email or password is incorrect"},
		{apperr.ErrOperatorDisabled, codeAccountDisabled, apperr.ErrOperatorDisabled.Error()},
		{apperr.ErrAccountDisabled, codeAccountDisabled, apperr.ErrAccountDisabled.Error()},
		{apperr.ErrForbidden, codeForbidden, "you may not do this"},
		{apperr.ErrNotFound, codeNotFound, "not found"},
		{apperr.ErrRateLimited, codeRateLimited, "Too many requests at once. Try again in a few seconds."},
		{apperr.ErrUnavailable, codeUnavailable, apperr.ErrUnavailable.Error()},
		{apperr.ErrPasswordChangeRequired, codePasswordChangeRequired, apperr.ErrPasswordChangeRequired.Error()},
		{apperr.ErrConflict, codeConflict, "changed by someone else meanwhile; try again"},
	}
	var wait *apperr.RateLimitError
	if errors.As(err, &wait) {
		seconds := retryAfterSeconds(wait.Wait)
		gerr.Message, gerr.Extensions["code"] = rateLimitMessage(seconds), codeRateLimited
		gerr.Extensions["retryAfterSeconds"] = seconds
		return gerr
	}
	var forbidden *apperr.ForbiddenError
	if errors.As(err, &forbidden) { // a refusal that says why, written for the caller
		gerr.Message, gerr.Extensions["code"] = forbidden.Message, codeForbidden
		return gerr
	}
	for _, k := range kinds {
		if errors.Is(err, k.target) {
			gerr.Message, gerr.Extensions["code"] = k.message, k.code
			return gerr
		}
	}
	if errors.As(err, &ve) {
		gerr.Message, gerr.Extensions["code"] = ve.Message, codeBadUserInput
		gerr.Extensions["field"] = ve.Field
		return gerr
	}
	var own *gqlerror.Error
	if errors.As(err, &own) && own.Err == nil {
		// gqlgen's own, about the request itself (parse and validation
		// failures, limits, an undecodable body): the client's doing, never
		// logged (it may quote the body, passwords and all).
		if gerr.Extensions["code"] == nil {
			gerr.Extensions["code"] = codeBadRequest
		}
		// gqlgen quotes an undecodable body whole (passwords and all, at
		// any size): answer with a fixed sentence instead.
		switch {
		case strings.HasPrefix(gerr.Message, "json request body could not be decoded"):
			gerr.Message = "the request body is not a JSON GraphQL request: an object with a query, and variables if it has any"
		case strings.HasPrefix(gerr.Message, "could not read request body"):
			gerr.Message = "the request body could not be read"
		case isOperationNotFound(gerr.Message): // over a WebSocket; HTTP's answer is reshaped in graphqlOverHTTP
			gerr.Message = operationNotFound
		}
		if !introspectionAllowed(ctx) {
			// "Did you mean ..." names fields, arguments, types and enum
			// values: the schema, to callers who may not introspect it.
			gerr.Message, _, _ = strings.Cut(gerr.Message, " Did you mean ")
		}
		gerr.Message = inTheSpecsWords(gerr.Message, gerr.Path)
		gerr.Message = withoutEchoedInput(gerr.Message)
		gerr.Path = pathWithoutEchoedKeys(gerr.Path)
		return gerr
	}
	if errors.Is(err, context.Canceled) {
		gerr.Message, gerr.Extensions["code"] = "request cancelled", codeInternal
		return gerr
	}
	zerolog.Ctx(ctx).Error().Err(err).Msg("internal error")
	gerr.Message, gerr.Extensions["code"] = "internal error", codeInternal
	return gerr
}

// operationNotFound answers gqlgen's "operation <name> not found", which
// quotes the name sent without quotes ("operation  not found" without
// one): the document has several operations and operationName names none,
// or none of them.
const operationNotFound = "name the operation to run in operationName: the document has several, or none of that name"

func isOperationNotFound(message string) bool {
	return strings.HasPrefix(message, "operation ") && strings.HasSuffix(message, " not found")
}

// retryAfterSeconds is wait in whole seconds, rounded up: at least 1.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int((wait+time.Second-1)/time.Second))
}

// rateLimitMessage says how long to wait, in the words every page shows.
func rateLimitMessage(seconds int) string {
	if seconds == 1 {
		return "Too many attempts. Try again in 1 second."
	}
	return fmt.Sprintf("Too many attempts. Try again in %d seconds.", seconds)
}

// socketInit authenticates a WebSocket at connection_init: the token comes in
// the payload as {"Authorization": "Bearer <token>"} or {"token": "<token>"}.
// Without a valid session the socket closes with 4401, for a disabled account
// with 4403. Every operation on the socket is authorized again when it
// starts, and the socket closes with 4401 at the moment the session (or the
// assistance behind it) expires, whatever the traffic on it.
func socketInit(svc *sessions.Service, sockets *gorillaSockets) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		token := bearerToken(payload.Authorization())
		if token == "" {
			token = payload.GetString("token")
		}
		if token == "" {
			return refuseSocket(ctx, closeUnauthorized, "unauthorized: send a session token in connection_init")
		}
		p, err := svc.Authenticate(ctx, token)
		if err != nil {
			if errors.Is(err, apperr.ErrAccountDisabled) {
				return refuseSocket(ctx, closeForbidden, "forbidden: account disabled")
			}
			if errors.Is(err, apperr.ErrUnauthenticated) {
				return refuseSocket(ctx, closeUnauthorized, "unauthorized: session not valid")
			}
			zerolog.Ctx(ctx).Error().Err(err).Msg("websocket authentication failed")
			return refuseSocket(ctx, closeUnauthorized, "internal error")
		}
		account := p.CustomerID
		subjects := []string{account, sessionSubject(p.TokenHash)}
		switch {
		case p.Kind == sessions.KindOperator && !p.SecondFactorVerified():
			account = p.OperatorID
			subjects = append(subjects[1:], account, withoutSecondFactorSubject(p.DomainID))
		case p.Kind == sessions.KindOperator:
			account = p.OperatorID
			subjects[0] = account
		case p.Kind == sessions.KindAssist:
			account = assistSubject(p.AssistID)
			subjects[0] = account
		}
		if !sockets.bind(ctx, p.ExpiresAt, p.SessionEpoch, account, subjects...) {
			return refuseSocket(ctx, closeTryAgainLater, "too many connections for this account: close one, or try again later")
		}
		if slot := slotOf(ctx); slot != nil && slot.conn != nil {
			ctx = events.WithGate(ctx, slot.conn) // the event that ends its session is the last its subscriptions get
		}
		ctx = context.WithValue(ctx, subscriptionBudgetKey{}, new(atomic.Int32))
		return resolvers.WithToken(ctx, token), nil, nil
	}
}

// refuseSocket is socketInit's answer to a connection_init it refuses: the
// socket closes with code and reason, and the connection_error message
// before it says reason too (gqlgen's close frame said "terminated"). A
// close frame's reason holds at most 123 bytes (RFC 6455 section 5.5).
func refuseSocket(ctx context.Context, code int, reason string) (context.Context, *transport.InitPayload, error) {
	return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, code), reason), nil, errors.New(reason)
}

// bearerToken returns the token of an "Authorization: Bearer <token>" value, or "".
func bearerToken(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// maxSubscriptionsPerSocket bounds what one connection can hold open.
const maxSubscriptionsPerSocket = 20

type subscriptionBudgetKey struct{}

// limitSubscriptions refuses a subscription beyond maxSubscriptionsPerSocket
// on one WebSocket; the count drops when a subscription ends.
func limitSubscriptions(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	budget, onSocket := ctx.Value(subscriptionBudgetKey{}).(*atomic.Int32)
	if !onSocket || oc.Operation == nil || oc.Operation.Operation != ast.Subscription {
		return next(ctx)
	}
	if budget.Add(1) > maxSubscriptionsPerSocket {
		budget.Add(-1)
		err := &gqlerror.Error{Message: fmt.Sprintf("at most %d subscriptions per connection", maxSubscriptionsPerSocket),
			Extensions: map[string]any{"code": codeRateLimited}}
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{err}})
	}
	context.AfterFunc(ctx, func() { budget.Add(-1) })
	return next(ctx)
}

type introspectionKey struct{}

// withIntrospection marks a request from the playground's endpoint, which
// has checked that an ADMIN signed it: it may introspect, and its validation
// errors keep their suggestions.
func withIntrospection(ctx context.Context) context.Context {
	return context.WithValue(ctx, introspectionKey{}, true)
}

// introspectionAllowed reports whether ctx was marked by withIntrospection.
func introspectionAllowed(ctx context.Context) bool {
	allowed, _ := ctx.Value(introspectionKey{}).(bool)
	return allowed
}

var (
	// notAValidEnum is gqlgen's refusal of an enum variable, "<the value
	// sent> is not a valid <Enum>".
	notAValidEnum = regexp.MustCompile(`(?s)^.* is not a valid ([_A-Za-z][_0-9A-Za-z]*)$`)
	// notANumberOfItsType is gqlparser's refusal of a JSON number for an
	// Int or Float variable that does not convert ("cannot use value %d as
	// Int"): it names what the failed conversion left (0 for 2.5, the
	// largest int64 for 1e300), never the value sent.
	notANumberOfItsType = regexp.MustCompile(`^cannot use value \S+ as (Int|Float)$`)
	// unquotedValue is a validation message that ends with a literal the
	// document holds as it was sent, unquoted when it is no string
	// (gqlparser's "Int cannot represent non-integer value: <literal>",
	// `Enum "AssistMode" cannot represent non-enum value: <literal>.`,
	// `Expected value of type "Int!", found <literal>.`): what precedes it.
	unquotedValue = regexp.MustCompile(`(?s)^(.*? cannot represent [^:]*: |Expected value of type "[^"]*", found ).*$`)
	// quotedInMessage is a quoted span of a parser or validation message:
	// a name of the schema or of the document, or a value sent.
	quotedInMessage = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	// shortName is what a quoted span may be to stay: a GraphQL name
	// (spec section 2.1.9), a field of a type ("LoginInput.domain", as
	// gqlparser names them), a variable or a type reference ("[Int!]!"),
	// of names up to 64 characters.
	shortName = regexp.MustCompile(`^"[$\[]*[_A-Za-z][_0-9A-Za-z]{0,63}(\.[_A-Za-z][_0-9A-Za-z]{0,63})?[!\]]*"$`)
)

// graphQLName is a name as the GraphQL spec writes them, at most 64
// characters long.
var graphQLName = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]{0,63}$`)

// pathWithoutEchoedKeys returns the path of a request error cut before its
// first key that is no short GraphQL name: gqlparser's "unknown field" of an
// input variable ends its path with the key the request sent, whole (a key
// of 200,000 characters came back in full).
func pathWithoutEchoedKeys(path ast.Path) ast.Path {
	for i, p := range path {
		if name, ok := p.(ast.PathName); ok && !graphQLName.MatchString(string(name)) {
			return path[:i]
		}
	}
	return path
}

// withoutEchoedInput returns a parse or validation message of gqlgen and
// gqlparser without the values the request sent (any length, any
// characters: a 100 KB enum value came back whole): the value of an enum
// variable, the literal a validation message ends with, and every quoted
// span that is not a short name become "…". The names the message gives
// (types, fields, variables) stay.
func withoutEchoedInput(message string) string {
	if m := notAValidEnum.FindStringSubmatch(message); m != nil {
		return "the value is not a valid " + m[1]
	}
	if m := notANumberOfItsType.FindStringSubmatch(message); m != nil && m[1] == "Int" {
		return "the value is not a valid Int: a whole number from -2147483648 to 2147483647, written without a fraction or an exponent"
	} else if m != nil {
		return "the value is not a valid Float"
	}
	if m := unquotedValue.FindStringSubmatch(message); m != nil {
		message = m[1] + "…"
	}
	return quotedInMessage.ReplaceAllStringFunc(message, func(q string) string {
		if shortName.MatchString(q) {
			return q
		}
		return `"…"`
	})
}
