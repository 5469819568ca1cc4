// Package imports brings an existing user base into a domain (customers with
// their devices and their own password hashes) from CSV or JSON Lines, and
// writes a domain back out in the same format. See Importer for the rules of
// matching, rerunning and rejecting.
package imports

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// Format is an import or export file's format.
type Format string

// Formats.
const (
	CSV   Format = "csv"   // RFC 4180, one customer per record, devices in numbered column groups
	JSONL Format = "jsonl" // JSON Lines: one customer object per line
)

// ParseFormat returns the format named ("csv", "jsonl"), or else the one of
// path's extension (.csv; .jsonl, .ndjson); an error names both when neither
// says, and refuses a name that path's extension contradicts (JSON Lines
// written to x.csv would be read back as CSV).
func ParseFormat(name, path string) (Format, error) {
	var named Format
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		named = CSV
	case ".jsonl", ".ndjson":
		named = JSONL
	}
	var given Format
	switch strings.ToLower(name) {
	case "csv":
		given = CSV
	case "jsonl", "ndjson":
		given = JSONL
	case "":
		if named == "" && (path == "" || path == "-") {
			return "", errors.New("standard input has no name to tell its format: give -format csv or -format jsonl")
		}
		if named == "" {
			return "", errors.New("the file's name does not end in .csv, .jsonl or .ndjson: give -format csv or -format jsonl")
		}
		return named, nil
	default:
		return "", fmt.Errorf("unknown format %q: use csv or jsonl", name)
	}
	if named != "" && named != given {
		return "", fmt.Errorf("-format %s, but the file's name says %s: rename the file, or leave -format out", given, strings.ToUpper(string(named)))
	}
	return given, nil
}

// Record is one customer as a file gives it, not yet checked. Field names
// are the file's: the JSON keys and the CSV header names.
type Record struct {
	Line       int    `json:"-"` // the 1-based line of the file the record starts on
	ExternalID string `json:"externalId,omitempty"`
	FirstName  string `json:"firstName"`
	LastName   string `json:"lastName"`
	Email      string `json:"email"`
	Phone      string `json:"phone,omitempty"`
	// PhoneRegion is the ISO 3166 region a phone number without a country
	// code is read in ("": the domain's default region), when the import
	// writes the number: a new customer's, or a changed one.
	PhoneRegion  string   `json:"phoneRegion,omitempty"`
	Status       string   `json:"status,omitempty"`    // ACTIVE (the default) or DISABLED
	CreatedAt    string   `json:"createdAt,omitempty"` // RFC 3339; empty: the time of the import
	PasswordHash HashText `json:"passwordHash,omitempty"`
	Devices      []Device `json:"devices,omitempty"`
	// RejectedLine and RejectedReason are the keys a rejects file puts
	// first (ColumnLine, ColumnReason), read as nothing: a rejects file
	// corrected by hand imports as it is. An export never writes them.
	RejectedLine   json.RawMessage `json:"line,omitempty"`
	RejectedReason json.RawMessage `json:"reason,omitempty"`

	// raw is what the file held of a record that could not be read (its
	// CSV fields, or its JSON line), so that a rejects file keeps it.
	raw []string
}

// HashText is a record's password hash (see passwords.Check for the
// formats): a string, or, in JSON Lines, also a JSON object, which is kept
// as its compact JSON text: a Keycloak credential as a realm export holds
// it, {"type":"password","credentialData":"…","secretData":"…"}.
type HashText string

// UnmarshalJSON reads a JSON string or object (null is no hash).
func (h *HashText) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var compact bytes.Buffer
		if err := json.Compact(&compact, b); err != nil {
			return err
		}
		*h = HashText(compact.String())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[string]()} // the decoder adds the field
	}
	*h = HashText(s)
	return nil
}

// Device is one of a record's devices.
type Device struct {
	SerialNumber string `json:"serialNumber"`
	MACAddress   string `json:"macAddress,omitempty"`
	Name         string `json:"name,omitempty"` // default: the model
	Model        string `json:"model"`
}

// RecordError is a record the file holds but that cannot be read (a CSV
// record with the wrong number of fields, a line that is not a JSON
// object): the import rejects it and goes on. Its Reason never quotes the
// record.
type RecordError struct {
	Line   int
	Reason string
	Raw    []string // the record as the file held it: CSV fields, or one JSON line (nil when unknown)
	// Read is what could be read of it anyway (a CSV record the format's
	// rules refuse, read leniently, when it has the header's number of
	// fields), so that its keys are claimed (see Importer); nil otherwise.
	Read *Record
}

