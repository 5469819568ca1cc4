package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/faults"
	"github.com/iotconsole/bff/internal/operators"
)

// CreateDomain implements domains.Store.
func (s *Store) CreateDomain(ctx context.Context, d domains.Domain) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO domains (id, slug, name, default_region, sign_up_policy, created_at,
		require_operator_mfa, assist_ttl_seconds, password_min_length, assist_consent, number)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(number), 0) + 1 FROM domains))`,
		d.ID, d.Slug, d.Name, d.DefaultRegion, d.SignUpPolicy, millis(d.CreatedAt), d.RequireOperatorMFA, int64(d.AssistTTL/time.Second), d.PasswordMinLength,
		d.AssistConsent.OrDefault())
	if err != nil {
		return fmt.Errorf("create domain %s: %w", d.Slug, mapErr(err))
	}
	return nil
}

// UpdateDomain implements domains.SettingsStore: the settings and their
// audit record in one transaction.
func (s *Store) UpdateDomain(ctx context.Context, d domains.Domain, rec audit.Record, evs ...events.Event) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE domains SET name = ?, default_region = ?, sign_up_policy = ?, require_operator_mfa = ?,
			assist_ttl_seconds = ?, password_min_length = ?, assist_consent = ? WHERE id = ?`,
			d.Name, d.DefaultRegion, d.SignUpPolicy, d.RequireOperatorMFA, int64(d.AssistTTL/time.Second), d.PasswordMinLength, d.AssistConsent.OrDefault(), d.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = sql.ErrNoRows
			}
			return err
		}
		return writeRecords(ctx, tx, rec, evs...)
	})
	if err != nil {
		return fmt.Errorf("update domain %s: %w", d.ID, mapErr(err))
	}
	return nil
}

// DomainBySlug implements domains.Store.
func (s *Store) DomainBySlug(ctx context.Context, slug string) (domains.Domain, error) {
	return s.domainWhere(ctx, "slug = ?", slug)
}

// DomainsByName implements domains.Store: every domain's name is keyed
// here (domains.NameKey is no SQL function; the table holds one row a
// company).
func (s *Store) DomainsByName(ctx context.Context, name string) ([]domains.Domain, error) {
	key := domains.NameKey(name)
	return s.domainsWhere(ctx, func(stored string) bool { return domains.NameKey(stored) == key }, `SELECT id, name FROM domains`)
}

// domainsWhere returns the domains query selects (their id and name) whose
// name keep accepts.
func (s *Store) domainsWhere(ctx context.Context, keep func(name string) bool, query string, args ...any) ([]domains.Domain, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("domains: %w", mapErr(err))
	}
	var ids []string
	for rows.Next() {
		var id, stored string
		if err := rows.Scan(&id, &stored); err != nil {
			rows.Close()
			return nil, fmt.Errorf("domains: %w", mapErr(err))
		}
		if keep(stored) {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("domains: %w", mapErr(err))
	}
	found := make([]domains.Domain, 0, len(ids))
	for _, id := range ids {
		d, err := s.DomainByID(ctx, id)
		if err != nil {
			return nil, err
		}
		found = append(found, d)
	}
	return found, nil
}

// DomainByID implements domains.Store.
func (s *Store) DomainByID(ctx context.Context, id string) (domains.Domain, error) {
	return s.domainWhere(ctx, "id = ?", id)
}

func (s *Store) domainWhere(ctx context.Context, where string, arg string) (domains.Domain, error) {
	var d domains.Domain
	var created, assistSeconds int64
	err := s.queryRow(ctx, `SELECT id, slug, name, default_region, sign_up_policy, created_at, require_operator_mfa, assist_ttl_seconds,
		password_min_length, assist_consent FROM domains WHERE `+where, []any{arg},
		&d.ID, &d.Slug, &d.Name, &d.DefaultRegion, &d.SignUpPolicy, &created, &d.RequireOperatorMFA, &assistSeconds, &d.PasswordMinLength, &d.AssistConsent)
	d.AssistTTL = time.Duration(assistSeconds) * time.Second
	if err != nil {
		return domains.Domain{}, fmt.Errorf("domain %s: %w", arg, mapErr(err))
	}
	d.CreatedAt = fromMillis(created)
	return d, nil
}

