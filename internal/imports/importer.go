package imports

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/emails"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/names"
	"github.com/iotconsole/bff/internal/passwords"
)

// Store is what an import reads and writes; both store backends implement it.
type Store interface {
	// CustomersByImportKeys returns the domain's customers whose external
	// id is one of externalIDs or whose email is one of emails (a customer
	// may come twice).
	CustomersByImportKeys(ctx context.Context, domainID string, externalIDs, emails []string) ([]customers.Customer, error)
	// DevicesBySerialNumbers returns the domain's devices with one of serials.
	DevicesBySerialNumbers(ctx context.Context, domainID string, serials []string) ([]devices.Device, error)
	// ImportCustomers stores new customers and their devices (see each
	// store for how atomic). It returns apperr.ErrConflict when a unique
	// key is taken.
	ImportCustomers(ctx context.Context, cs []customers.Customer, ds []devices.Device) error
	// InsertDevices stores new devices of existing customers.
	InsertDevices(ctx context.Context, ds []devices.Device) error
}

// KeyIndexDeferrer is a Store that may build the indexes of the keys records
// are matched by at the end of a bulk load into an empty store (the embedded
// store, when the import has it to itself: see its DeferSearchIndex). While
// they are deferred the store holds only this load's customers, so no record
// can match one the importer has not seen in the file, and looking keys up
// would read the whole store: the importer does neither.
type KeyIndexDeferrer interface {
	KeyIndexesDeferred(ctx context.Context) (bool, error)
}

// SearchTokenDeriver is a Store whose ImportCustomers derives the search
// tokens of customers given without them (the embedded store, whose bulk
// load into an empty store derives every customer's at its end anyway).
// While such a load defers the store's search index, the importer derives
// none: about 15 s of CPU at a million customers (docs/BENCHMARKS.md).
type SearchTokenDeriver interface {
	DerivesSearchTokens() bool
}

// Counts are an import's outcome, record by record.
type Counts struct {
	Created, Updated, Unchanged, Rejected int
}

// Read is how many records were read.
func (c Counts) Read() int { return c.Created + c.Updated + c.Unchanged + c.Rejected }

func (c Counts) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d rejected", c.Created, c.Updated, c.Unchanged, c.Rejected)
}

// Importer brings records into one domain.
//
// Each record is checked as sign-up checks a profile (customers.Profile),
// plus: status ACTIVE or DISABLED (default ACTIVE), createdAt RFC 3339
// (default: now), passwordHash one passwords.Check accepts or empty (the
// customer then has no usable password until support resets it), at most
// MaxExternalIDLength characters of external id, and devices with a serial
// number (devices.ParseSerial), a model, an optional MAC address
// (devices.ParseMAC) and a name (default: the model).
//
// A record matches an existing customer by external id, else by email. A
// record matching none is created; one matching a customer is applied with
// customers.Service.ApplyImport (devices it does not have yet are added;
// devices are never changed or removed by an import), and when it changes
// nothing it is unchanged. So running a file twice, or again after an
// interruption, ends as one uninterrupted run does.
//
// A record is rejected, with its line and a reason that never quotes it,
// when it is unreadable or invalid, when an earlier record of the file has
// its external id, email or a serial number, when its email or a serial
// number belongs to another customer, or when its email's customer has
// another external id. Rejects never stop the import.
type Importer struct {
	Store     Store
	Customers *customers.Service
	Domain    domains.Domain
	Actor     audit.Actor // who imports: the audit records' actor
	Now       func() time.Time
	DryRun    bool // check and count, write nothing
	// BatchSize is the records of one write; 0 means DefaultBatchSize, or
	// ExclusiveBatchSize when the store builds its search index at the end
	// or Exclusive is set.
	BatchSize int
	// Exclusive says that no other process writes the store while the
	// import runs (the embedded store's data directory lock is held: see
	// sqlite.LockDir), so writes may be large.
	Exclusive bool
	// Reject receives each rejected record (only the line when unreadable)
	// and why; nil drops them.
	Reject func(rec Record, reason string) error
	// Progress is told the counts after each batch; nil for none.
	Progress func(Counts)
	// Finishing is told when every record is written and the store tidies
	// its search index (customers.OptimizeAfterBulkLoad: up to a minute
	// after a million into an empty store, when a progress bar by bytes
	// read has long been full); nil for none, and never in a dry run or
	// when nothing was written.
	Finishing func()

	seed     maphash.Seed
	seen     map[[2]uint64]int // hashed key of the file -> the line that had it (the read-ahead's)
	matched  map[[2]uint64]int // hashed id of a stored customer -> the line that matched it (the writer's)
	count    Counts
	keysOnly bool // the store's key indexes are deferred: seen alone decides (KeyIndexDeferrer)
	// storeDerives: the store derives new customers' search tokens, and
	// defers its index (SearchTokenDeriver): the importer derives none.
	storeDerives bool
	// deriveAhead tells readAhead to derive the search tokens of the
	// batches it reads (see deriveSearchTokens): set while the batches
	// written are mostly new customers. Without lookAhead only: the lookups
	// ahead tell which records are new.
	deriveAhead atomic.Bool
	// lookAhead tells readAhead to look the keys of the batches it reads
	// up in the store too (see lookUp), while the store writes the batch
	// before: set when nobody else writes the store (Exclusive, or a dry
	// run, which writes nothing) and its key indexes are not deferred.
	lookAhead bool
	// firstBatchSize is the records of the first batch: BatchSize, but a
	// quarter of ExclusiveBatchSize when Run chose that, so that the writer,
	// which has nothing to do until the first batch is read, checked and
	// looked up, starts after a quarter of that time (about 0.3 s instead
	// of 1.2 for 20,000 customers to be added to a million; 100,000 more
	// then took 13.8 s instead of 14.4, four rounds interleaved:
	// docs/BENCHMARKS.md, "Bulk import", twenty-fourth round).
	firstBatchSize int
}

