package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/imports"
	"github.com/iotconsole/bff/internal/newfile"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/sqlite"
)

// The audit actor of every import and export: the command line.
var (
	importActor = audit.Actor{Type: audit.ActorSystem, ID: "import"}
	exportActor = audit.Actor{Type: audit.ActorSystem, ID: "export"}
)

// rejectsShown is how many rejects an import without -rejects prints (line
// and reason only).
const rejectsShown = 20

// progressEvery is how often an import that is not on a terminal logs its
// progress.
const progressEvery = 10 * time.Second

// runImport is `server import -domain SLUG [-dry-run] [-rejects FILE]
// [-format csv|jsonl] FILE` (FILE or - for standard input): see
// imports.Importer. The summary goes to stdout; the progress to stderr,
// as a bar on a terminal and otherwise a JSON line every progressEvery.
func runImport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flagSet("import")
	cfg := storeFlags(fs, getenv)
	slug := fs.String("domain", "", "slug of the domain to import into (required)")
	dryRun := fs.Bool("dry-run", false, "check every record and report the counts; write nothing")
	rejectsPath := fs.String("rejects", "", "write rejected records here, with their line and reason (same format as the input)")
	formatName := fs.String("format", "", "csv or jsonl (default: from the file's extension)")
	batch := fs.Int("batch", 0, fmt.Sprintf("records per write; 0: %d, and %d into a store without customers or one no server is running on",
		imports.DefaultBatchSize, imports.ExclusiveBatchSize))
	const usage = "server import -domain SLUG [-dry-run] [-rejects FILE] [-format csv|jsonl] FILE|-"
	files, err := parseFlagsAndFiles(fs, args, usage)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("bad command line for import: name one file, or - for standard input: %s", usage)
	}
	path := files[0]
	if *slug == "" {
		return errors.New("bad command line for import: -domain is required")
	}
	if *batch < 0 {
		return errors.New("bad command line for import: -batch must not be negative (0: the default)")
	}
	format, err := imports.ParseFormat(*formatName, path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	in, size := stdin, int64(-1)
	var input os.FileInfo
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		if input, err = f.Stat(); err == nil {
			size = input.Size()
		}
		in = f
	}
	if err := requireStore(*cfg); err != nil { // before the lock, which would create the directory
		return fmt.Errorf("import: %w", err)
	}
	if err := checkRejectsPath(*rejectsPath, format, input, *cfg); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	exclusive, unlock, err := lockForImport(*cfg, *dryRun)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer unlock()
	st, d, err := openDomain(ctx, *cfg, *slug, exclusive, lockedOptions(exclusive)...)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer st.Close(context.Background())
	progress := newImportProgress(stderr, size)
	reader, err := imports.NewReader(progress.wrap(in), format)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	rejects, closeRejects, err := openRejects(*rejectsPath, format, reader, stderr)
	if err != nil {
		return err
	}
	clk := clock.System()
	policy, err := passwords.NewPolicy(passwords.DefaultMinLength)
	if err != nil {
		return err
	}
	actor := importActor
	actor.DomainID = d.ID
	im := &imports.Importer{
		Store: st, Customers: customers.NewService(st, passwords.NewHasher(passwords.OWASP, 1, time.Minute), policy, clk.Now),
		Domain: d, Actor: actor, Now: clk.Now, DryRun: *dryRun, BatchSize: *batch, Exclusive: exclusive, Reject: rejects, Progress: progress.update, Finishing: progress.finishing,
	}
	started := time.Now()
	counts, runErr := im.Run(ctx, reader)
	progress.finish()
	if err := closeRejects(); err != nil && runErr == nil {
		runErr = err
	}
	elapsed := time.Since(started)
	verb := "imported into"
	switch {
	case *dryRun:
		verb = "dry run (nothing written) for"
	case runErr != nil:
		verb = "stopped importing into"
	}
	records := fmt.Sprintf("%d records", counts.Read())
	if counts.Read() == 1 {
		records = "1 record"
	}
	fmt.Fprintf(stdout, "%s %q: %s; %s in %s (%.0f records/s)\n", verb, d.Slug, counts, records,
		elapsed.Round(time.Millisecond), float64(counts.Read())/max(elapsed.Seconds(), 1e-9))
	if !*dryRun { // also for an interrupted import: what it wrote is the domain's admins' to see
		summary := counts.String()
		if runErr != nil {
			summary += ", stopped before the end"
		}
		audit.Append(context.WithoutCancel(ctx), st, clk.Now(), actor.Record(audit.ActionUsersImported, audit.TargetDomain, d.ID, summary))
	}
	switch {
	case runErr != nil && ctx.Err() != nil: // Ctrl-C or SIGTERM: whatever the store said as it was cut off
		return fmt.Errorf("import interrupted after %s: run the same command again to finish (records already written are matched, not written twice)", records)
	case runErr != nil:
		return fmt.Errorf("import stopped after %s: %w", records, runErr)
	}
	return nil
}

