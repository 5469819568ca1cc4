package sqlite

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
)

// The customers table keeps a status, and the devices table a mode, as its
// number, its index in customerStatuses or deviceModes (migration 24), and
// any other value as its text: SQLite stores the integers 0 and 1 in no
// bytes beyond their type and those up to 127 in one, where "ACTIVE" takes
// six and "AUTO" four (https://sqlite.org/fileformat.html, "Record
// Format"); about 12 bytes a customer of the demo's (docs/BENCHMARKS.md,
// "Twenty-first round"). The lists are stored numbers: append to them,
// never reorder. Every status or mode bound to or read from those columns
// goes through enumKey and enumScan (in SQL, enumKeySQL).
var (
	customerStatuses = []string{string(customers.StatusActive), string(customers.StatusDisabled)}
	deviceModes      = []string{string(devices.ModeAuto), string(devices.ModeOff), string(devices.ModeHeat), string(devices.ModeCool), string(devices.ModeEco)}
)

// activeStatus is customers.StatusActive as the customers table keeps it,
// written into SQL where a partial index's condition must match the
// query's as written (statusNameIndexSQL).
const activeStatus = "0"

// enumKey returns value as a column of values keeps it, to bind.
func enumKey[T ~string](value T, values []string) any {
	if i := slices.Index(values, string(value)); i >= 0 {
		return i
	}
	return string(value)
}

// enumKeySQL is the SQL expression of enumKey applied to column.
func enumKeySQL(column string, values []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CASE %s", column)
	for i, v := range values {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", v, i)
	}
	fmt.Fprintf(&b, " ELSE %s END", column)
	return b.String()
}

// enumScan returns a sql.Scanner that reads a value a column of values
// keeps into dest, as it was written.
func enumScan[T ~string](dest *T, values []string) sql.Scanner {
	return storedEnum[T]{dest, values}
}

type storedEnum[T ~string] struct {
	dest   *T
	values []string
}

func (s storedEnum[T]) Scan(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 || v >= int64(len(s.values)) {
			return fmt.Errorf("stored %d: not one of %d values", v, len(s.values))
		}
		*s.dest = T(s.values[v])
	case string:
		*s.dest = T(v)
	default:
		return fmt.Errorf("stored value: %T, not an integer or text", v)
	}
	return nil
}