// DefaultBatchSize is the records of one write: large enough that a write's
// fixed cost is small beside its rows, small enough to hold a few in memory.
const DefaultBatchSize = 2000

// ExclusiveBatchSize is the records of one write when no other process
// writes the store meanwhile: into a store without customers, which builds
// its search index at the load's end (customers.DeferSearchIndex), and when
// Exclusive says so. Each write dirties index pages all over the store's
// B-trees; ten times the records per write dirty most of them once instead
// of again and again: 100,000 customers into an empty store in 32 s instead
// of 37, with 814 instead of 1,830 MiB written; 100,000 more into a store of
// 1,100,000 in 56 s instead of 80, with 4.6 instead of 21.4 GiB written
// (docs/BENCHMARKS.md, "Bulk import"). A write of that size holds the
// store's write lock for seconds, longer than a server's writes wait.
const ExclusiveBatchSize = 20_000

// MaxExternalIDLength bounds an external id, in characters.
const MaxExternalIDLength = 255

// Run imports every record r reads and returns the counts. It stops at the
// first error that is not a record's (the file cannot be read on, the
// store fails, ctx ends), with the counts so far: the batches written
// before stay written. Into an empty embedded store that the import has to
// itself the search index is built at the end, not record by record
// (customers.DeferSearchIndex): the customers are found once the import has
// ended. At the end it tidies the search index
// (customers.OptimizeAfterBulkLoad).
func (im *Importer) Run(ctx context.Context, r Reader) (Counts, error) {
	im.seed, im.seen, im.matched, im.count, im.keysOnly = maphash.MakeSeed(), map[[2]uint64]int{}, map[[2]uint64]int{}, Counts{}, false
	deferred := false
	if !im.DryRun {
		var err error
		if deferred, err = customers.DeferSearchIndex(ctx, im.Store); err != nil {
			return im.count, err
		}
		d, ok := im.Store.(SearchTokenDeriver)
		im.storeDerives = deferred && ok && d.DerivesSearchTokens()
		if d, ok := im.Store.(KeyIndexDeferrer); ok {
			if im.keysOnly, err = d.KeyIndexesDeferred(ctx); err != nil {
				return im.count, err
			}
		}
	}
	im.firstBatchSize = im.BatchSize
	if im.BatchSize <= 0 {
		im.BatchSize, im.firstBatchSize = DefaultBatchSize, DefaultBatchSize
		if deferred || im.Exclusive {
			im.BatchSize, im.firstBatchSize = ExclusiveBatchSize, ExclusiveBatchSize/4
		}
	}
	im.deriveAhead.Store(im.keysOnly)
	im.lookAhead = (im.Exclusive || im.DryRun) && !im.keysOnly
	batches, stop := im.readAhead(ctx, r)
	defer stop()
	for b := range batches {
		for _, rj := range b.rejects {
			if err := im.reject(rj.rec, rj.reason); err != nil {
				return im.count, err
			}
		}
		if b.lookupErr != nil {
			return im.count, b.lookupErr
		}
		created := im.count.Created
		if err := im.importBatch(ctx, b.candidates, b.found); err != nil {
			return im.count, err
		}
		im.deriveAhead.Store(im.keysOnly || 2*(im.count.Created-created) > len(b.candidates))
		if im.Progress != nil {
			im.Progress(im.count)
		}
		if errors.Is(b.err, io.EOF) {
			if im.DryRun {
				return im.count, nil
			}
			if im.Finishing != nil && im.count.Created+im.count.Updated > 0 {
				im.Finishing()
			}
			return im.count, customers.OptimizeAfterBulkLoad(ctx, im.Store, im.count.Created)
		}
		if b.err != nil {
			return im.count, b.err
		}
		if err := ctx.Err(); err != nil {
			return im.count, err
		}
	}
	return im.count, nil // not reached: the last batch ends with an error or io.EOF
}

