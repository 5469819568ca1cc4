package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
)

// leanPOST is gqlgen's POST transport (transport.POST) except in how it
// writes an answer that is data alone: transport.POST writes every answer
// with json.Marshal, which reads the data gqlgen has just written compact a
// second time, to check and compact it again (a tenth of the CPU of a search,
// docs/BENCHMARKS.md, "Side by side, sixth time"). Such an answer is written
// as {"data":...} from the bytes as they are. (encoding/json would also have
// escaped <, > and & in it as \u003c, \u003e and \u0026: the same JSON, and
// no page sniffs an answer served as JSON with X-Content-Type-Options:
// nosniff.) A subscription is refused at once: subscriptions are served over
// a WebSocket. A request it would answer otherwise (a body that is no JSON
// object, an operation refused before it runs) goes to transport.POST as it
// came, so that every error is answered as before.
type leanPOST struct {
	transport.POST
}

// Do implements graphql.Transport.
func (t leanPOST) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.POST.Do(w, r, exec) // its answer to a body that cannot be read
		return
	}
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // as transport.POST decodes
	if dec.Decode(params) != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		t.POST.Do(w, r, exec)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	opCtx, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		t.POST.Do(w, r, exec)
		return
	}
	contentType := responseContentType(r.Header.Get("Accept"))
	w.Header().Add("Content-Type", contentType)
	if opCtx.Operation != nil && opCtx.Operation.Operation == ast.Subscription {
		// transport.POST would wait for the first event, with no time
		// limit and outside the WebSocket's limit on subscriptions.
		status := http.StatusOK // a request error, as application/json answers one
		if contentType == graphQLResponseType {
			status = http.StatusBadRequest
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, subscriptionOverPOST)
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if resp == nil {
		// The client went away (gqlgen's executor answers nothing once the
		// request's context is done): no one reads what would be written.
		return
	}
	if len(resp.Errors) == 0 && len(resp.Data) > 0 && len(resp.Extensions) == 0 && resp.Label == "" && len(resp.Path) == 0 && resp.HasNext == nil {
		_, _ = io.WriteString(w, `{"data":`)
		_, _ = w.Write(resp.Data)
		_, _ = io.WriteString(w, "}")
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		panic(err) // as transport.POST does: the handler's recovery answers
	}
	_, _ = w.Write(b)
}

// subscriptionOverPOST answers a subscription sent with POST: subscriptions
// are served over a WebSocket only.
const subscriptionOverPOST = `{"errors":[{"message":"subscriptions are served over a WebSocket (graphql-transport-ws or graphql-ws), not with POST","extensions":{"code":"BAD_REQUEST"}}]}` + "\n"

// The media types of an answer (responseContentType).
const (
	jsonType            = "application/json"
	graphQLResponseType = "application/graphql-response+json"
)

// responseContentType is the media type of an answer to a request that
// accepts accept, as transport.POST chooses it (the GraphQL over HTTP
// draft): the first of application/json and
// application/graphql-response+json that accept names (application/json for
// none, */* or application/*), else application/graphql-response+json.
func responseContentType(accept string) string {
	if accept == "" {
		return jsonType
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", jsonType:
			return jsonType
		case graphQLResponseType:
			return graphQLResponseType
		}
	}
	return graphQLResponseType
}
