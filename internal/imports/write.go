package imports

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Writer writes records in an import format: exports, and the rejects file
// of an import (each record with the line it came from and the reason).
type Writer struct {
	buf     *bufio.Writer
	csv     *csv.Writer
	columns []string // CSV only
}

// Columns returns the CSV columns of records with at most devices devices:
// the customer's columns, then one group per device (see customerColumns).
func Columns(devices int) []string {
	cols := append([]string(nil), customerColumns...)
	for n := 1; n <= devices; n++ {
		for _, f := range deviceColumns {
			cols = append(cols, fmt.Sprintf("device%d.%s", n, f))
		}
	}
	return cols
}

// The rejects file's two extra columns (CSV) or keys (JSON Lines).
const (
	ColumnLine   = "line"
	ColumnReason = "reason"
)

// NewWriter returns a Writer of format f on w. A CSV Writer writes columns
// as its header first (Columns, plus ColumnLine and ColumnReason for a
// rejects file); a JSON Lines one ignores columns.
func NewWriter(w io.Writer, f Format, columns []string) (*Writer, error) {
	out := &Writer{buf: bufio.NewWriterSize(w, 1<<16)}
	if f == CSV {
		out.csv, out.columns = csv.NewWriter(out.buf), columns
		if err := out.csv.Write(columns); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Write writes rec; line and reason are written when line > 0 (a reject).
// A record the file held but that could not be read is written as the file
// held it: its CSV fields after the line and the reason, or its JSON line
// with "line" and "reason" added (under "raw" when it is no JSON object).
func (w *Writer) Write(rec Record, line int, reason string) error {
	if len(rec.raw) > 0 {
		return w.writeRaw(rec.raw, line, reason)
	}
	if w.csv == nil {
		row := struct {
			Line   int    `json:"line,omitempty"`
			Reason string `json:"reason,omitempty"`
			Record
		}{line, reason, rec}
		text, err := json.Marshal(row)
		if err != nil {
			return err
		}
		_, err = w.buf.Write(append(text, '\n'))
		return err
	}
	fields := make([]string, len(w.columns))
	for i, col := range w.columns {
		switch col {
		case ColumnLine:
			fields[i] = strconv.Itoa(line)
		case ColumnReason:
			fields[i] = reason
		default:
			fields[i] = escapeFormula(columnValue(rec, col))
		}
	}
	return w.csv.Write(fields)
}

// escapeFormula returns a CSV cell's value v so that a spreadsheet opening
// the file shows it instead of running it: a value a spreadsheet would take
// for a formula (beginning with =, +, -, @, a tab or a carriage return)
// gets a leading apostrophe, as OWASP's "CSV Injection" advises, unless it
// is a number or a phone number (+, -, digits, spaces, ".", "(", ")",
// "/"), which runs nothing. A customer named "=HYPERLINK(...)" exports as
// "'=HYPERLINK(...)"; the CSV reader takes the apostrophe off again
// (unescapeFormula), so an export imports as the same customers. A value
// that already looks escaped ("'=1+1", or more apostrophes before the =)
// gets an apostrophe too, so that it reads back as itself.
func escapeFormula(v string) string {
	if unescapeFormula(v) != v {
		return "'" + v
	}
	if v == "" || !strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return v
	}
	if strings.Trim(v, "+-0123456789 .()/") == "" {
		return v
	}
	return "'" + v
}

// unescapeFormula undoes escapeFormula: a value of one or more apostrophes
// followed by a character that begins a formula loses one apostrophe, so
// that escapeFormula's apostrophe before a value that begins so already
// comes off too (two apostrophes and "=1+1" read as "'=1+1"). (No name, email or serial
// number begins with both.)
func unescapeFormula(v string) string {
	rest := strings.TrimLeft(v, "'")
	if len(rest) < len(v) && rest != "" && strings.ContainsRune("=+-@\t\r", rune(rest[0])) {
		return v[1:]
	}
	return v
}

func (w *Writer) writeRaw(raw []string, line int, reason string) error {
	if w.csv != nil {
		return w.csv.Write(append([]string{strconv.Itoa(line), reason}, raw...))
	}
	text, err := rawWithReason(raw[0], line, reason)
	if err != nil {
		return err
	}
	_, err = w.buf.Write(append(text, '\n'))
	return err
}

// rawWithReason returns the JSON line raw with "line" and "reason" first, as
// every reject has them, then raw's own keys in its order; raw that is no
// JSON object goes under "raw" (and an object that has either key already
// is rewritten with them, its keys then sorted).
func rawWithReason(raw string, line int, reason string) ([]byte, error) {
	head, err := json.Marshal(struct {
		Line   int    `json:"line"`
		Reason string `json:"reason"`
	}{line, reason})
	if err != nil {
		return nil, err
	}
	var object map[string]json.RawMessage
	var compact bytes.Buffer
	switch {
	case json.Unmarshal([]byte(raw), &object) != nil || object == nil:
		quoted, _ := json.Marshal(raw)
		return append(append(head[:len(head)-1], `,"raw":`...), append(quoted, '}')...), nil
	case object[ColumnLine] != nil || object[ColumnReason] != nil || json.Compact(&compact, []byte(raw)) != nil:
		object[ColumnLine], _ = json.Marshal(line)
		object[ColumnReason], _ = json.Marshal(reason)
		return json.Marshal(object)
	}
	inner := bytes.TrimSpace(compact.Bytes()[1 : compact.Len()-1]) // between its braces
	if len(inner) == 0 {
		return head, nil
	}
	return append(append(append(head[:len(head)-1], ','), inner...), '}'), nil
}

// Flush writes out what is buffered and returns the first error met.
func (w *Writer) Flush() error {
	if w.csv != nil {
		w.csv.Flush()
		if err := w.csv.Error(); err != nil {
			return err
		}
	}
	return w.buf.Flush()
}

// columnValue returns rec's value for the CSV column col ("" for a device
// it does not have or an unknown column).
func columnValue(rec Record, col string) string {
	switch col {
	case "externalId":
		return rec.ExternalID
	case "firstName":
		return rec.FirstName
	case "lastName":
		return rec.LastName
	case "email":
		return rec.Email
	case "phone":
		return rec.Phone
	case "phoneRegion":
		return rec.PhoneRegion
	case "status":
		return rec.Status
	case "createdAt":
		return rec.CreatedAt
	case "passwordHash":
		return string(rec.PasswordHash)
	}
	group, field, _ := strings.Cut(col, ".")
	n, err := strconv.Atoi(strings.TrimPrefix(group, "device"))
	if err != nil || n < 1 || n > len(rec.Devices) {
		return ""
	}
	d := rec.Devices[n-1]
	return map[string]string{"serialNumber": d.SerialNumber, "macAddress": d.MACAddress, "name": d.Name, "model": d.Model}[field]
}