// checkedBatch is up to BatchSize records as read and checked: the valid ones,
// the rejected ones (in the file's order, before any of the valid ones is
// written), and the error that ended the reading (io.EOF at the end); when
// the read-ahead looks keys up (lookAhead), what the store held for the
// valid ones' keys, or the store's error.
type checkedBatch struct {
	candidates []candidate
	rejects    []rejection
	err        error
	found      *storedKeys
	lookupErr  error
}

type rejection struct {
	rec    Record
	reason string
}

// readAhead reads and checks batches on a goroutine of its own, one batch
// ahead of the writes, so that parsing and checking the next batch (about
// a tenth of an import's CPU, docs/BENCHMARKS.md) runs on another core
// while the store writes this one; so does deriving the search tokens of
// new customers (a fifth) while most records are new (deriveAhead). With
// lookAhead, a second goroutine looks each batch's keys up in the store
// (lookUp: 0.5 to 1 s a batch of 20,000 in a store of a million) between
// the two, so that neither the writes nor the reading wait for it: the
// same million records imported again, all unchanged, are read, looked up
// and compared at once. That goroutine then derives the search tokens, not
// the reading one: of exactly the records whose keys found no customer
// (those the batch creates), from the first batch on (the writer derived
// the first two or three batches' itself: 100,000 customers more into a
// million took 16.1 s instead of 17.6, docs/BENCHMARKS.md). The channel
// closes after the batch that ends with an error; stop lets the goroutines
// end when the caller returns before that (each ends after the step it is
// in).
func (im *Importer) readAhead(ctx context.Context, r Reader) (<-chan checkedBatch, func()) {
	done := make(chan struct{})
	send := func(to chan<- checkedBatch, b checkedBatch) bool {
		select {
		case to <- b:
			return true
		case <-done:
			return false
		}
	}
	read := make(chan checkedBatch, 1)
	go func() {
		defer close(read)
		for size := im.firstBatchSize; ; size = im.BatchSize {
			b := im.readBatch(r, size)
			if im.deriveAhead.Load() && !im.lookAhead && !im.DryRun && !im.storeDerives {
				deriveSearchTokens(b.candidates, im.Domain.DefaultRegion, nil)
			}
			if !send(read, b) || b.err != nil {
				return
			}
		}
	}()
	stop := func() { close(done) }
	if !im.lookAhead {
		return read, stop
	}
	found := make(chan checkedBatch, 1)
	go func() {
		defer close(found)
		for b := range read {
			if len(b.candidates) > 0 {
				keys, err := im.lookUp(ctx, b.candidates)
				b.found, b.lookupErr = &keys, err
				if err == nil && !im.DryRun && !im.storeDerives {
					deriveSearchTokens(b.candidates, im.Domain.DefaultRegion, keys.matchesNothing)
				}
			}
			if !send(found, b) {
				return
			}
		}
	}()
	return found, stop
}

// candidate is a checked record: the customer and devices it asks for.
type candidate struct {
	rec      Record
	customer customers.Customer
	devices  []devices.Device
}

