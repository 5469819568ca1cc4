package main

import (
	"container/list"
	"context"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
)

// The parsed-query cache's bounds: the documents it keeps add up to at most
// queryCacheBytes of query text, and a document longer than
// queryCacheMaxDocument is parsed for each request instead of kept (the
// console's and dashboard's queries are under 2 KiB). A parsed document
// weighs about as much as its text again, so anonymous callers sending
// distinct large queries can pin at most a few MiB.
const (
	queryCacheBytes       = 4 << 20
	queryCacheMaxDocument = 64 << 10
)

// The persisted-query cache's bounds (automatic persisted queries: a
// client sends a query's SHA-256 hash, and the query itself once when the
// server does not know the hash): 4 MiB of hashes and query text, and no
// query over 64 KiB kept.
const (
	persistedQueryBytes = 4 << 20
	persistedQueryMax   = 64 << 10
)

// byteCache is a least-recently-used cache bounded by the total weight of
// what it keeps rather than by a count (gqlgen's lru counts entries, so
// 1,000 entries of 1 MiB each were 750 MiB). It implements graphql.Cache.
type byteCache[V any] struct {
	maxBytes, maxEntry int
	weight             func(key string, v V) int

	mu    sync.Mutex
	bytes int
	order *list.List // of *byteCacheEntry[V], most recently used first
	byKey map[string]*list.Element
}

type byteCacheEntry[V any] struct {
	key    string
	value  V
	weight int
}

// newQueryCache returns the cache of parsed and validated documents, keyed
// by their text and weighed by it.
func newQueryCache(maxBytes, maxDocument int) *byteCache[*ast.QueryDocument] {
	return newByteCache(maxBytes, maxDocument, func(key string, _ *ast.QueryDocument) int { return len(key) })
}

// newPersistedQueryCache returns the cache of automatic persisted
// queries: query text by hash, weighed by both.
func newPersistedQueryCache(maxBytes, maxEntry int) *byteCache[string] {
	return newByteCache(maxBytes, maxEntry, func(key, query string) int { return len(key) + len(query) })
}

func newByteCache[V any](maxBytes, maxEntry int, weight func(string, V) int) *byteCache[V] {
	return &byteCache[V]{maxBytes: maxBytes, maxEntry: maxEntry, weight: weight, order: list.New(), byKey: map[string]*list.Element{}}
}

// Get returns what is kept under key, if it is.
func (c *byteCache[V]) Get(_ context.Context, key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*byteCacheEntry[V]).value, true
}

// Add keeps v under key unless it weighs more than maxEntry, evicting the
// least recently used entries until the total fits.
func (c *byteCache[V]) Add(_ context.Context, key string, v V) {
	w := c.weight(key, v)
	if w > c.maxEntry {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&byteCacheEntry[V]{key: key, value: v, weight: w})
	c.bytes += w
	for c.bytes > c.maxBytes {
		oldest := c.order.Back()
		entry := c.order.Remove(oldest).(*byteCacheEntry[V])
		delete(c.byKey, entry.key)
		c.bytes -= entry.weight
	}
}