// CreateOperator implements operators.Store.
func (s *Store) CreateOperator(ctx context.Context, o operators.Operator) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO operators (id, domain_id, name, email, role, status, password_hash, created_at, updated_at,
		version, session_epoch, setup_ticket_hash, setup_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.DomainID, o.Name, o.Email, o.Role, o.Status, o.PasswordHash, millis(o.CreatedAt), millis(o.UpdatedAt),
		o.Version, o.SessionEpoch, o.SetupTicketHash, millis(o.SetupExpiresAt))
	if err != nil {
		return fmt.Errorf("create operator: %w", mapErr(err))
	}
	return nil
}

// OperatorByEmail implements operators.Store.
func (s *Store) OperatorByEmail(ctx context.Context, domainID, email string) (operators.Operator, error) {
	return s.operatorWhere(ctx, "domain_id = ? AND email = ?", domainID, email)
}

// OperatorByID implements operators.Store.
func (s *Store) OperatorByID(ctx context.Context, id string) (operators.Operator, error) {
	return s.operatorWhere(ctx, "id = ?", id)
}

// OperatorsByIDs implements operators.Store.
func (s *Store) OperatorsByIDs(ctx context.Context, ids []string) ([]operators.Operator, error) {
	ops, err := byIDs(ctx, s, `SELECT `+operatorColumns+` FROM operators WHERE id`, ``, ids, scanOperator)
	if err != nil {
		return nil, fmt.Errorf("operators by id: %w", err)
	}
	return ops, nil
}

const operatorColumns = `id, domain_id, name, email, role, status, password_hash, created_at, updated_at,
	version, session_epoch, setup_ticket_hash, setup_expires_at, totp_secret, totp_pending_secret, totp_last_step, recovery_code_hashes`

// scanOperator reads operatorColumns.
func scanOperator(row interface{ Scan(...any) error }) (operators.Operator, error) {
	var o operators.Operator
	var created, updated, setupExpires int64
	var recovery string
	if err := row.Scan(&o.ID, &o.DomainID, &o.Name, &o.Email, &o.Role, &o.Status, &o.PasswordHash, &created, &updated,
		&o.Version, &o.SessionEpoch, &o.SetupTicketHash, &setupExpires, &o.TOTPSecret, &o.TOTPPendingSecret, &o.TOTPLastStep, &recovery); err != nil {
		return operators.Operator{}, mapErr(err)
	}
	if recovery != "" {
		o.RecoveryCodeHashes = strings.Fields(recovery)
	}
	o.CreatedAt, o.UpdatedAt = fromMillis(created), fromMillis(updated)
	if setupExpires != 0 {
		o.SetupExpiresAt = fromMillis(setupExpires)
	}
	return o, nil
}

func (s *Store) operatorWhere(ctx context.Context, where string, args ...any) (operators.Operator, error) {
	stmt, err := s.readStmt(ctx, `SELECT `+operatorColumns+` FROM operators WHERE `+where)
	if err != nil {
		return operators.Operator{}, fmt.Errorf("operator: %w", mapErr(err))
	}
	o, err := scanOperator(stmt.QueryRowContext(ctx, args...))
	if err != nil {
		return operators.Operator{}, fmt.Errorf("operator: %w", err)
	}
	return o, nil
}

// CreateCustomer implements customers.Store: the customer and its audit
// record in one transaction.
func (s *Store) CreateCustomer(ctx context.Context, c customers.Customer, rec audit.Record) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		number, err := domainNumbers{}.of(ctx, tx, c.DomainID)
		if err != nil {
			return err
		}
		if err := insertCustomer(ctx, tx, c, number, allocateLabel); err != nil {
			return err
		}
		if err := bumpSearchVersion(ctx, tx, c.DomainID); err != nil {
			return err
		}
		if err := countVocabulary(ctx, tx, c.DomainID, c.FirstName, c.LastName, 1); err != nil {
			return err
		}
		return writeRecords(ctx, tx, rec)
	})
	if err != nil {
		return fmt.Errorf("create customer: %w", mapErr(err))
	}
	return nil
}

// customerInsert writes customers' rows, the values customerRow gives.
var customerInsert = rowInsert{
	into: `INSERT INTO customers (rid, id, domain_number, first_name, last_name, email, email_digest, phone, phone_region, status,
	password_hash, version, created_at, updated_at, last_key, first_key, sort_seq, must_change_password, session_epoch, external_id)`,
	row:   "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	width: 20,
}

