package resolvers

import (
	"context"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vikstrous/dataloadgen"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/operators"
)

// loaderWait is how long a dataloader collects the keys of one field level
// before it reads them. The items of a list resolve concurrently, but on a
// busy machine the loads of a hundred items spread over several
// milliseconds: lists of assist sessions do not rely on it and queue their
// items' loads themselves (prefetchAssists).
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
// its loader, which reads all the ids of that field level in one store
// read, through the service's batch method and its domain checks.
type loaders struct {
	cached    bool
	customers loader[customers.Customer]
	operators loader[operators.Operator]
	assists   loader[assist.Session]
	changes   loader[[]audit.Record]
}

// loader is a dataloader with the batch function it reads through, so that
// a prefetch can read keys it knows of at once (prime).
type loader[V any] struct {
	*dataloadgen.Loader[loaderKey, V]
	fetch func(context.Context, []loaderKey) ([]V, []error)
}

func newLoader[V any](fetch func(context.Context, []loaderKey) ([]V, []error), opts ...dataloadgen.Option) loader[V] {
	return loader[V]{dataloadgen.NewLoader(fetch, opts...), fetch}
}

// prime reads keys with one call of the batch function, now, and primes the
// loader's cache with what it found: the loads of those keys then read
// nothing, however late they come. A key that failed is left out, so that
// its load reads it again and gets its error.
func (l loader[V]) prime(ctx context.Context, keys []loaderKey) {
	if len(keys) == 0 {
		return
	}
	values, errs := l.fetch(ctx, keys)
	for i, k := range keys {
		if errs[i] == nil {
			l.Prime(k, values[i])
		}
	}
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
	changes := func(ctx context.Context, domainID string, ids []string) (func(string) ([]audit.Record, error), error) {
		bySession, err := r.AssistService.ChangesOf(ctx, domainID, ids)
		return func(id string) ([]audit.Record, error) { return bySession[id], nil }, err
	}
	return &loaders{
		cached:    cached,
		customers: newLoader(perDomain(batchOf(r.CustomerService.GetMany)), opts...),
		operators: newLoader(perDomain(batchOf(r.OperatorService.GetMany)), opts...),
		assists:   newLoader(perDomain(batchOf(r.AssistService.GetMany)), opts...),
		changes:   newLoader(perDomain(changes), opts...),
	}
}

// batchOf adapts a service's GetMany, whose batch answers each id as the
// service's Get would, to perDomain.
func batchOf[V any](getMany func(ctx context.Context, domainID string, ids []string) (domains.Batch[V], error)) func(context.Context, string, []string) (func(string) (V, error), error) {
	return func(ctx context.Context, domainID string, ids []string) (func(string) (V, error), error) {
		b, err := getMany(ctx, domainID, ids)
		return b.Get, err
	}
}

// perDomain returns a batch function that reads the distinct ids of each
// domain in a batch with one call of load, which returns how to answer each
// id (for an object of another domain than the one it is asked in,
// apperr.ErrNotFound, wrapped) or the error every id of that call gets. The
// keys of one operation are all of its caller's domain: one call a batch.
func perDomain[V any](load func(ctx context.Context, domainID string, ids []string) (func(id string) (V, error), error)) func(context.Context, []loaderKey) ([]V, []error) {
	return func(ctx context.Context, keys []loaderKey) ([]V, []error) {
		var domainIDs []string
		idsOf := map[string][]string{}
		seen := make(map[loaderKey]bool, len(keys))
		for _, k := range keys {
			if seen[k] {
				continue
			}
			seen[k] = true
			if _, ok := idsOf[k.domainID]; !ok {
				domainIDs = append(domainIDs, k.domainID)
			}
			idsOf[k.domainID] = append(idsOf[k.domainID], k.id)
		}
		answers := make(map[string]func(string) (V, error), len(domainIDs))
		failures := map[string]error{}
		for _, d := range domainIDs {
			answer, err := load(ctx, d, idsOf[d])
			if err != nil {
				failures[d] = err
				continue
			}
			answers[d] = answer
		}
		values, errs := make([]V, len(keys)), make([]error, len(keys))
		for i, k := range keys {
			if err := failures[k.domainID]; err != nil {
				errs[i] = err
				continue
			}
			values[i], errs[i] = answers[k.domainID](k.id)
		}
		return values, errs
	}
}

// prefetchAssists reads, for a page of assist sessions a list resolver has
// just read, what its items' fields will load, one read a loader (prime):
// node is what the operation selects of each session, changes whether it
// selects each one's changes. The items' loads then find it, however long
// they take to come: queued in the loaders instead, the keys of a page of
// 100 were split over two reads whenever queuing them took longer than the
// loaders' wait (loaderWait) on a busy machine. Only a query's loaders
// remember what they read; others read nothing ahead.
func (l *loaders) prefetchAssists(ctx context.Context, page []assist.Session, node map[string]bool, changes bool) {
	if !l.cached {
		return
	}
	var customerKeys, operatorKeys, changeKeys []loaderKey
	for _, a := range page {
		if node["customer"] {
			customerKeys = append(customerKeys, loaderKey{a.DomainID, a.CustomerID})
		}
		if node["operator"] {
			operatorKeys = append(operatorKeys, loaderKey{a.DomainID, a.OperatorID})
		}
		if id, ok := endedByOperator(a); ok && node["endedBy"] {
			operatorKeys = append(operatorKeys, loaderKey{a.DomainID, id})
		}
		if changes {
			changeKeys = append(changeKeys, loaderKey{a.DomainID, a.ID})
		}
	}
	l.customers.prime(ctx, customerKeys)
	l.operators.prime(ctx, operatorKeys)
	l.changes.prime(ctx, changeKeys)
}

// endedByOperator returns the id of the operator who ended a, if one did
// (not the system, and not a running session).
func endedByOperator(a assist.Session) (string, bool) {
	return a.EndedBy, !a.EndedAt.IsZero() && a.EndedBy != assist.SystemActor && a.EndedBy != assist.CustomerActor
}

// selected returns the names of the fields the current field selects at
// path below it (field names), looking through fragments of every type
// condition and ignoring @skip and @include: what a prefetch wrongly
// predicts costs a read, never a wrong answer.
func selected(ctx context.Context, path ...string) map[string]bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return nil
	}
	sets := []ast.SelectionSet{fc.Field.Selections}
	for _, name := range path {
		var next []ast.SelectionSet
		for _, set := range sets {
			eachField(set, func(f *ast.Field) {
				if f.Name == name {
					next = append(next, f.SelectionSet)
				}
			})
		}
		sets = next
	}
	names := map[string]bool{}
	for _, set := range sets {
		eachField(set, func(f *ast.Field) { names[f.Name] = true })
	}
	return names
}

// eachField calls fn with every field of set, through its fragments.
func eachField(set ast.SelectionSet, fn func(*ast.Field)) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			fn(s)
		case *ast.InlineFragment:
			eachField(s.SelectionSet, fn)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				eachField(s.Definition.SelectionSet, fn)
			}
		}
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
