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

// queryCache is a least-recently-used cache of parsed and validated
// documents, keyed by their text and bounded by the text's total size
// rather than by a count (gqlgen's lru counts entries, so 1,000 entries of
// 1 MiB each were 750 MiB). It implements graphql.Cache.
type queryCache struct {
	maxBytes, maxDocument int

	mu    sync.Mutex
	bytes int
	order *list.List // of *queryCacheEntry, most recently used first
	byKey map[string]*list.Element
}

type queryCacheEntry struct {
	key string
	doc *ast.QueryDocument
}

func newQueryCache(maxBytes, maxDocument int) *queryCache {
	return &queryCache{maxBytes: maxBytes, maxDocument: maxDocument, order: list.New(), byKey: map[string]*list.Element{}}
}

// Get returns the document parsed from key, if kept.
func (c *queryCache) Get(_ context.Context, key string) (*ast.QueryDocument, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*queryCacheEntry).doc, true
}

// Add keeps doc under key unless key is too long, evicting the least
// recently used documents until the total fits.
func (c *queryCache) Add(_ context.Context, key string, doc *ast.QueryDocument) {
	if len(key) > c.maxDocument {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&queryCacheEntry{key: key, doc: doc})
	c.bytes += len(key)
	for c.bytes > c.maxBytes {
		oldest := c.order.Back()
		entry := c.order.Remove(oldest).(*queryCacheEntry)
		delete(c.byKey, entry.key)
		c.bytes -= len(entry.key)
	}
}