// customerRow returns the values of c's row for customerInsert: under rid
// (nil for the next one SQLite gives), in the domain numbered domain, with
// its sort keys (customers.SortKeys) and its order label.
func customerRow(c customers.Customer, rid any, domain int64, lastKey, firstKey string, label int64) []any {
	return []any{rid, idKey(c.ID), domain, c.FirstName, c.LastName, c.Email, emailDigest(c.Email), c.Phone, c.PhoneRegion,
		enumKey(c.Status, customerStatuses), hashKey(c.PasswordHash), c.Version, millis(c.CreatedAt), millis(c.UpdatedAt),
		lastKey, firstKey, label, c.MustChangePassword, c.SessionEpoch, c.ExternalID}
}

// insertCustomer writes c under a new order label, from allocateLabel, or
// from orderedLabel in a transaction that found the search index not
// deferred (an import's batch asks once, not once a customer: 0.7 s of CPU
// in 100,000 customers added to a million, docs/BENCHMARKS.md, "Bulk
// import"); and its search row. The caller counts its names in the
// vocabulary.
func insertCustomer(ctx context.Context, tx writer, c customers.Customer, domain int64, label func(context.Context, writer, orderKey) (int64, error)) error {
	lastKey, firstKey := customers.SortKeys(c)
	at, err := label(ctx, tx, orderKey{domain, lastKey, firstKey, c.ID})
	if err != nil {
		return err
	}
	_, err = writeCustomer(ctx, tx, c, domain, lastKey, firstKey, at, true)
	return err
}

// writeCustomer writes c, of the domain numbered domain, with its sort keys
// (customers.SortKeys) under label, and its search row when index is true,
// and returns its rid.
func writeCustomer(ctx context.Context, tx writer, c customers.Customer, domain int64, lastKey, firstKey string, label int64, index bool) (int64, error) {
	res, err := customerInsert.write(ctx, tx, customerRow(c, nil, domain, lastKey, firstKey, label))
	if err != nil {
		return 0, err
	}
	rid, err := res.LastInsertId()
	if err != nil || !index {
		return rid, err
	}
	return rid, indexCustomer(ctx, tx, label, c.SearchTokens)
}

// customerColumns are read by scanCustomer, with the alias c for customers.
const customerColumns = `c.id, dm.id, c.first_name, c.last_name, c.email, c.phone, c.phone_region, c.status, c.password_hash,
	c.version, c.created_at, c.updated_at, c.last_key, c.first_key, c.must_change_password, c.session_epoch, c.external_id`

// hitColumns are customerColumns for a search's hits (scanCustomer reads
// them too), without the password hash, which no page shows, and without
// the domain, the one searched (hits), which a join would look up for
// every hit.
const hitColumns = `c.id, '', c.first_name, c.last_name, c.email, c.phone, c.phone_region, c.status, '',
	c.version, c.created_at, c.updated_at, c.last_key, c.first_key, c.must_change_password, c.session_epoch, c.external_id`

// scanCustomer reads customerColumns: a customer and its position in the
// search order (in the non-exact tier) from the stored sort keys.
func scanCustomer(row interface{ Scan(...any) error }) (customers.Customer, customers.Cursor, error) {
	var c customers.Customer
	var cur customers.Cursor
	var created, updated int64
	err := row.Scan(idScan(&c.ID), &c.DomainID, &c.FirstName, &c.LastName, &c.Email, &c.Phone, &c.PhoneRegion, enumScan(&c.Status, customerStatuses), hashScan(&c.PasswordHash),
		&c.Version, &created, &updated, &cur.LastKey, &cur.FirstKey, &c.MustChangePassword, &c.SessionEpoch, &c.ExternalID)
	if err != nil {
		return customers.Customer{}, customers.Cursor{}, mapErr(err)
	}
	c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(updated)
	cur.ID = c.ID
	return c, cur, nil
}

// CustomerByID implements customers.Store.
func (s *Store) CustomerByID(ctx context.Context, id string) (customers.Customer, error) {
	return s.customerWhere(ctx, `c.id = ?`, idKey(id))
}