// readBatch reads up to size records, setting aside the unreadable and
// invalid ones as rejects. It runs on readAhead's goroutine: it touches
// nothing the writes do (im.seen is its own).
func (im *Importer) readBatch(r Reader, size int) checkedBatch {
	var b checkedBatch
	for len(b.candidates) < size {
		rec, err := r.Read()
		var recErr *RecordError
		if errors.As(err, &recErr) {
			if recErr.Read != nil {
				im.claimKeys(*recErr.Read)
			}
			b.rejects = append(b.rejects, rejection{Record{Line: recErr.Line, raw: recErr.Raw}, recErr.Reason})
			continue
		}
		if err != nil {
			b.err = err
			return b
		}
		c, reason := im.check(rec)
		if reason == "" {
			reason = im.firstInFile(c)
		} else {
			im.claimKeys(rec)
		}
		if reason != "" {
			b.rejects = append(b.rejects, rejection{rec, reason})
			continue
		}
		b.candidates = append(b.candidates, c)
	}
	return b
}

func (im *Importer) reject(rec Record, reason string) error {
	im.count.Rejected++
	if im.Reject == nil {
		return nil
	}
	return im.Reject(rec, reason)
}

// maxClockSkew is how far past the import's own clock a record's createdAt
// may be (the other system's clock may run a little ahead); later is a
// reject, since no account was created in the future.
const maxClockSkew = 5 * time.Minute

// check returns the candidate rec asks for, or why it cannot be imported.
func (im *Importer) check(rec Record) (candidate, string) {
	p, err := customers.Profile{FirstName: rec.FirstName, LastName: rec.LastName, Email: rec.Email, Phone: rec.Phone}.Check()
	if err != nil {
		return candidate{}, reasonOf(err)
	}
	region := strings.ToUpper(strings.TrimSpace(rec.PhoneRegion))
	if region != "" && !domains.KnownRegion(region) {
		return candidate{}, "phoneRegion: not a two-letter region code such as US, GB or DE"
	}
	externalID := strings.TrimSpace(rec.ExternalID)
	if externalID != "" {
		if externalID, err = names.Clean("externalId", externalID, MaxExternalIDLength); err != nil {
			return candidate{}, reasonOf(err)
		}
	}
	status := customers.Status(strings.ToUpper(strings.TrimSpace(rec.Status)))
	switch status {
	case "":
		status = customers.StatusActive
	case customers.StatusActive, customers.StatusDisabled:
	default:
		return candidate{}, "status: must be ACTIVE or DISABLED"
	}
	now := im.Now().UTC().Truncate(time.Millisecond)
	created := now
	if s := strings.TrimSpace(rec.CreatedAt); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return candidate{}, "createdAt: not an RFC 3339 time such as 2024-05-01T12:00:00Z"
		}
		created = t.UTC().Truncate(time.Millisecond)
		if created.After(now.Add(maxClockSkew)) {
			return candidate{}, "createdAt: in the future"
		}
		if created.Before(time.Unix(0, 0)) {
			return candidate{}, "createdAt: before 1970"
		}
	}
	hash := strings.TrimSpace(string(rec.PasswordHash))
	if hash != "" {
		if err := passwords.Check(hash); err != nil {
			return candidate{}, "passwordHash: " + err.Error()
		}
	}
	c := customers.Customer{ID: ids.New(), DomainID: im.Domain.ID, ExternalID: externalID, FirstName: p.FirstName, LastName: p.LastName,
		Email: p.Email, Phone: p.Phone, PhoneRegion: cmp.Or(region, im.Domain.DefaultRegion), Status: status, PasswordHash: hash, Version: 1,
		CreatedAt: created, UpdatedAt: now}
	out := candidate{rec: rec, customer: c} // search tokens are derived only for a creation (create): most of a rerun matches
	for i, d := range rec.Devices {
		dev, err := im.checkDevice(c, d)
		if err != nil {
			return candidate{}, fmt.Sprintf("device %d: %s", i+1, reasonOf(err))
		}
		out.devices = append(out.devices, dev)
	}
	return out, ""
}