// checkRejectsPath tells, before anything is read, why a rejects file
// cannot be: the file being imported (input; nil for standard input) or a
// file of the embedded store's data directory (refuseDataDirFile). It
// refuses too a name whose extension says the other format than format,
// the input's, which the rejects are written in (as the file held them): a
// .jsonl file of CSV rows misleads whoever opens it. Any other file that
// exists is refused when the rejects file is created (openRejects: never
// written over).
func checkRejectsPath(path string, format imports.Format, input os.FileInfo, cfg config) error {
	if path == "" {
		return nil
	}
	if named, err := imports.ParseFormat("", path); err == nil && named != format {
		return fmt.Errorf("the rejects file's name says %s, but the rejects of a %s import are %s (the records as the file held them): name it .%s",
			strings.ToUpper(string(named)), strings.ToUpper(string(format)), strings.ToUpper(string(format)), format)
	}
	if err := refuseDataDirFile("the rejects file", path, cfg); err != nil {
		return err
	}
	if existing, err := os.Stat(path); err == nil && input != nil && os.SameFile(existing, input) {
		return errors.New("the rejects file is the file being imported: name a new file")
	}
	return nil
}

// refuseDataDirFile refuses a file a command writes (what, for the message)
// at path in the embedded store's data directory, whether it exists yet or
// not: a new file named as one of SQLite's own (bff.sqlite-wal, -journal)
// would be taken for the database's log at its next open and ruin it, and
// any other would put personal data where backups of the store do not look.
//
// It also refuses a symbolic link (which could lead there, even before its
// target exists) and a hard link to one of the directory's files (the
// database itself, under another name).
func refuseDataDirFile(what, path string, cfg config) error {
	if cfg.MongoURI != "" || path == "-" {
		return nil
	}
	data, err := os.Stat(cfg.DataDir)
	if err != nil {
		return nil // no store there: the command says so
	}
	inDataDir := fmt.Errorf("%s is in the store's data directory %s: name a file elsewhere", what, cfg.DataDir)
	if dir, err := os.Stat(filepath.Dir(path)); err == nil && os.SameFile(dir, data) {
		return inDataDir
	}
	info, err := os.Lstat(path)
	if err != nil {
		return nil // a new file, outside the data directory
	}
	if info.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link: name the file itself", what)
	}
	entries, err := os.ReadDir(cfg.DataDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if stored, err := os.Stat(filepath.Join(cfg.DataDir, e.Name())); err == nil && os.SameFile(info, stored) {
			return inDataDir // a hard link to it
		}
	}
	return nil
}

// lockForImport takes the embedded store's data directory lock for an
// import that writes, when no server holds it (sqlite.LockDir), and reports
// whether it did: the import then has the store to itself, writes
// imports.ExclusiveBatchSize records at a time with a rollback journal
// (sqlite.DirLocked), and a server started
// meanwhile is refused until the import ends. With a server running on the
// store, the import writes smaller batches between the server's writes. On
// MongoDB, and for a dry run, there is nothing to lock.
func lockForImport(cfg config, dryRun bool) (exclusive bool, unlock func(), err error) {
	if cfg.MongoURI != "" || dryRun {
		return false, func() {}, nil
	}
	unlock, err = sqlite.LockDir(cfg.DataDir)
	switch {
	case errors.Is(err, sqlite.ErrDirInUse):
		return false, func() {}, nil
	case err != nil:
		return false, nil, err
	}
	return true, unlock, nil
}

