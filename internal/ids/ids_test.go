package ids

import (
	"strings"
	"sync"
	"testing"
)

func TestNewIsStrictlyIncreasing(t *testing.T) {
	const n = 100_000 // many share a millisecond
	prev := New()
	for range n {
		id := New()
		if len(id) != 32 || id <= prev {
			t.Fatalf("%s after %s", id, prev)
		}
		prev = id
	}
}

func TestNewIsUniqueAcrossGoroutines(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10_000 {
				id := New()
				mu.Lock()
				if seen[id] {
					t.Errorf("%s made twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestNewShortIsTwelveHexCharacters(t *testing.T) {
	seen := map[string]bool{}
	for range 10_000 {
		id := NewShort()
		if len(id) != 12 || strings.Trim(id, "0123456789abcdef") != "" || seen[id] {
			t.Fatalf("%q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestIsNew(t *testing.T) {
	if id := New(); !IsNew(id) {
		t.Errorf("IsNew(%q) = false", id)
	}
	for _, s := range []string{"", NewShort(), strings.ToUpper(New()), New()[:31], New() + "0", "0123456789abcdef0123456789abcdeg"} {
		if IsNew(s) {
			t.Errorf("IsNew(%q) = true", s)
		}
	}
}
