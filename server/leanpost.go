package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
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
	if _, err := dec.Token(); err != io.EOF || namesAKeyTwice(body) {
		// More after the object, or a key given twice, of which a proxy or
		// a log may read the first where the server ran the last (tryout
		// 19): answered as a body that is no JSON request, by transport.POST
		// given one it cannot decode.
		r.Body = io.NopCloser(strings.NewReader("{"))
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
// accepts accept (RFC 9110, section 12.5.1): of application/json and
// application/graphql-response+json, the one accept gives the higher
// weight (q), by the most specific range that names it; between equals, the
// one whose range accept lists first, and application/json for a range
// that names both (*/*, application/*); application/json for no Accept
// (GraphQL over HTTP, "Legacy Watershed"), and
// application/graphql-response+json when accept takes neither.
// graphqlOverHTTP gives gqlgen this type alone as the request's Accept, so
// that its status codes follow the same choice.
func responseContentType(accept string) string {
	if strings.TrimSpace(accept) == "" {
		return jsonType
	}
	best, bestQ, bestAt := graphQLResponseType, 0.0, 0
	for _, candidate := range []string{jsonType, graphQLResponseType} {
		if q, at := acceptance(accept, candidate); q > bestQ || (q == bestQ && q > 0 && at < bestAt) {
			best, bestQ, bestAt = candidate, q, at
		}
	}
	return best
}

// acceptance returns the weight accept gives mediaType, by its most
// specific range that matches (type/subtype, then type/*, then */*), and
// that range's place in the list; 0 when none does. A range whose weight
// does not parse is ignored.
func acceptance(accept, mediaType string) (q float64, at int) {
	kind, _, _ := strings.Cut(mediaType, "/")
	specificity := -1
	i := 0
	for part := range strings.SplitSeq(accept, ",") {
		i++
		r, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		s := -1
		switch r {
		case mediaType:
			s = 2
		case kind + "/*":
			s = 1
		case "*/*":
			s = 0
		}
		if s <= specificity {
			continue
		}
		weight := 1.0
		if v, ok := params["q"]; ok {
			if weight, err = strconv.ParseFloat(v, 64); err != nil || weight < 0 || weight > 1 {
				continue
			}
		}
		q, at, specificity = weight, i, s
	}
	return q, at
}

// requestKeys are the keys of a GraphQL request body (GraphQL over HTTP,
// "Request Parameters"), as they appear in its JSON text unescaped.
var requestKeys = [][]byte{[]byte(`"query"`), []byte(`"variables"`), []byte(`"operationName"`), []byte(`"extensions"`)}

// namesAKeyTwice reports whether the JSON object body (decoded without
// error) names one of its own keys twice. (RFC 8259, section 4: names
// "SHOULD be unique"; encoding/json keeps the last.) It reads the object
// only when its text could: a key of the request twice, or an escape, with
// which a key may be written otherwise ("\u0071uery").
func namesAKeyTwice(body []byte) bool {
	suspect := bytes.Contains(body, []byte(`\u`))
	for _, k := range requestKeys {
		suspect = suspect || bytes.Count(body, k) > 1
	}
	if !suspect {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the object's {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false
		}
		name, _ := key.(string)
		if seen[name] {
			return true
		}
		seen[name] = true
		var value json.RawMessage
		if dec.Decode(&value) != nil {
			return false
		}
	}
	return false
}
