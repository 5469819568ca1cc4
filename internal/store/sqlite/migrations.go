package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
)

// migrations are applied in order, each once, each in its own transaction.
// Never edit one that has shipped; append a new one.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE domains (
	id             TEXT PRIMARY KEY,
	slug           TEXT NOT NULL UNIQUE,
	name           TEXT NOT NULL,
	default_region TEXT NOT NULL,
	created_at     INTEGER NOT NULL
);
CREATE TABLE operators (
	id            TEXT PRIMARY KEY,
	domain_id     TEXT NOT NULL REFERENCES domains(id),
	name          TEXT NOT NULL,
	email         TEXT NOT NULL,
	role          TEXT NOT NULL,
	status        TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	UNIQUE (domain_id, email)
);
CREATE TABLE customers (
	id            TEXT PRIMARY KEY,
	domain_id     TEXT NOT NULL REFERENCES domains(id),
	first_name    TEXT NOT NULL,
	last_name     TEXT NOT NULL,
	email         TEXT NOT NULL,
	phone         TEXT NOT NULL,
	status        TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	search_tokens TEXT NOT NULL,
	version       INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	last_key      TEXT NOT NULL,
	first_key     TEXT NOT NULL,
	sort_seq      INTEGER NOT NULL UNIQUE -- the customer_search rowid, see order.go
);
CREATE INDEX customers_order ON customers (last_key, first_key, id);
CREATE UNIQUE INDEX customers_domain_email ON customers (domain_id, email);
CREATE INDEX customers_domain_name ON customers (domain_id, last_key, first_key, id);
CREATE INDEX customers_domain_status_name ON customers (domain_id, status, last_key, first_key, id);
-- One row per customer, rowid = customers.sort_seq, so that matches come out
-- in name order: its domain marker (see domainMarker) and its search tokens.
-- detail=none: terms are single tokens, no positions needed.
CREATE VIRTUAL TABLE customer_search USING fts5 (
	tokens,
	content = '',
	contentless_delete = 1,
	detail = none,
	prefix = '1 2 3 4 5 6 7 8',
	tokenize = "unicode61 remove_diacritics 0 tokenchars '@.+-_'"
);
CREATE TABLE devices (
	id                 TEXT PRIMARY KEY,
	domain_id          TEXT NOT NULL REFERENCES domains(id),
	customer_id        TEXT NOT NULL REFERENCES customers(id),
	name               TEXT NOT NULL,
	model              TEXT NOT NULL,
	online             INTEGER NOT NULL,
	target_temperature REAL NOT NULL,
	mode               TEXT NOT NULL,
	notifications      INTEGER NOT NULL,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
CREATE INDEX devices_customer ON devices (customer_id, name, id);
CREATE TABLE sessions (
	token_hash    TEXT PRIMARY KEY,
	kind          TEXT NOT NULL,
	domain_id     TEXT NOT NULL,
	subject_id    TEXT NOT NULL,
	actor_id      TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL,
	revoked_at    INTEGER NOT NULL,
	revoke_reason TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_subject ON sessions (subject_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE TABLE audit (
	id          TEXT PRIMARY KEY,
	domain_id   TEXT NOT NULL,
	at          INTEGER NOT NULL,
	actor_type  TEXT NOT NULL,
	actor_id    TEXT NOT NULL,
	acting_for  TEXT NOT NULL,
	action      TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	reason      TEXT NOT NULL,
	request_id  TEXT NOT NULL,
	outcome     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX audit_domain_at ON audit (domain_id, at DESC, id DESC);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TABLE events (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT NOT NULL UNIQUE,
	domain_id   TEXT NOT NULL,
	type        TEXT NOT NULL,
	customer_id TEXT NOT NULL,
	actor_id    TEXT NOT NULL,
	data        TEXT NOT NULL,
	occurred_at INTEGER NOT NULL
);
CREATE INDEX events_domain_seq ON events (domain_id, seq);
`,
	// 2: sessions end with the customer's session epoch; restricted sessions.
	`
ALTER TABLE customers ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT '';
`,
	// 3: remote assistance.
	`
CREATE TABLE assists (
	id                TEXT PRIMARY KEY,
	domain_id         TEXT NOT NULL,
	customer_id       TEXT NOT NULL,
	operator_id       TEXT NOT NULL,
	reason            TEXT NOT NULL,
	started_at        INTEGER NOT NULL,
	expires_at        INTEGER NOT NULL,
	state             TEXT NOT NULL,
	ended_at          INTEGER NOT NULL,
	ended_by          TEXT NOT NULL,
	ticket_hash       TEXT NOT NULL UNIQUE,
	ticket_expires_at INTEGER NOT NULL,
	ticket_used       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX assists_domain_started ON assists (domain_id, started_at DESC, id DESC);
CREATE INDEX assists_customer_started ON assists (customer_id, started_at DESC, id DESC);
CREATE INDEX assists_active_operator ON assists (operator_id) WHERE state = 'ACTIVE';
CREATE INDEX assists_active_expiry ON assists (expires_at) WHERE state = 'ACTIVE';
ALTER TABLE audit ADD COLUMN assist_id TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_assist ON audit (assist_id, at) WHERE assist_id != '';
ALTER TABLE sessions ADD COLUMN assist_id TEXT NOT NULL DEFAULT '';
`,
	// 4: where each instance has read the events up to.
	`
CREATE TABLE tail_positions (
	instance   TEXT PRIMARY KEY,
	position   TEXT NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;
`,
	// 5: whether a domain's customers may sign themselves up.
	`
ALTER TABLE domains ADD COLUMN sign_up_policy TEXT NOT NULL DEFAULT 'CLOSED';
`,
	// 6: devices carry a serial number, unique in their domain, and a MAC
	// address ('' for none). Devices stored before get the ones
	// devices.BackfillSerial and devices.BackfillMAC derive from their id
	// (functions registered in devices.go), as the MongoDB store gives them.
	`
ALTER TABLE devices ADD COLUMN serial_number TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN mac_address TEXT NOT NULL DEFAULT '';
UPDATE devices SET serial_number = backfill_device_serial(id, model), mac_address = backfill_device_mac(id);
CREATE UNIQUE INDEX devices_domain_serial ON devices (domain_id, serial_number);
`,
	// 7: every customer's data key (crypto-shredding, see internal/shred),
	// and audit records' details, sealed under such a key.
	`
CREATE TABLE customer_keys (
	customer_id TEXT PRIMARY KEY,
	key         BLOB NOT NULL,
	created_at  INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE audit ADD COLUMN details TEXT NOT NULL DEFAULT '';
`,
	// 8: a customer's id in the system it was imported from, unique in its
	// domain when given.
	`
ALTER TABLE customers ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX customers_domain_external_id ON customers (domain_id, external_id) WHERE external_id != '';
`,
	// 9: operators are managed from the API: a version for conditional
	// changes, a session epoch that ends every session, and the hash of a
	// one-time setup link's ticket.
	`
ALTER TABLE operators ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE operators ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operators ADD COLUMN setup_ticket_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE operators ADD COLUMN setup_expires_at INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX operators_setup_ticket ON operators (setup_ticket_hash) WHERE setup_ticket_hash != '';
`,
	// 10: operators' second factor (TOTP secret, the one being enrolled, the
	// last time step used, hashes of recovery codes, space-separated) and the
	// domain settings ADMINs change (0 for the server's default).
	`
ALTER TABLE operators ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE operators ADD COLUMN totp_pending_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE operators ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operators ADD COLUMN recovery_code_hashes TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN require_operator_mfa INTEGER NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN assist_ttl_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN password_min_length INTEGER NOT NULL DEFAULT 0;
`,
	// 11: the customer's session epoch an assistance started in.
	`
ALTER TABLE assists ADD COLUMN customer_epoch INTEGER NOT NULL DEFAULT 0;
`,
	// 12: the operator's session epoch an assistance started in.
	`
ALTER TABLE assists ADD COLUMN operator_epoch INTEGER NOT NULL DEFAULT 0;
`,
	// 13: facts about the store as a whole, such as the rules its search
	// tokens were derived by (customers.TokenRules).
	`
CREATE TABLE store_meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`,
	// 14: each domain's vocabulary of name tokens (customers.NameTokens) with
	// how many customers hold each, for search suggestions.
	`
CREATE TABLE search_vocabulary (
	domain_id TEXT NOT NULL,
	token     TEXT NOT NULL,
	length    INTEGER NOT NULL,
	customers INTEGER NOT NULL,
	PRIMARY KEY (domain_id, token)
) WITHOUT ROWID;
CREATE INDEX search_vocabulary_length ON search_vocabulary (domain_id, length);
`,
	// 15: remote assistance with the customer's agreement: each domain's
	// consent setting (domains stored before it keep assistance at once:
	// NONE), each assistance's mode (before: CONTROL) and latest request;
	// PENDING sessions are running too, and pending requests are swept.
	`
ALTER TABLE domains ADD COLUMN assist_consent TEXT NOT NULL DEFAULT 'NONE';
ALTER TABLE assists ADD COLUMN mode TEXT NOT NULL DEFAULT 'CONTROL';
ALTER TABLE assists ADD COLUMN request_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE assists ADD COLUMN request_state TEXT NOT NULL DEFAULT '';
ALTER TABLE assists ADD COLUMN requested_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assists ADD COLUMN request_expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assists ADD COLUMN answered_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX assists_running_operator ON assists (operator_id) WHERE state IN ('ACTIVE', 'PENDING');
CREATE INDEX assists_running_expiry ON assists (expires_at) WHERE state IN ('ACTIVE', 'PENDING');
CREATE INDEX assists_pending_request ON assists (request_expires_at) WHERE request_state = 'PENDING';
`,
	// 16: order labels domain by domain, then in name order (see order.go),
	// labelStep (64) apart (as compactLabelsSQL gives them), with the search
	// index built again under them from the tokens then stored; the index of
	// names across domains is no longer needed.
	`DROP INDEX customers_order;
UPDATE customers SET sort_seq = sort_seq + 4611686018427387905 WHERE sort_seq < 4611686018427387905;
UPDATE customers SET sort_seq = ranked.label
	FROM (SELECT id, (row_number() OVER (ORDER BY domain_id, last_key, first_key, id) - 1) * 64 AS label FROM customers) AS ranked
	WHERE customers.id = ranked.id;
INSERT INTO customer_search (customer_search) VALUES ('delete-all');
INSERT INTO customer_search (customer_search, rank) VALUES ('automerge', 0);
INSERT INTO customer_search (customer_search, rank) VALUES ('crisismerge', 1000);
INSERT INTO customer_search (rowid, tokens) SELECT sort_seq, '$' || domain_id || ' ' || search_tokens FROM customers ORDER BY sort_seq;
INSERT INTO customer_search (customer_search) VALUES ('optimize');
INSERT INTO customer_search (customer_search, rank) VALUES ('automerge', 4);
INSERT INTO customer_search (customer_search, rank) VALUES ('crisismerge', 16);
`,
	// 17: each domain's search version (see SearchVersion).
	searchVersionsSQL,
	// 18: leaner indexes (docs/BENCHMARKS.md, "Disk"). Customers of one
	// status in name order are listed for the statuses that are not ACTIVE
	// only (ACTIVE ones are most of a domain: customers_domain_name, skipping
	// the rest, finds a page of them), and a customer's devices are found by
	// customer alone (a customer has a few, sorted as they are read): at a
	// million customers 111 and 147 MiB before, a few and 60 after.
	`
DROP INDEX IF EXISTS customers_domain_status_name;
` + statusNameIndexSQLBefore23 + `;
DROP INDEX devices_customer;
CREATE INDEX devices_customer ON devices (customer_id);
`,
	// 19: search tokens are no longer stored (see searchrows.go): derived
	// again wherever the index is written again, they were 220 bytes a
	// customer.
	`
ALTER TABLE customers DROP COLUMN search_tokens;
`,
	// 20: search rows without the domain marker (see searchDocument): the
	// next customers.Reindex, which every command and the server run as they
	// open the store, writes every row again.
	`
DELETE FROM store_meta WHERE key = 'search_token_rules';
`,
	// 21: the region each customer's phone number was read in
	// (customers.Customer.PhoneRegion), so that rows of the search index
	// derived again after a change of the domain's default region (see
	// searchrows.go) hold the number as it was written. Numbers stored before
	// were read in their domain's region now.
	`
ALTER TABLE customers ADD COLUMN phone_region TEXT NOT NULL DEFAULT '';
UPDATE customers SET phone_region = (SELECT default_region FROM domains WHERE domains.id = customers.domain_id) WHERE phone != '';
`,
	// 22: devices name their customer by its number (customers.rid, an
	// INTEGER PRIMARY KEY, which VACUUM keeps, as it does not keep an
	// implicit rowid) instead of its 32-character id, and customers' and
	// devices' ids of ids.New's form are kept as their 16 bytes (see
	// idKey), and argon2id password hashes as their numbers and bytes (see
	// hashKey): at a million customers with the demo's 1.5 devices each,
	// about 240 bytes a customer less (docs/BENCHMARKS.md, "Nineteenth
	// round"). Both tables are copied into their new shape (the procedure of
	// https://sqlite.org/lang_altertable.html#otheralter), the customers
	// keeping their rowids as numbers; the indexes a bulk load defers are
	// built with the rest (see DeferSearchIndex).
	`
CREATE TABLE customers_new (
	rid                  INTEGER PRIMARY KEY,
	id                   TEXT NOT NULL UNIQUE,
	domain_id            TEXT NOT NULL REFERENCES domains(id),
	first_name           TEXT NOT NULL,
	last_name            TEXT NOT NULL,
	email                TEXT NOT NULL,
	phone                TEXT NOT NULL,
	status               TEXT NOT NULL,
	password_hash        TEXT NOT NULL,
	version              INTEGER NOT NULL,
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL,
	last_key             TEXT NOT NULL,
	first_key            TEXT NOT NULL,
	sort_seq             INTEGER NOT NULL UNIQUE, -- the customer_search rowid, see order.go
	must_change_password INTEGER NOT NULL DEFAULT 0,
	session_epoch        INTEGER NOT NULL DEFAULT 0,
	external_id          TEXT NOT NULL DEFAULT '',
	phone_region         TEXT NOT NULL DEFAULT ''
);
INSERT INTO customers_new (rid, id, domain_id, first_name, last_name, email, phone, status, password_hash, version, created_at, updated_at,
	last_key, first_key, sort_seq, must_change_password, session_epoch, external_id, phone_region)
	SELECT rowid, ` + idKeySQL("id") + `, domain_id, first_name, last_name, email, phone, status, compact_password_hash(password_hash), version, created_at, updated_at,
	last_key, first_key, sort_seq, must_change_password, session_epoch, external_id, phone_region FROM customers ORDER BY rowid;
CREATE TABLE devices_new (
	id                 TEXT PRIMARY KEY,
	domain_id          TEXT NOT NULL REFERENCES domains(id),
	customer_rid       INTEGER NOT NULL REFERENCES customers_new(rid),
	name               TEXT NOT NULL,
	model              TEXT NOT NULL,
	serial_number      TEXT NOT NULL,
	mac_address        TEXT NOT NULL,
	online             INTEGER NOT NULL,
	target_temperature REAL NOT NULL,
	mode               TEXT NOT NULL,
	notifications      INTEGER NOT NULL,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
INSERT INTO devices_new (rowid, id, domain_id, customer_rid, name, model, serial_number, mac_address, online, target_temperature, mode,
	notifications, created_at, updated_at)
	SELECT d.rowid, ` + idKeySQL("d.id") + `, d.domain_id, c.rowid, d.name, d.model, d.serial_number, d.mac_address, d.online, d.target_temperature, d.mode,
	d.notifications, d.created_at, d.updated_at FROM devices d JOIN customers c ON c.id = d.customer_id ORDER BY d.rowid;
DROP TABLE devices;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
ALTER TABLE devices_new RENAME TO devices;
CREATE UNIQUE INDEX customers_domain_email ON customers (domain_id, email);
CREATE UNIQUE INDEX customers_domain_external_id ON customers (domain_id, external_id) WHERE external_id != '';
CREATE INDEX customers_domain_name ON customers (domain_id, last_key, first_key, id);
` + statusNameIndexSQLBefore23 + `;
CREATE UNIQUE INDEX devices_domain_serial ON devices (domain_id, serial_number);
CREATE INDEX devices_customer ON devices (customer_rid);
`,
	// 23: customers and devices name their domain by its number
	// (domains.number, see domainnumbers.go) instead of its 12-character id,
	// in their rows and in the indexes that lead with it, and devices keep
	// MAC addresses as their 6 bytes (see macKey): about 85 bytes a customer
	// less at a million (docs/BENCHMARKS.md, "Twentieth round").
	// Domains are numbered in the order of their ids, the order the labels
	// keep (order.go) until now, so no label moves and the search index
	// stays as it is. Both tables are copied into their new shape, as in
	// migration 22.
	`
ALTER TABLE domains ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
UPDATE domains SET number = ranked.n FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM domains) AS ranked WHERE domains.id = ranked.id;
CREATE UNIQUE INDEX domains_number ON domains (number);
CREATE TABLE customers_new (
	rid                  INTEGER PRIMARY KEY,
	id                   TEXT NOT NULL UNIQUE,
	domain_number        INTEGER NOT NULL REFERENCES domains(number),
	first_name           TEXT NOT NULL,
	last_name            TEXT NOT NULL,
	email                TEXT NOT NULL,
	phone                TEXT NOT NULL,
	status               TEXT NOT NULL,
	password_hash        TEXT NOT NULL,
	version              INTEGER NOT NULL,
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL,
	last_key             TEXT NOT NULL,
	first_key            TEXT NOT NULL,
	sort_seq             INTEGER NOT NULL UNIQUE, -- the customer_search rowid, see order.go
	must_change_password INTEGER NOT NULL DEFAULT 0,
	session_epoch        INTEGER NOT NULL DEFAULT 0,
	external_id          TEXT NOT NULL DEFAULT '',
	phone_region         TEXT NOT NULL DEFAULT ''
);
INSERT INTO customers_new (rid, id, domain_number, first_name, last_name, email, phone, status, password_hash, version, created_at, updated_at,
	last_key, first_key, sort_seq, must_change_password, session_epoch, external_id, phone_region)
	SELECT c.rid, c.id, dm.number, c.first_name, c.last_name, c.email, c.phone, c.status, c.password_hash, c.version, c.created_at, c.updated_at,
	c.last_key, c.first_key, c.sort_seq, c.must_change_password, c.session_epoch, c.external_id, c.phone_region
	FROM customers c JOIN domains dm ON dm.id = c.domain_id ORDER BY c.rid;
CREATE TABLE devices_new (
	id                 TEXT PRIMARY KEY,
	domain_number      INTEGER NOT NULL REFERENCES domains(number),
	customer_rid       INTEGER NOT NULL REFERENCES customers_new(rid),
	name               TEXT NOT NULL,
	model              TEXT NOT NULL,
	serial_number      TEXT NOT NULL,
	mac_address        TEXT NOT NULL,
	online             INTEGER NOT NULL,
	target_temperature REAL NOT NULL,
	mode               TEXT NOT NULL,
	notifications      INTEGER NOT NULL,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
INSERT INTO devices_new (rowid, id, domain_number, customer_rid, name, model, serial_number, mac_address, online, target_temperature, mode,
	notifications, created_at, updated_at)
	SELECT d.rowid, d.id, dm.number, d.customer_rid, d.name, d.model, d.serial_number, ` + macKeySQL("d.mac_address") + `, d.online, d.target_temperature, d.mode,
	d.notifications, d.created_at, d.updated_at FROM devices d JOIN domains dm ON dm.id = d.domain_id ORDER BY d.rowid;
DROP TABLE devices;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
ALTER TABLE devices_new RENAME TO devices;
CREATE UNIQUE INDEX customers_domain_email ON customers (domain_number, email);
CREATE UNIQUE INDEX customers_domain_external_id ON customers (domain_number, external_id) WHERE external_id != '';
CREATE INDEX customers_domain_name ON customers (domain_number, last_key, first_key, id);
CREATE INDEX customers_domain_status_name ON customers (domain_number, status, last_key, first_key, id) WHERE status != 'ACTIVE';
CREATE UNIQUE INDEX devices_domain_serial ON devices (domain_number, serial_number);
CREATE INDEX devices_customer ON devices (customer_rid);
`,
	// 24: the domain's emails are unique by their digests (see
	// emailDigest), kept beside them, and customers keep their status and
	// devices their mode as a number (see enumKey): about 32 bytes a
	// customer less at a million (docs/BENCHMARKS.md, "Twenty-first
	// round"). Both tables are copied into their new shape, as in migration
	// 23; the order labels and the search index stay as they are.
	`
CREATE TABLE customers_new (
	rid                  INTEGER PRIMARY KEY,
	id                   TEXT NOT NULL UNIQUE,
	domain_number        INTEGER NOT NULL REFERENCES domains(number),
	first_name           TEXT NOT NULL,
	last_name            TEXT NOT NULL,
	email                TEXT NOT NULL,
	email_digest         INTEGER NOT NULL,
	phone                TEXT NOT NULL,
	status               INTEGER NOT NULL,
	password_hash        TEXT NOT NULL,
	version              INTEGER NOT NULL,
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL,
	last_key             TEXT NOT NULL,
	first_key            TEXT NOT NULL,
	sort_seq             INTEGER NOT NULL UNIQUE, -- the customer_search rowid, see order.go
	must_change_password INTEGER NOT NULL DEFAULT 0,
	session_epoch        INTEGER NOT NULL DEFAULT 0,
	external_id          TEXT NOT NULL DEFAULT '',
	phone_region         TEXT NOT NULL DEFAULT ''
);
INSERT INTO customers_new (rid, id, domain_number, first_name, last_name, email, email_digest, phone, status, password_hash, version, created_at,
	updated_at, last_key, first_key, sort_seq, must_change_password, session_epoch, external_id, phone_region)
	SELECT rid, id, domain_number, first_name, last_name, email, email_digest(email), phone, ` + enumKeySQL("status", customerStatuses) + `,
	password_hash, version, created_at, updated_at, last_key, first_key, sort_seq, must_change_password, session_epoch, external_id, phone_region
	FROM customers ORDER BY rid;
CREATE TABLE devices_new (
	id                 TEXT PRIMARY KEY,
	domain_number      INTEGER NOT NULL REFERENCES domains(number),
	customer_rid       INTEGER NOT NULL REFERENCES customers_new(rid),
	name               TEXT NOT NULL,
	model              TEXT NOT NULL,
	serial_number      TEXT NOT NULL,
	mac_address        TEXT NOT NULL,
	online             INTEGER NOT NULL,
	target_temperature REAL NOT NULL,
	mode               INTEGER NOT NULL,
	notifications      INTEGER NOT NULL,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
INSERT INTO devices_new (rowid, id, domain_number, customer_rid, name, model, serial_number, mac_address, online, target_temperature, mode,
	notifications, created_at, updated_at)
	SELECT rowid, id, domain_number, customer_rid, name, model, serial_number, mac_address, online, target_temperature,
	` + enumKeySQL("mode", deviceModes) + `, notifications, created_at, updated_at FROM devices ORDER BY rowid;
DROP TABLE devices;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
ALTER TABLE devices_new RENAME TO devices;
CREATE UNIQUE INDEX customers_domain_email_digest ON customers (domain_number, email_digest);
CREATE UNIQUE INDEX customers_domain_external_id ON customers (domain_number, external_id) WHERE external_id != '';
CREATE INDEX customers_domain_name ON customers (domain_number, last_key, first_key, id);
CREATE INDEX customers_domain_status_name ON customers (domain_number, status, last_key, first_key, id) WHERE status != ` + activeStatus + `;
CREATE UNIQUE INDEX devices_domain_serial ON devices (domain_number, serial_number);
CREATE INDEX devices_customer ON devices (customer_rid);
`,
}

// migrate brings the database to the newest schema, then gives the pages
// the migrations freed (indexes dropped or made smaller) back to the file
// system, in a file with auto_vacuum (see Open).
func (s *Store) migrate(ctx context.Context) error {
	if err := s.migrateTo(ctx, len(migrations)); err != nil {
		return err
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// migrateTo applies the migrations up to version target (tests start
// databases at an older version this way).
func (s *Store) migrateTo(ctx context.Context, target int) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var applied int
	if err := s.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&applied); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if applied > len(migrations) {
		return fmt.Errorf("migrate: database is at version %d, newer than this binary (%d)", applied, len(migrations))
	}
	if 0 < applied && applied < target && !s.lockHeld && s.path != "" {
		// An upgrade changes the tables under whatever else has the file
		// open: a server of the release before, which holds the data
		// directory's lock while it serves, would then fail on every read
		// of a changed table (a tryout's export from a new binary upgraded
		// the store under a running server).
		unlock, err := LockDir(filepath.Dir(s.path))
		if err != nil {
			return fmt.Errorf("the store is at schema version %d and this binary's is %d; an upgrade needs the data directory to itself: "+
				"stop the server that holds it (a release before this one?) and start this release's server, which upgrades it: %w", applied, target, err)
		}
		defer unlock()
	}
	if 0 < applied && applied < target && s.beforeMigrations != nil {
		s.beforeMigrations(applied, target)
	}
	for v := applied + 1; v <= target; v++ {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
	}
	return nil
}

// idKeySQL is the SQL expression of idKey applied to column.
func idKeySQL(column string) string {
	return fmt.Sprintf(`CASE WHEN length(%[1]s) = 32 AND %[1]s NOT GLOB '*[^0-9a-f]*' THEN unhex(%[1]s) ELSE %[1]s END`, column)
}
