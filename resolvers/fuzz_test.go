package resolvers

import (
	"testing"

	"github.com/iotconsole/bff/internal/customers"
)

// Cursors and global ids from clients either decode to what the API made or
// are refused; nothing panics.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(customers.Cursor{Exact: true, LastKey: "smith", FirstKey: "jo", ID: "abc"}))
	f.Add("eyJ9")
	f.Add("%%%")
	id := func(c customers.Cursor) string { return c.ID }
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeAfter(&s, id)
		if err != nil {
			return
		}
		if c.ID == "" {
			t.Fatalf("accepted a cursor without an id: %q", s)
		}
		again := encodeCursor(*c)
		if back, err := decodeAfter(&again, id); err != nil || *back != *c {
			t.Fatalf("cursor %+v does not survive a round trip", c)
		}
	})
}

func FuzzParseGlobalID(f *testing.F) {
	f.Add(globalID(typeCustomer, "abc"))
	f.Add("Q3VzdG9tZXI6")
	f.Add("")
	f.Fuzz(func(t *testing.T, gid string) {
		typ, id, err := parseGlobalID(gid)
		if err != nil {
			return
		}
		if typ == "" || id == "" {
			t.Fatalf("accepted %q as %q/%q", gid, typ, id)
		}
		if again, againID, err := parseGlobalID(globalID(typ, id)); err != nil || again != typ || againID != id {
			t.Fatalf("global id %q/%q does not survive a round trip", typ, id)
		}
	})
}