func (im *Importer) checkDevice(c customers.Customer, d Device) (devices.Device, error) {
	serial, err := devices.ParseSerial(d.SerialNumber)
	if err != nil {
		return devices.Device{}, err
	}
	mac, err := devices.ParseMAC(d.MACAddress)
	if err != nil {
		return devices.Device{}, err
	}
	model, err := names.Clean("model", d.Model, customers.MaxNameLength)
	if err != nil {
		return devices.Device{}, err
	}
	name := d.Name
	if strings.TrimSpace(name) == "" {
		name = model
	}
	if name, err = names.Clean("name", name, customers.MaxNameLength); err != nil {
		return devices.Device{}, err
	}
	return devices.Device{ID: ids.New(), DomainID: c.DomainID, CustomerID: c.ID, Name: name, Model: model, SerialNumber: serial, MACAddress: mac,
		Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto, Notifications: true}, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}, nil
}

// reasonOf says what is wrong with a field, from a validation error; of
// several joined (customers.Profile.Check), each, separated by "; ".
func reasonOf(err error) string {
	if joined, ok := err.(interface{ Unwrap() []error }); ok { // several bad fields: each
		var reasons []string
		for _, e := range joined.Unwrap() {
			reasons = append(reasons, reasonOf(e))
		}
		return strings.Join(reasons, "; ")
	}
	var v *apperr.ValidationError
	if errors.As(err, &v) {
		return v.Field + ": " + v.Message
	}
	return err.Error()
}

// fileKey is a key a record claims in its file: an email, an external id
// or a serial number, in the form it is stored in.
type fileKey struct {
	kind, value string
}

// hash is k as im.seen keeps it: 128 bits, so a million records cost
// megabytes, not the keys' own size; two different keys sharing one is a
// 2^-100 chance.
func (im *Importer) hash(k fileKey) [2]uint64 {
	return [2]uint64{maphash.String(im.seed, k.kind+"\x00"+k.value), maphash.String(im.seed, k.value+"\x00"+k.kind)}
}

// firstInFile records c's keys (external id, email, serial numbers) as
// seen, or names the earlier line of the file that had one of them.
func (im *Importer) firstInFile(c candidate) string {
	keys := []fileKey{{"email", c.customer.Email}}
	if c.customer.ExternalID != "" {
		keys = append(keys, fileKey{"externalId", c.customer.ExternalID})
	}
	for _, d := range c.devices {
		keys = append(keys, fileKey{"serial number", d.SerialNumber})
	}
	hashes := make([][2]uint64, len(keys))
	for i, k := range keys {
		hashes[i] = im.hash(k)
		if line, ok := im.seen[hashes[i]]; ok {
			return fmt.Sprintf("the same %s as line %d", k.kind, line)
		}
		if slices.Contains(hashes[:i], hashes[i]) {
			return fmt.Sprintf("the same %s twice", k.kind)
		}
	}
	for _, h := range hashes {
		im.seen[h] = c.rec.Line
	}
	return ""
}

// claimKeys records as seen the keys of rec, a record rejected for what it
// holds (or read leniently, RecordError.Read), that no earlier line had: a key belongs to the first record of the
// file that names it, imported or not. Otherwise a later record with the
// same key would be imported in its place, and once the first is corrected
// a rerun would turn that customer into the first one (its name, email and
// password hash). Keys that do not parse cannot be stored, so they claim
// nothing.
func (im *Importer) claimKeys(rec Record) {
	var keys []fileKey
	if email, err := emails.Parse("email", rec.Email); err == nil {
		keys = append(keys, fileKey{"email", email})
	}
	if id := strings.TrimSpace(rec.ExternalID); id != "" {
		if id, err := names.Clean("externalId", id, MaxExternalIDLength); err == nil {
			keys = append(keys, fileKey{"externalId", id})
		}
	}
	for _, d := range rec.Devices {
		if serial, err := devices.ParseSerial(d.SerialNumber); err == nil {
			keys = append(keys, fileKey{"serial number", serial})
		}
	}
	for _, k := range keys {
		h := im.hash(k)
		if _, taken := im.seen[h]; !taken {
			im.seen[h] = rec.Line
		}
	}
}

