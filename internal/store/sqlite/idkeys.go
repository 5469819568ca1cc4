package sqlite

import (
	"database/sql"
	"encoding/hex"
	"fmt"

	newids "github.com/iotconsole/bff/internal/ids"
)

// The customers and devices tables keep an id that has ids.New's form (32
// lower-case hex digits) as its 16 bytes, a BLOB, and any other id as its
// text (migration 22): a million customers' ids are in their rows, their
// index of ids and of names, and their devices' rows and index of ids,
// 16 bytes shorter in each (docs/BENCHMARKS.md, "Nineteenth round").
// SQLite orders BLOBs byte by byte, as the hex digits order their text, so
// the order of names (ties broken by id) and of export's pages is the same;
// a text id sorts before every BLOB. Every id bound to or read from an id
// column of those two tables goes through idKey and idScan; the tables
// that name a customer by id (sessions, assists, events, the audit log,
// customer_keys) keep text.

// idKey returns id as the customers and devices tables keep it, to bind.
func idKey(id string) any {
	if !newids.IsNew(id) {
		return id
	}
	b, _ := hex.DecodeString(id) // IsNew: 32 hex digits
	return b
}

// idScan returns a sql.Scanner that reads an id the customers or devices
// tables keep into dest as its text.
func idScan(dest *string) sql.Scanner { return storedID{dest} }

type storedID struct{ dest *string }

func (s storedID) Scan(v any) error {
	switch v := v.(type) {
	case []byte:
		*s.dest = hex.EncodeToString(v)
	case string:
		*s.dest = v
	default:
		return fmt.Errorf("stored id: %T, not a BLOB or text", v)
	}
	return nil
}