func (e *RecordError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Reader reads the records of a file in order. Read returns io.EOF after
// the last one, a *RecordError for one it cannot read (the next Read goes
// on), and any other error for a file it cannot go on with.
type Reader interface {
	Read() (Record, error)
}

// NewReader returns a Reader of r in format f. A UTF-8 byte order mark at
// the start is skipped. A CSV file's header must name the columns (see
// csvColumns); an unknown column is an error here, before any record.
func NewReader(r io.Reader, f Format) (Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	if f == JSONL {
		return &jsonlReader{r: br}, nil
	}
	return newCSVReader(br)
}

// The CSV columns: the customer's, then for the n-th device (n from 1) the
// group "device<n>.serialNumber", "device<n>.macAddress", "device<n>.name",
// "device<n>.model". Columns may come in any order; any may be absent
// (an absent field is empty).
var (
	customerColumns = []string{"externalId", "firstName", "lastName", "email", "phone", "phoneRegion", "status", "createdAt", "passwordHash"}
	deviceColumns   = []string{"serialNumber", "macAddress", "name", "model"}
)

// maxDevicesPerRecord bounds a record's devices (CSV column groups and JSON
// arrays alike), so that one record cannot grow without bound.
const maxDevicesPerRecord = 100

type csvReader struct {
	r      *csv.Reader
	input  *recordingReader // what r reads, kept from the start of the record being read
	header []string
	// set[i] stores column i's value into a record; nil for a column
	// without a name (unnamed).
	set []func(*Record, string)
	// unnamed are the indexes of the header's empty names: the trailing
	// commas a spreadsheet program leaves after the last column it filled.
	// A record with a value there is rejected, not read without it.
	unnamed []int
}

// maxRecordBytes bounds a record of either format: a customer with its
// devices is far smaller.
const maxRecordBytes = 1 << 20

// recordingReader keeps what it reads from offset start on (the record a
// csv.Reader is reading, and what it read ahead), so that a record the CSV
// rules refuse is written to the rejects file as the file held it. It stops
// with an error once a record grows past maxRecordBytes (an unterminated
// quote makes the rest of the file one record).
type recordingReader struct {
	r     io.Reader
	kept  []byte // the input from offset base on
	base  int64
	start int64 // where the record being read starts
	lines int   // the lines before start
}

// errRecordTooLong names what the CSV reader stops on.
var errRecordTooLong = fmt.Errorf("a CSV record longer than %d bytes (is a quote left open?)", maxRecordBytes)

func (r *recordingReader) Read(p []byte) (int, error) {
	if int64(len(r.kept))-(r.start-r.base) > maxRecordBytes+int64(len(p)) {
		return 0, errRecordTooLong
	}
	n, err := r.r.Read(p)
	r.kept = append(r.kept, p[:n]...)
	return n, err
}

// next returns the bytes of the record from start to end (an offset of the
// input), and has the next record start at end.
func (r *recordingReader) next(end int64) []byte {
	record := r.kept[r.start-r.base : end-r.base]
	r.start = end
	r.lines += bytes.Count(record, []byte{'\n'})
	if drop := end - r.base; drop > 64<<10 { // forget what came before, now and then
		r.kept = r.kept[:copy(r.kept, r.kept[drop:])]
		r.base = end
	}
	return record
}

// asTheFileHeldIt returns the fields of a record the CSV rules refuse, read
// leniently (a quote inside a field taken as it is), or its text whole.
func asTheFileHeldIt(text []byte) []string {
	text = bytes.TrimRight(text, "\r\n")
	lenient := csv.NewReader(bytes.NewReader(text))
	lenient.LazyQuotes, lenient.FieldsPerRecord = true, -1
	if fields, err := lenient.Read(); err == nil {
		if _, err := lenient.Read(); errors.Is(err, io.EOF) {
			return fields
		}
	}
	return []string{string(text)}
}

func newCSVReader(r io.Reader) (*csvReader, error) {
	input := &recordingReader{r: r}
	cr := csv.NewReader(input)
	cr.FieldsPerRecord = -1 // checked per record, so that a bad record is a reject, not the end
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: a CSV import starts with a header line")
		}
		return nil, fmt.Errorf("read the CSV header: %w", err)
	}
	input.next(cr.InputOffset())
	c := &csvReader{r: cr, input: input}
	if err := checkHeader(header); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, name := range header {
		name = strings.TrimSpace(name)
		c.header = append(c.header, name)
		if name == "" {
			c.set, c.unnamed = append(c.set, nil), append(c.unnamed, i)
			continue
		}
		if seen[name] {
			return nil, fmt.Errorf("the CSV header names the column %q twice", name)
		}
		seen[name] = true
		if name == ColumnLine || name == ColumnReason { // a rejects file's, read as nothing: corrected, it imports
			c.set = append(c.set, nil)
			continue
		}
		set, err := columnSetter(name)
		if err != nil {
			return nil, err
		}
		c.set = append(c.set, set)
	}
	if !seen["email"] {
		return nil, errors.New(`the CSV header has no "email" column`)
	}
	return c, nil
}

