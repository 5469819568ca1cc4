package domains

import (
	"errors"
	"testing"

	"github.com/iotconsole/bff/internal/apperr"
)

func TestCheck(t *testing.T) {
	good := Domain{Slug: "acme", Name: "  Acme Heating  ", DefaultRegion: "US"}
	d, err := good.Check()
	if err != nil || d.Name != "Acme Heating" {
		t.Fatalf("Check(%+v) = %+v, %v", good, d, err)
	}
	if d, err := (Domain{Slug: "cafe", Name: "Cafe\u0301 Chauffage", DefaultRegion: "FR"}).Check(); err != nil || d.Name != "Caf\u00e9 Chauffage" {
		t.Fatalf("a decomposed name: %+v, %v; want it in NFC", d, err)
	}
	for _, tt := range []struct {
		name        string
		d           Domain
		field, code string
	}{
		{"bad slug", Domain{Slug: "Acme!", Name: "Acme", DefaultRegion: "US"}, "slug", "INVALID"},
		{"blank name", Domain{Slug: "acme", Name: " ", DefaultRegion: "US"}, "name", "REQUIRED"},
		{"bidi override in the name", Domain{Slug: "acme", Name: "Acme \u202eCorp", DefaultRegion: "US"}, "name", "INVALID"},
		{"isolate in the name", Domain{Slug: "acme", Name: "\u2067Acme\u2069", DefaultRegion: "US"}, "name", "INVALID"},
		{"NUL in the name", Domain{Slug: "acme", Name: "Acme\x00", DefaultRegion: "US"}, "name", "INVALID"},
		{"newline in the name", Domain{Slug: "acme", Name: "Acme\nHeating", DefaultRegion: "US"}, "name", "INVALID"},
		{"invalid UTF-8 in the name", Domain{Slug: "acme", Name: "Acme\xc0", DefaultRegion: "US"}, "name", "INVALID"},
		{"control characters as region", Domain{Slug: "acme", Name: "Acme", DefaultRegion: "\x00\x00"}, "defaultRegion", "INVALID"},
		{"three-letter region", Domain{Slug: "acme", Name: "Acme", DefaultRegion: "USA"}, "defaultRegion", "INVALID"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.d.Check()
			var ve *apperr.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || ve.Code != tt.code {
				t.Fatalf("Check(%+v) = %v, want %s on %s", tt.d, err, tt.code, tt.field)
			}
		})
	}
}

// TestOwnedBatch: a batch answers each id as Owned answers a look-up of it
// alone, and keeps another domain's objects out.
func TestOwnedBatch(t *testing.T) {
	type obj struct{ id, domain string }
	ref := func(o obj) (string, string) { return o.id, o.domain }
	b := OwnedBatch("thing", "mine", []obj{{"a", "mine"}, {"b", "theirs"}, {"c", "mine"}}, ref)
	if b.Len() != 2 {
		t.Errorf("Len = %d, want 2", b.Len())
	}
	for _, tt := range []struct {
		id     string
		want   obj
		wantIs error // nil: found
	}{
		{"a", obj{"a", "mine"}, nil},
		{"c", obj{"c", "mine"}, nil},
		{"b", obj{}, apperr.ErrOtherDomain},
		{"z", obj{}, apperr.ErrNotFound},
	} {
		got, err := b.Get(tt.id)
		if got != tt.want || (tt.wantIs == nil) != (err == nil) || !errors.Is(err, tt.wantIs) {
			t.Errorf("Get(%q) = %+v, %v; want %+v, %v", tt.id, got, err, tt.want, tt.wantIs)
		}
		if tt.wantIs != nil && !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("Get(%q) = %v; want it to read as not found", tt.id, err)
		}
	}
	if _, err := b.Get("z"); errors.Is(err, apperr.ErrOtherDomain) {
		t.Errorf("an unknown id answers %v, as if another domain held it", err)
	}
	if _, err := (Batch[obj]{}).Get("a"); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("the zero batch: %v, want not found", err)
	}
}
