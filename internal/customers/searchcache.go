package customers

import (
	"context"
	"fmt"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// SearchVersions is what a store offers for search pages to be cached: a
// count per domain that grows with every committed change that can change
// one of the domain's search results, whichever process wrote it (the
// embedded store moves it in each change's transaction: see
// sqlite.Store.SearchVersion). A store without it is searched on every
// request.
type SearchVersions interface {
	SearchVersion(ctx context.Context, domainID string) (int64, error)
}

// DefaultSearchCachePages is how many search pages a Service keeps unless
// told otherwise (SetSearchCachePages), least recently used first out:
// as-you-type search repeats short prefixes across operators. A page of 20
// customers takes about 12 KB by estimate (about 600 bytes a customer and
// its cursor, without password hashes or search tokens: see Search), so a
// full cache of such pages holds about 25 MB, and at most about 31 MB with
// pages of MaxCachedPageSize.
const DefaultSearchCachePages = 2048

// MaxCachedPageSize is the largest page the cache keeps: the console asks
// for 25 customers at a time, the shared load generator for 20. Larger
// pages, up to MaxPageSize, are read each time: an operator's script that
// walked the customers 100 at a time filled 2,048 entries with five times
// the customers each, and the server's RSS grew by 550 MB (the Go heap's
// GOGC headroom above about 140 MB of pages).
const MaxCachedPageSize = 25

// searchCache keeps search pages with the domain's search version they were
// read at, and serves one only while that version is still current: a page
// is never older than the last committed change that could alter it.
type searchCache struct {
	versions SearchVersions
	pages    *lru.Cache[searchKey, cachedPage]
}

// searchKey is everything a search page depends on besides the stored data.
type searchKey struct {
	domainID string
	terms    string // the parsed terms, "\x00"-separated
	status   Status
	first    int
	after    Cursor
	hasAfter bool
	matches  bool
}

type cachedPage struct {
	version int64
	page    Page
}

// newSearchCache returns a cache of up to size pages over versions, or nil
// (no cache) when size is below 1.
func newSearchCache(versions SearchVersions, size int) *searchCache {
	pages, err := lru.New[searchKey, cachedPage](size)
	if err != nil {
		return nil // lru.New refuses only a size below 1
	}
	return &searchCache{versions: versions, pages: pages}
}

// SetSearchCachePages replaces the cache of search pages with an empty one of
// up to n pages; 0 turns caching off. It does nothing when the store keeps
// no search versions. Call it before the service serves.
func (s *Service) SetSearchCachePages(n int) {
	if versions, ok := s.store.(SearchVersions); ok {
		s.searchCache = newSearchCache(versions, n)
	}
}

func newSearchKey(q SearchQuery, req SearchRequest) searchKey {
	k := searchKey{domainID: q.DomainID, terms: strings.Join(q.Terms, "\x00"), status: q.Status, first: req.First, matches: req.Matches}
	if req.After != nil {
		k.after, k.hasAfter = *req.After, true
	}
	return k
}

// version returns the domain's current search version.
func (c *searchCache) version(ctx context.Context, domainID string) (int64, error) {
	v, err := c.versions.SearchVersion(ctx, domainID)
	if err != nil {
		return 0, fmt.Errorf("search customers: %w", err)
	}
	return v, nil
}

// get returns the page cached for k if it was read at version.
func (c *searchCache) get(k searchKey, version int64) (Page, bool) {
	cp, ok := c.pages.Get(k)
	if !ok || cp.version != version {
		return Page{}, false
	}
	return cp.page, true
}

// put caches p for k as read at version, a version read before p was: a
// change committed in between moves the version, so the page is never
// served under a version older than its data.
func (c *searchCache) put(k searchKey, version int64, p Page) {
	c.pages.Add(k, cachedPage{version: version, page: p})
}