// checkHeader refuses a first line that cannot be a header without quoting
// it (it may be a customer's record: personal data, never echoed): one
// that names none of the columns (the header is missing), or one with a
// line break inside a name (lines ended by a carriage return alone, as old
// Mac files have them, make the whole file one line).
func checkHeader(header []string) error {
	if looksUTF16(header) { // before the line breaks: UTF-16's are split by NULs too
		return fmt.Errorf("the CSV file's first line names none of the columns: %s", headerHint(header))
	}
	known := false
	for i, name := range header {
		if strings.ContainsAny(name, "\r\n") {
			return fmt.Errorf("the CSV header's column %d holds a line break: are the file's lines ended by a carriage return alone? Save it with CRLF or LF line endings", i+1)
		}
		if _, err := columnSetter(strings.TrimSpace(name)); err == nil {
			known = true
		}
	}
	if !known {
		return fmt.Errorf("the CSV file's first line names none of the columns (%s): %s", strings.Join(customerColumns, ", "), headerHint(header))
	}
	return nil
}

// headerHint says what a first line that names none of the columns most
// likely is, from the shapes spreadsheet programs write (tryout 20: a file
// separated by semicolons, a UTF-16 file and a header in another case all
// got one sentence): text in UTF-16 (NUL bytes between the letters), columns
// separated by a semicolon or a tab (the separator Excel writes in many
// locales), or column names in another case; else that a CSV import starts
// with a header line.
func headerHint(header []string) string {
	line := strings.Join(header, ",")
	switch {
	case looksUTF16(header):
		return `the file looks like UTF-16 text (Excel's "Unicode text"): save it as "CSV UTF-8"`
	case separatedBy(line, ";"):
		return "its columns look separated by semicolons: save the file with commas between the columns"
	case separatedBy(line, "\t"):
		return "its columns look separated by tabs: save the file with commas between the columns"
	}
	for _, name := range header {
		if column, ok := columnInAnotherCase(strings.TrimSpace(name)); ok {
			return fmt.Sprintf("column names are written as listed, case and all (%q, not %q)", column, strings.TrimSpace(name))
		}
	}
	return "a CSV import starts with a header line"
}

// looksUTF16 reports whether a header read as UTF-8 holds NUL bytes, which
// UTF-16 puts beside every ASCII letter.
func looksUTF16(header []string) bool {
	return strings.ContainsRune(strings.Join(header, ""), 0)
}

// separatedBy reports whether line, split at sep, names a column.
func separatedBy(line, sep string) bool {
	for _, name := range strings.Split(line, sep) {
		name = strings.Trim(strings.TrimSpace(name), `"`)
		if _, err := columnSetter(name); err == nil {
			return true
		}
		if _, ok := columnInAnotherCase(name); ok {
			return true
		}
	}
	return false
}

// columnInAnotherCase returns the customer column that name writes in
// another case ("FirstName", "EMAIL"), if any.
func columnInAnotherCase(name string) (string, bool) {
	for _, column := range customerColumns {
		if name != column && strings.EqualFold(name, column) {
			return column, true
		}
	}
	return "", false
}