// lockedOptions returns the options of a store that a bulk load opens: with
// the data directory's lock held (lockForImport), sqlite.DirLocked.
func lockedOptions(exclusive bool) []sqlite.Option {
	if exclusive {
		return []sqlite.Option{sqlite.DirLocked()}
	}
	return nil
}

// openRejects returns where an import's rejects go: the file path in format
// (for CSV with the input's columns, its line and the reason), or else the
// first rejectsShown lines and reasons on stderr.
func openRejects(path string, format imports.Format, r imports.Reader, stderr io.Writer) (func(imports.Record, string) error, func() error, error) {
	if path == "" {
		shown := 0
		return func(rec imports.Record, reason string) error {
			if shown++; shown <= rejectsShown {
				fmt.Fprintf(stderr, "rejected line %d: %s\n", rec.Line, reason)
			}
			if shown == rejectsShown+1 {
				fmt.Fprintln(stderr, "(more rejects not shown: give -rejects FILE to keep them all)")
			}
			return nil
		}, func() error { return nil }, nil
	}
	// Rejects hold personal data and hashes (the file is its owner's only),
	// and a mistyped name could be an export's: a file that exists is never
	// written over. The rejects take the name when the import ends, however
	// it ends (a process killed leaves the name empty).
	f, err := newfile.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("import: rejects file: %w", err)
	}
	columns := imports.Columns(0)
	if c, ok := r.(interface{ Columns() []string }); ok {
		columns = c.Columns()
	}
	w, err := imports.NewWriter(f, format, append([]string{imports.ColumnLine, imports.ColumnReason}, columns...))
	if err != nil {
		f.Discard()
		return nil, nil, err
	}
	return func(rec imports.Record, reason string) error { return w.Write(rec, rec.Line, reason) },
		func() error {
			if err := w.Flush(); err != nil {
				f.Discard()
				return err
			}
			return f.Commit()
		}, nil
}

// importProgress shows how far an import is: a bar with rate and time left
// on a terminal (by bytes read, when the size is known), a JSON log line
// every progressEvery otherwise.
type importProgress struct {
	bar     *progressbar.ProgressBar
	log     zerolog.Logger
	started time.Time
	logged  time.Time
	read    countingReader
	size    int64
}

func newImportProgress(stderr io.Writer, size int64) *importProgress {
	p := &importProgress{started: time.Now(), logged: time.Now(), size: size, log: zerolog.New(stderr).With().Timestamp().Logger()}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *importProgress) wrap(r io.Reader) io.Reader {
	p.read.r = r
	if p.bar != nil {
		return io.TeeReader(&p.read, p.bar)
	}
	return &p.read
}

func (p *importProgress) update(c imports.Counts) {
	if p.bar != nil {
		p.bar.Describe(c.String())
		return
	}
	if time.Since(p.logged) < progressEvery {
		return
	}
	p.logged = time.Now()
	elapsed := time.Since(p.started).Seconds()
	p.log.Info().Int("created", c.Created).Int("updated", c.Updated).Int("unchanged", c.Unchanged).Int("rejected", c.Rejected).
		Float64("records_per_s", float64(c.Read())/elapsed).Int64("bytes_read", p.read.n.Load()).Int64("bytes_total", p.size).Msg("import progress")
}

// finishing says that every record is written and the search index is
// being tidied, which may take a minute.
func (p *importProgress) finishing() {
	const what = "every record written; tidying the search index"
	if p.bar != nil {
		p.bar.Describe(what)
		return
	}
	p.log.Info().Msg(what)
}