// firstForCustomer records that the record on line matched the stored
// customer id, or names the earlier line of the file that did: two records
// reaching one customer by different keys (one by its email, the other by
// its external id) would each undo the other, on every rerun.
func (im *Importer) firstForCustomer(id string, line int) string {
	h := im.customerHash(id)
	if earlier, ok := im.matched[h]; ok {
		return fmt.Sprintf("the same customer as line %d (matched by another key)", earlier)
	}
	im.matched[h] = line
	return ""
}

// matchedBefore reports whether a record before matched the stored customer
// id (firstForCustomer).
func (im *Importer) matchedBefore(id string) bool {
	_, ok := im.matched[im.customerHash(id)]
	return ok
}

func (im *Importer) customerHash(id string) [2]uint64 {
	return [2]uint64{maphash.String(im.seed, id), maphash.String(im.seed, id+"\x00")}
}

// storedKeys is what the store holds for a batch's keys (see lookUp).
type storedKeys struct {
	byExternalID, byEmail map[string]customers.Customer
	owners                map[string]string // serial number -> customer id
}

// matchesNothing reports whether neither c's external id nor its email
// found a customer: c is a new customer (a later record with either key is
// rejected: firstInFile).
func (k storedKeys) matchesNothing(c candidate) bool {
	_, byID := k.byExternalID[c.customer.ExternalID]
	_, byEmail := k.byEmail[c.customer.Email]
	return !byID && !byEmail
}

// lookUp returns the store's customers with the external ids and emails of
// batch, and the owners of its devices' serial numbers.
func (im *Importer) lookUp(ctx context.Context, batch []candidate) (storedKeys, error) {
	found := storedKeys{map[string]customers.Customer{}, map[string]customers.Customer{}, map[string]string{}}
	var externalIDs, emails, serials []string
	for _, c := range batch {
		externalIDs, emails = append(externalIDs, c.customer.ExternalID), append(emails, c.customer.Email)
		for _, d := range c.devices {
			serials = append(serials, d.SerialNumber)
		}
	}
	existing, err := im.Store.CustomersByImportKeys(ctx, im.Domain.ID, externalIDs, emails)
	if err != nil {
		return found, err
	}
	for _, c := range existing {
		if c.ExternalID != "" {
			found.byExternalID[c.ExternalID] = c
		}
		found.byEmail[c.Email] = c
	}
	if len(serials) > 0 {
		ds, err := im.Store.DevicesBySerialNumbers(ctx, im.Domain.ID, serials)
		if err != nil {
			return found, err
		}
		for _, d := range ds {
			found.owners[d.SerialNumber] = d.CustomerID
		}
	}
	return found, nil
}

// refresh looks the keys of batch up again where found, as the read-ahead
// found them before the batches ahead of batch were written, may be stale:
// the records whose keys found customers that an earlier record of the file
// matched, whose update may have given up the email found (so that the
// record is a new customer now, as in a run without read-ahead). Nothing
// else can be stale while nobody else writes the store (lookAhead): every
// key a record stores was claimed by it in the file (firstInFile), so a
// later record with that key is rejected before any lookup, and an import
// removes no customer and no device.
func (im *Importer) refresh(ctx context.Context, batch []candidate, found *storedKeys) error {
	return im.lookUpAgain(ctx, batch, found, func(c candidate) bool {
		for _, other := range []customers.Customer{found.byExternalID[c.customer.ExternalID], found.byEmail[c.customer.Email]} {
			if other.ID != "" && im.matchedBefore(other.ID) {
				return true
			}
		}
		return false
	})
}

// lookUpAgain looks the keys of the records of batch that stale picks up
// again, and puts what it finds in place of what found held for them.
func (im *Importer) lookUpAgain(ctx context.Context, batch []candidate, found *storedKeys, stale func(candidate) bool) error {
	var again []candidate
	for _, c := range batch {
		if stale(c) {
			again = append(again, c)
		}
	}
	if len(again) == 0 {
		return nil
	}
	fresh, err := im.lookUp(ctx, again)
	if err != nil {
		return err
	}
	for _, c := range again {
		found.replace(c, fresh)
	}
	return nil
}

