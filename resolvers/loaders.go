package resolvers

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vikstrous/dataloadgen"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/operators"
)

// loaderWait is how long a dataloader collects the keys of one field level
// before it reads them: the items of a list resolve concurrently, and their
// loads arrive within it.
const loaderWait = time.Millisecond

// loaderKey is a dataloader key: an object's id and the domain the caller
// reads in. A loader returns an object only for the domain of its key, so
// that a batch never hands one domain's object to another's caller.
type loaderKey struct {
	domainID string
	id       string
}

// loaders batch the per-id reads of one operation (gqlgen's dataloader
// approach): every field of a list that reads the same kind of object asks
// its loader, which reads all the ids of that field level together, each
// once.
type loaders struct {
	customers *dataloadgen.Loader[loaderKey, customers.Customer]
	operators *dataloadgen.Loader[loaderKey, operators.Operator]
	assists   *dataloadgen.Loader[loaderKey, assist.Session]
	changes   *dataloadgen.Loader[loaderKey, []audit.Record]
}

// newLoaders returns loaders over r's services. cached loaders remember
// what they read for the rest of the operation, which only a query may do:
// a mutation's later fields must see what its earlier ones changed, and a
// subscription's events what is current when each arrives.
func (r *Resolver) newLoaders(cached bool) *loaders {
	opts := []dataloadgen.Option{dataloadgen.WithWait(loaderWait)}
	if !cached {
		opts = append(opts, dataloadgen.WithoutCache())
	}
	// The stores have no batch reads by id yet: each batch reads its
	// distinct keys one by one, through the services' domain checks.
	changes := func(ctx context.Context, domainID, id string) ([]audit.Record, error) {
		records, err := r.AssistService.Changes(ctx, id)
		return slices.DeleteFunc(records, func(rec audit.Record) bool { return rec.DomainID != domainID }), err
	}
	return &loaders{
		customers: dataloadgen.NewLoader(perKey(r.CustomerService.Get), opts...),
		operators: dataloadgen.NewLoader(perKey(r.OperatorService.Get), opts...),
		assists:   dataloadgen.NewLoader(perKey(r.AssistService.Get), opts...),
		changes:   dataloadgen.NewLoader(perKey(changes), opts...),
	}
}

// perKey returns a batch function that reads every distinct key of a batch
// once with get, which returns apperr.ErrNotFound (wrapped) for an object of
// another domain than the one it is asked in.
func perKey[V any](get func(ctx context.Context, domainID, id string) (V, error)) func(context.Context, []loaderKey) ([]V, []error) {
	return func(ctx context.Context, keys []loaderKey) ([]V, []error) {
		values, errs := make([]V, len(keys)), make([]error, len(keys))
		first := make(map[loaderKey]int, len(keys))
		for i, k := range keys {
			if j, seen := first[k]; seen {
				values[i], errs[i] = values[j], errs[j]
				continue
			}
			first[k] = i
			values[i], errs[i] = get(ctx, k.domainID, k.id)
		}
		return values, errs
	}
}

type loadersKey struct{}

// loaderState holds the loaders of one operation, made on first use.
type loaderState struct {
	once    sync.Once
	cached  bool
	loaders *loaders
}

// withLoaders returns ctx carrying the loaders of a new operation.
func withLoaders(ctx context.Context) context.Context {
	query := graphql.HasOperationContext(ctx) && graphql.GetOperationContext(ctx).Operation != nil &&
		graphql.GetOperationContext(ctx).Operation.Operation == ast.Query
	return context.WithValue(ctx, loadersKey{}, &loaderState{cached: query})
}

// loaders returns the current operation's loaders; outside an operation, a
// set of its own that batches but remembers nothing.
func (r *Resolver) loaders(ctx context.Context) *loaders {
	st, ok := ctx.Value(loadersKey{}).(*loaderState)
	if !ok {
		return r.newLoaders(false)
	}
	st.once.Do(func() { st.loaders = r.newLoaders(st.cached) })
	return st.loaders
}