func (p *importProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// countingReader counts the bytes read through it. The import reads on a
// goroutine of its own (imports.Importer reads ahead) while progress is
// reported from another, hence the atomic count.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// runExport is `server export -domain SLUG [-format jsonl|csv]
// [-include-password-hashes] [FILE]`: every customer of the domain with its
// devices in the import format, to FILE (created, never overwritten) or
// standard output. Without -include-password-hashes the hashes are left out.
func runExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flagSet("export")
	cfg := storeFlags(fs, getenv)
	slug := fs.String("domain", "", "slug of the domain to export (required)")
	formatName := fs.String("format", "", "jsonl or csv (default: from FILE's extension, .csv or .jsonl; jsonl on standard output)")
	withHashes := fs.Bool("include-password-hashes", false, "include the password hashes (treat the file as a secret)")
	const usage = "server export -domain SLUG [-format jsonl|csv] [-include-password-hashes] [FILE]"
	files, err := parseFlagsAndFiles(fs, args, usage)
	if err != nil {
		return err
	}
	path := "-"
	switch len(files) {
	case 0:
	case 1:
		path = files[0]
	default:
		return fmt.Errorf("bad command line for export: at most one file: %s", usage)
	}
	if *slug == "" {
		return errors.New("bad command line for export: -domain is required")
	}
	if *formatName == "" && path == "-" {
		*formatName = string(imports.JSONL)
	}
	format, err := imports.ParseFormat(*formatName, path)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := refuseDataDirFile("the export file", path, *cfg); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	st, d, err := openDomain(ctx, *cfg, *slug, false)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer st.Close(context.Background())
	out, commit := stdout, func() error { return nil }
	if path != "-" { // the file takes its name only whole: a stopped export leaves none to import
		f, err := newfile.Create(path)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		out, commit = f, f.Commit
		defer f.Discard() // nothing once committed
	}
	started := time.Now()
	n, err := imports.Export(ctx, st, d, out, format, *withHashes)
	if err == nil {
		err = commit()
	}
	if errors.Is(err, context.Canceled) { // Ctrl-C: the store's wording of it says nothing more
		err = errors.New("interrupted")
	}
	if err != nil && path != "-" {
		return fmt.Errorf("export stopped after %d customers, and %s was not written: %w", n, path, err)
	}
	if err != nil {
		return fmt.Errorf("export stopped after %d customers: %w", n, err)
	}
	reason := fmt.Sprintf("%d customers, %s", n, format)
	if *withHashes {
		reason += ", with password hashes"
	}
	e := exportActor
	e.DomainID = d.ID
	audit.Append(ctx, st, clock.System().Now(), e.Record(audit.ActionUsersExported, audit.TargetDomain, d.ID, reason))
	fmt.Fprintf(stderr, "exported %d customers of %q in %s\n", n, d.Slug, time.Since(started).Round(time.Millisecond))
	return nil
}

// openDomain opens the store cfg names (see openStore for lockHeld) and reads
// the domain slug from it; the caller closes the store.
func openDomain(ctx context.Context, cfg config, slug string, lockHeld bool, opts ...sqlite.Option) (store.Store, domains.Domain, error) {
	if err := requireStore(cfg); err != nil {
		return nil, domains.Domain{}, err
	}
	st, err := openStore(ctx, cfg, commandLog(), lockHeld, opts...)
	if err != nil {
		return nil, domains.Domain{}, err
	}
	d, err := domains.Find(ctx, st, slug) // its slug, any case, or its display name, as at sign-in
	if errors.Is(err, apperr.ErrNotFound) {
		err = fmt.Errorf("no domain %q (by its slug, in any case, or its display name)", slug)
	} else if err != nil {
		err = fmt.Errorf("domain %q: %w", slug, err)
	}
	if err != nil {
		_ = st.Close(context.Background())
		return nil, domains.Domain{}, err
	}
	return st, d, nil
}

// requireStore returns an error if cfg names an embedded store whose data
// directory holds no database: a command that works on a domain's customers
// (import, export) must not create an empty store where a mistyped -data-dir
// points, and then report the domain missing.
func requireStore(cfg config) error {
	if cfg.MongoURI != "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, sqlite.FileName)); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no store in %s (no %s there): check -data-dir (DATA_DIR), or create the domain first with create-operator", cfg.DataDir, sqlite.FileName)
	}
	return nil
}

// parseFlagsAndFiles parses a subcommand's flags, which may come before,
// between and after its positional arguments (file names), and returns
// those arguments.
func parseFlagsAndFiles(fs *flag.FlagSet, args []string, usage string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(os.Stdout, "usage: "+usage)
				fs.SetOutput(os.Stdout)
				fs.PrintDefaults()
			}
			return nil, fmt.Errorf("bad command line for %s: %w", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			return files, nil
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
}