// replace puts what fresh, a later lookUp, found for c's keys and serial
// numbers in place of what k held for them.
func (k storedKeys) replace(c candidate, fresh storedKeys) {
	delete(k.byExternalID, c.customer.ExternalID)
	delete(k.byEmail, c.customer.Email)
	if other, ok := fresh.byExternalID[c.customer.ExternalID]; ok {
		k.byExternalID[c.customer.ExternalID] = other
	}
	if other, ok := fresh.byEmail[c.customer.Email]; ok {
		k.byEmail[c.customer.Email] = other
	}
	for _, d := range c.devices {
		delete(k.owners, d.SerialNumber)
		if owner, ok := fresh.owners[d.SerialNumber]; ok {
			k.owners[d.SerialNumber] = owner
		}
	}
}

// lookUpOwnersAgain looks the keys of batch up again for the records with a
// serial number whose owner none of their keys found: lookUp reads the
// customers, then the devices, and another writer (an import of the same
// file beside this one) may have stored the record's customer with its
// devices between the two reads. Its customer and devices are committed
// together, so a second read of the customers, after the devices were seen,
// finds it; a serial number still owned by another customer then is one.
// (Two imports of one file at once rejected 1,467 of 30,000 records as
// owning "another customer's" devices, tryout 21.)
func (im *Importer) lookUpOwnersAgain(ctx context.Context, batch []candidate, found *storedKeys) error {
	return im.lookUpAgain(ctx, batch, found, func(c candidate) bool {
		byID, byEmail := found.byExternalID[c.customer.ExternalID], found.byEmail[c.customer.Email]
		for _, d := range c.devices {
			if owner, taken := found.owners[d.SerialNumber]; taken && owner != byID.ID && owner != byEmail.ID {
				return true
			}
		}
		return false
	})
}

// importBatch matches the batch's candidates with the store's customers
// (stored, when the read-ahead looked their keys up, else looked up now) and
// creates, updates or rejects each (see Importer).
func (im *Importer) importBatch(ctx context.Context, batch []candidate, stored *storedKeys) error {
	if len(batch) == 0 {
		return nil
	}
	if im.keysOnly {
		return im.create(ctx, batch)
	}
	if stored == nil {
		now, err := im.lookUp(ctx, batch)
		if err != nil {
			return err
		}
		stored = &now
		if err := im.lookUpOwnersAgain(ctx, batch, stored); err != nil {
			return err
		}
	} else if err := im.refresh(ctx, batch, stored); err != nil {
		return err
	}
	byExternalID, byEmail, owners := stored.byExternalID, stored.byEmail, stored.owners
	var creates []candidate
	for _, c := range batch {
		current, found, reason := match(c.customer, byExternalID, byEmail)
		switch {
		case found && reason == "":
			reason = im.firstForCustomer(current.ID, c.rec.Line)
		case reason != "":
			// Refused, it still reached the customers its keys name: they are
			// its, as its keys are (claimKeys), so that a later record
			// reaching one of them by another key does not change it first.
			for _, other := range []customers.Customer{byExternalID[c.customer.ExternalID], byEmail[c.customer.Email]} {
				if other.ID != "" {
					im.firstForCustomer(other.ID, c.rec.Line) // or an earlier line's already
				}
			}
		}
		var added []devices.Device
		for i, d := range c.devices {
			owner, taken := owners[d.SerialNumber]
			switch {
			case taken && (!found || owner != current.ID):
				reason = fmt.Sprintf("device %d: serialNumber: another customer has a device with this serial number", i+1)
			case !taken && found:
				d.CustomerID = current.ID
				added = append(added, d)
			}
		}
		var err error
		switch {
		case reason != "":
			err = im.reject(c.rec, reason)
		case !found:
			creates = append(creates, c)
		default:
			err = im.update(ctx, c, current, added)
		}
		if err != nil {
			return err
		}
	}
	return im.create(ctx, creates)
}

// match returns the stored customer c is about: the one with its external
// id, else the one with its email; or why c cannot be imported.
func match(c customers.Customer, byExternalID, byEmail map[string]customers.Customer) (customers.Customer, bool, string) {
	owner, emailTaken := byEmail[c.Email]
	if current, ok := byExternalID[c.ExternalID]; ok && c.ExternalID != "" {
		if emailTaken && owner.ID != current.ID {
			return customers.Customer{}, false, "email: another customer of the domain has this email"
		}
		return current, true, ""
	}
	if !emailTaken {
		return customers.Customer{}, false, ""
	}
	if owner.ExternalID != "" && c.ExternalID != "" {
		return customers.Customer{}, false, "externalId: the customer with this email has another externalId"
	}
	return owner, true, ""
}