// looksLikeFieldName reports whether s may be shown in a message as the
// name of a column or key: 1 to 40 ASCII letters, digits, '.' and '_',
// beginning with a letter. Anything else (an email, a name with spaces) may
// be a customer's data written where a name was expected.
func looksLikeFieldName(s string) bool {
	if len(s) == 0 || len(s) > 40 || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// columnSetter returns how a value of the column name goes into a record.
func columnSetter(name string) (func(*Record, string), error) {
	fields := map[string]func(*Record, string){
		"externalId": func(r *Record, v string) { r.ExternalID = v }, "firstName": func(r *Record, v string) { r.FirstName = v },
		"lastName": func(r *Record, v string) { r.LastName = v }, "email": func(r *Record, v string) { r.Email = v },
		"phone": func(r *Record, v string) { r.Phone = v }, "phoneRegion": func(r *Record, v string) { r.PhoneRegion = v },
		"status":    func(r *Record, v string) { r.Status = v },
		"createdAt": func(r *Record, v string) { r.CreatedAt = v }, "passwordHash": func(r *Record, v string) { r.PasswordHash = HashText(v) },
	}
	if set, ok := fields[name]; ok {
		return set, nil
	}
	group, field, ok := strings.Cut(name, ".")
	n, err := strconv.Atoi(strings.TrimPrefix(group, "device"))
	if !ok || !strings.HasPrefix(group, "device") || err != nil || n < 1 || n > maxDevicesPerRecord {
		shown := "an unknown CSV column (its name is not shown: it does not look like a column's name)"
		if looksLikeFieldName(name) {
			shown = fmt.Sprintf("unknown CSV column %q", name)
		}
		if column, ok := columnInAnotherCase(name); ok {
			shown = fmt.Sprintf("unknown CSV column %q (column names are written as listed, case and all: %q)", name, column)
		}
		return nil, fmt.Errorf("%s: the columns are %s, and device<n>.<%s> for n from 1 to %d",
			shown, strings.Join(customerColumns, ", "), strings.Join(deviceColumns, "|"), maxDevicesPerRecord)
	}
	deviceField := map[string]func(*Device, string){
		"serialNumber": func(d *Device, v string) { d.SerialNumber = v }, "macAddress": func(d *Device, v string) { d.MACAddress = v },
		"name": func(d *Device, v string) { d.Name = v }, "model": func(d *Device, v string) { d.Model = v },
	}[field]
	if deviceField == nil {
		return nil, fmt.Errorf("unknown CSV column %q: a device's columns are %s", name, strings.Join(deviceColumns, ", "))
	}
	return func(r *Record, v string) {
		if v == "" {
			return
		}
		for len(r.Devices) < n {
			r.Devices = append(r.Devices, Device{})
		}
		deviceField(&r.Devices[n-1], v)
	}, nil
}

// Columns returns the file's header, the columns of its rejects file.
func (c *csvReader) Columns() []string { return c.header }

func (c *csvReader) Read() (Record, error) {
	fields, err := c.r.Read()
	startLine := c.input.lines + 1
	text := c.input.next(c.r.InputOffset())
	var parseErr *csv.ParseError
	switch {
	case errors.As(err, &parseErr) && parseErr.Line > parseErr.StartLine:
		// A quote left open takes the lines after it into one record, up to
		// the next quote or the end of the file: rejected as one record,
		// the customers on those lines would be lost behind it (a tryout's
		// file of 3,001 customers imported as "1 rejected").
		return Record{}, fmt.Errorf("line %d: a CSV record that runs on to line %d is not valid CSV (%v): is a quote left open? Fix the file and run the import again",
			parseErr.StartLine, parseErr.Line, parseErr.Err)
	case errors.As(err, &parseErr):
		recErr := &RecordError{Line: parseErr.StartLine, Reason: "not a valid CSV record: " + parseErr.Err.Error(), Raw: asTheFileHeldIt(text)}
		if len(recErr.Raw) == len(c.header) {
			read := c.record(recErr.Raw, parseErr.StartLine)
			recErr.Read = &read
		}
		return Record{}, recErr
	case errors.Is(err, errRecordTooLong):
		return Record{}, fmt.Errorf("line %d: %w", startLine, err)
	case err != nil:
		return Record{}, err
	}
	line, _ := c.r.FieldPos(0)
	if len(fields) != len(c.header) {
		return Record{}, &RecordError{Line: line, Reason: fmt.Sprintf("%d fields where the header names %d", len(fields), len(c.header)),
			Raw: append([]string(nil), fields...)}
	}
	rec := c.record(fields, line)
	for _, i := range c.unnamed {
		if strings.TrimSpace(fields[i]) != "" { // its keys claimed all the same (see RecordError.Read)
			return Record{}, &RecordError{Line: line, Reason: fmt.Sprintf("column %d has no name in the header but a value here: name the column or empty it", i+1),
				Raw: append([]string(nil), fields...), Read: &rec}
		}
	}
	return rec, nil
}

// record is the Record of fields, one per column of the header, on line.
func (c *csvReader) record(fields []string, line int) Record {
	rec := Record{Line: line}
	for i, v := range fields {
		if c.set[i] != nil {
			c.set[i](&rec, unescapeFormula(spreadsheetText(v)))
		}
	}
	// Groups left empty between filled ones are no devices.
	rec.Devices = slicesDeleteEmpty(rec.Devices)
	return rec
}

// spreadsheetText returns the text of a spreadsheet's ="…" cell (a formula
// that keeps a phone number's + or leading zeros as text, its quotes
// doubled inside, as Excel writes it), else v. An export never writes one:
// it escapes a value that begins with '=' (escapeFormula).
func spreadsheetText(v string) string {
	if len(v) < 3 || !strings.HasPrefix(v, `="`) || !strings.HasSuffix(v, `"`) {
		return v
	}
	inner := v[2 : len(v)-1]
	if strings.Contains(strings.ReplaceAll(inner, `""`, ""), `"`) { // not one string: a formula of its own
		return v
	}
	return strings.ReplaceAll(inner, `""`, `"`)
}

func slicesDeleteEmpty(ds []Device) []Device {
	out := ds[:0]
	for _, d := range ds {
		if d != (Device{}) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

type jsonlReader struct {
	r    *bufio.Reader
	line int
}

func (j *jsonlReader) Read() (Record, error) {
	for {
		text, err := j.readLine()
		if err != nil {
			return Record{}, err
		}
		j.line++
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if len(text) > maxRecordBytes { // its first maxRecordBytes kept, so no object: written under "raw"
			return Record{}, &RecordError{Line: j.line, Reason: fmt.Sprintf("a line longer than %d bytes", maxRecordBytes),
				Raw: []string{string(text[:maxRecordBytes])}}
		}
		rec, raw := Record{Line: j.line}, []string{string(text)}
		if trimmed := bytes.TrimSpace(text); trimmed[0] != '{' { // null decodes into a record without error
			return Record{}, &RecordError{Line: j.line, Reason: "not a JSON object", Raw: raw}
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return Record{}, &RecordError{Line: j.line, Reason: jsonReason(err), Raw: raw}
		}
		if dec.More() {
			return Record{}, &RecordError{Line: j.line, Reason: "more than one JSON value on the line", Raw: raw}
		}
		if len(rec.Devices) > maxDevicesPerRecord {
			return Record{}, &RecordError{Line: j.line, Reason: fmt.Sprintf("more than %d devices", maxDevicesPerRecord), Raw: raw}
		}
		return rec, nil
	}
}

// readLine returns the next line without its end; a line longer than
// maxRecordBytes is returned cut to maxRecordBytes+1 bytes (its length still
// tells).
func (j *jsonlReader) readLine() ([]byte, error) {
	var line []byte
	for {
		part, err := j.r.ReadSlice('\n')
		if room := maxRecordBytes + 1 - len(line); room > 0 {
			line = append(line, part[:min(len(part), room)]...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return bytes.TrimRight(line, "\r\n"), nil
		case err != nil:
			return nil, err
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
}

// jsonReason says what is wrong with a line without quoting it.
func jsonReason(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "a JSON object cut short: it does not close on its line"
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return "not a JSON object"
	case errors.As(err, &typeErr):
		return fmt.Sprintf("the field %q must be %s", typeErr.Field, jsonKind(typeErr.Type.Kind()))
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not valid JSON (a syntax error at byte %d)", syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		key, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil || !looksLikeFieldName(key) {
			return "an unknown field (its key is not shown: it does not look like a field's name)"
		}
		return fmt.Sprintf("unknown field %q", key)
	}
	return "not a JSON object"
}

// jsonKind names what a value of Go kind k is in JSON, for a reason.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}