// CustomersByIDs implements customers.Store.
func (s *Store) CustomersByIDs(ctx context.Context, ids []string) ([]customers.Customer, error) {
	cs, err := byStoredIDs(ctx, s, `SELECT `+customerColumns+` FROM `+customersWithDomains+` WHERE c.id`, ids,
		func(row interface{ Scan(...any) error }) (customers.Customer, error) {
			c, _, err := scanCustomer(row)
			return c, err
		})
	if err != nil {
		return nil, fmt.Errorf("customers by id: %w", err)
	}
	return cs, nil
}

// CustomerByEmail implements customers.Store.
func (s *Store) CustomerByEmail(ctx context.Context, domainID, email string) (customers.Customer, error) {
	return s.customerWhere(ctx, `dm.id = ? AND `+emailIs, domainID, emailDigest(email), email)
}

func (s *Store) customerWhere(ctx context.Context, where string, args ...any) (customers.Customer, error) {
	stmt, err := s.readStmt(ctx, `SELECT `+customerColumns+` FROM `+customersWithDomains+` WHERE `+where)
	if err != nil {
		return customers.Customer{}, fmt.Errorf("customer: %w", mapErr(err))
	}
	c, _, err := scanCustomer(stmt.QueryRowContext(ctx, args...))
	if err != nil {
		return customers.Customer{}, fmt.Errorf("customer: %w", err)
	}
	return c, nil
}

// UpdateCustomer implements customers.Store: one transaction holds the
// change, its audit record and its events.
func (s *Store) UpdateCustomer(ctx context.Context, u customers.Update) (customers.Customer, error) {
	sets := []string{"version = version + 1", "updated_at = ?"}
	args := []any{millis(u.At)}
	if u.PasswordHash != nil {
		sets, args = append(sets, "password_hash = ?"), append(args, hashKey(*u.PasswordHash))
	}
	if u.Status != nil {
		sets, args = append(sets, "status = ?"), append(args, enumKey(*u.Status, customerStatuses))
	}
	if u.MustChangePassword != nil {
		sets, args = append(sets, "must_change_password = ?"), append(args, *u.MustChangePassword)
	}
	if u.EndSessions {
		sets = append(sets, "session_epoch = session_epoch + 1")
	}
	if u.ExternalID != nil {
		sets, args = append(sets, "external_id = ?"), append(args, *u.ExternalID)
	}
	profile, profileArgs := profileSets(u)
	sets, args = append(sets, profile...), append(args, profileArgs...)
	args = append(args, idKey(u.ID), u.Version)
	renamed := u.FirstName != nil && u.LastName != nil
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if renamed {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM customers WHERE id = ? AND version = ?`, idKey(u.ID), u.Version).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return missed(ctx, tx, "customers", idKey(u.ID))
			}
			if err := uncountCustomer(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE customers SET `+strings.Join(sets, ", ")+` WHERE id = ? AND version = ?`, args...)
		if err != nil {
			return emailTaken(u, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return missed(ctx, tx, "customers", idKey(u.ID))
		}
		if err := bumpSearchVersionOf(ctx, tx, u.ID); err != nil {
			return err
		}
		if renamed {
			var domainID string
			if err := tx.QueryRowContext(ctx, `SELECT dm.id FROM `+customersWithDomains+` WHERE c.id = ?`, idKey(u.ID)).Scan(&domainID); err != nil {
				return err
			}
			if err := countVocabulary(ctx, tx, domainID, *u.FirstName, *u.LastName, 1); err != nil {
				return err
			}
		}
		if err := reindexCustomer(ctx, tx, u); err != nil {
			return err
		}
		if err := writeRecords(ctx, tx, u.Audit, u.Events...); err != nil {
			return err
		}
		faults.Crash(faults.AfterCustomerChange)
		return nil
	})
	if err != nil {
		return customers.Customer{}, fmt.Errorf("update customer %s: %w", u.ID, mapErr(err))
	}
	return s.CustomerByID(ctx, u.ID)
}

// CountCustomers implements customers.Store.
func (s *Store) CountCustomers(ctx context.Context, domainID string) (int64, error) {
	var n int64
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM customers WHERE domain_number = `+domainNumberSQL, domainID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count customers: %w", mapErr(err))
	}
	return n, nil
}