// update applies candidate c to current, the stored customer it matched,
// adding the devices added.
func (im *Importer) update(ctx context.Context, c candidate, current customers.Customer, added []devices.Device) error {
	unindexed := len(added) == 0 && !tokensHoldSerials(current, c.devices)
	if len(customers.ImportChanges(current, c.customer)) == 0 && len(added) == 0 && !unindexed {
		im.count.Unchanged++
		return nil
	}
	if im.DryRun {
		im.count.Updated++
		return nil
	}
	if len(added) > 0 { // first, so that ApplyImport makes them searchable
		if err := im.Store.InsertDevices(ctx, added); err != nil {
			if errors.Is(err, apperr.ErrConflict) {
				return im.reject(c.rec, "a device's serial number was taken meanwhile")
			}
			return err
		}
	}
	if _, err := im.Customers.ApplyImport(ctx, im.Actor, im.Domain, current, c.customer, len(added) > 0 || unindexed); err != nil {
		var invalid *apperr.ValidationError
		if errors.As(err, &invalid) {
			return im.reject(c.rec, reasonOf(err))
		}
		return err
	}
	im.count.Updated++
	return nil
}

// tokensHoldSerials reports whether the search tokens the store gave back
// with current (a store that keeps none gives none: it indexes a device as
// it stores it) hold the serial number of each of devs, the record's devices
// current has. They do not after an import killed between storing a
// customer's new devices and deriving its tokens with them: its rerun
// derives them (ApplyImport), as the run would have.
func tokensHoldSerials(current customers.Customer, devs []devices.Device) bool {
	if current.SearchTokens == nil {
		return true
	}
	for _, d := range devs {
		for _, t := range customers.DeviceTokens(devices.Device{SerialNumber: d.SerialNumber}) {
			if !slices.Contains(current.SearchTokens, t) {
				return false
			}
		}
	}
	return true
}

// create stores the new customers of a batch in one write. When a key
// turns out taken (another writer got there meanwhile), it goes through
// them one at a time, so that only the records concerned are rejected.
func (im *Importer) create(ctx context.Context, cs []candidate) error {
	if len(cs) == 0 {
		return nil
	}
	if im.DryRun {
		im.count.Created += len(cs)
		return nil
	}
	if !im.storeDerives {
		deriveSearchTokens(cs, im.Domain.DefaultRegion, nil)
	}
	newCustomers, deviceCount := make([]customers.Customer, 0, len(cs)), 0
	for _, c := range cs {
		deviceCount += len(c.devices)
	}
	newDevices := make([]devices.Device, 0, deviceCount)
	for _, c := range cs {
		newCustomers, newDevices = append(newCustomers, c.customer), append(newDevices, c.devices...)
	}
	err := im.Store.ImportCustomers(ctx, newCustomers, newDevices)
	switch {
	case err == nil:
		im.count.Created += len(cs)
		return nil
	case !errors.Is(err, apperr.ErrConflict):
		return err
	case len(cs) == 1:
		return im.reject(cs[0].rec, "its email, externalId or a serial number was taken meanwhile")
	}
	for _, c := range cs {
		if err := im.importBatch(ctx, []candidate{c}, nil); err != nil {
			return err
		}
	}
	return nil
}

// deriveSearchTokens sets the search tokens of the candidates that have
// none and that wanted accepts (all, if wanted is nil), on every core:
// about 30 µs a customer, most of it parsing the phone number and
// transliterating names, about a fifth of an import's CPU into an empty
// store (docs/BENCHMARKS.md). readAhead calls it for the next batch while
// the store writes this one; create, for the new customers left. Neither
// does while a store that derives them itself defers its index
// (storeDerives): should another import end that deferral meanwhile (its
// own load's compaction), the store derives each customer's as it writes.
func deriveSearchTokens(cs []candidate, region string, wanted func(candidate) bool) {
	workers := min(runtime.GOMAXPROCS(0), len(cs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(cs); i += workers {
				if c := &cs[i].customer; c.SearchTokens == nil && (wanted == nil || wanted(cs[i])) {
					c.SearchTokens = customers.SearchTokens(*c, cs[i].devices, region)
				}
			}
		})
	}
	wg.Wait()
}
