package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store"
)

// CreateSession implements sessions.Store.
func (s *Store) CreateSession(ctx context.Context, sess sessions.Session) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO sessions (token_hash, kind, domain_id, subject_id, actor_id, created_at,
		expires_at, revoked_at, revoke_reason, epoch, scope, assist_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sess.TokenHash, sess.Kind, sess.DomainID, sess.SubjectID, sess.ActorID, millis(sess.CreatedAt), millis(sess.ExpiresAt),
		millis(sess.RevokedAt), sess.RevokeReason, sess.Epoch, sess.Scope, sess.AssistID)
	if err != nil {
		return fmt.Errorf("create session: %w", mapErr(err))
	}
	return nil
}

// SessionByHash implements sessions.Store.
func (s *Store) SessionByHash(ctx context.Context, tokenHash string) (sessions.Session, error) {
	var sess sessions.Session
	var created, expires, revoked int64
	err := s.queryRow(ctx, `SELECT token_hash, kind, domain_id, subject_id, actor_id, created_at, expires_at,
		revoked_at, revoke_reason, epoch, scope, assist_id FROM sessions WHERE token_hash = ?`, []any{tokenHash},
		&sess.TokenHash, &sess.Kind, &sess.DomainID, &sess.SubjectID, &sess.ActorID, &created, &expires, &revoked, &sess.RevokeReason,
		&sess.Epoch, &sess.Scope, &sess.AssistID)
	if err != nil {
		return sessions.Session{}, fmt.Errorf("session: %w", mapErr(err))
	}
	sess.CreatedAt, sess.ExpiresAt, sess.RevokedAt = fromMillis(created), fromMillis(expires), fromMillis(revoked)
	return sess, nil
}

// SessionAndOperator implements sessions.Store: one statement (a request's
// authentication read the session and the operator in two: about 5 % of a
// cached search's CPU), and only the columns it needs (this driver's cost
// grows with each column a query returns).
func (s *Store) SessionAndOperator(ctx context.Context, tokenHash string) (sessions.Session, sessions.OperatorStanding, error) {
	var sess sessions.Session
	var op sessions.OperatorStanding
	var created, expires, revoked int64
	err := s.queryRow(ctx, `SELECT s.token_hash, s.kind, s.domain_id, s.subject_id, s.actor_id, s.created_at, s.expires_at,
		s.revoked_at, s.revoke_reason, s.epoch, s.scope, s.assist_id,
		IFNULL(o.id, ''), IFNULL(o.name, ''), IFNULL(o.role, ''), IFNULL(o.status, ''), IFNULL(o.session_epoch, 0),
		IFNULL(d.require_operator_mfa, 0)
		FROM sessions s LEFT JOIN operators o ON s.kind = 'operator' AND o.id = s.subject_id
		LEFT JOIN domains d ON d.id = o.domain_id WHERE s.token_hash = ?`, []any{tokenHash},
		&sess.TokenHash, &sess.Kind, &sess.DomainID, &sess.SubjectID, &sess.ActorID, &created, &expires, &revoked, &sess.RevokeReason,
		&sess.Epoch, &sess.Scope, &sess.AssistID, &op.ID, &op.Name, &op.Role, &op.Status, &op.SessionEpoch, &op.DomainRequiresMFA)
	if err != nil {
		return sessions.Session{}, sessions.OperatorStanding{}, fmt.Errorf("session: %w", mapErr(err))
	}
	sess.CreatedAt, sess.ExpiresAt, sess.RevokedAt = fromMillis(created), fromMillis(expires), fromMillis(revoked)
	return sess, op, nil
}

// OperatorSignedInUntil implements sessions.Store (sessions_subject finds
// the operator's few sessions).
func (s *Store) OperatorSignedInUntil(ctx context.Context, operatorID string, since, now time.Time) (time.Time, error) {
	var until int64
	err := s.queryRow(ctx, `SELECT IFNULL(MAX(expires_at), 0) FROM sessions WHERE subject_id = ? AND kind = 'operator' AND scope NOT IN (?, ?)
		AND revoked_at = 0 AND created_at <= ? AND expires_at > ?`,
		[]any{operatorID, sessions.ScopeDevice, sessions.ScopeMFAChallenge, millis(since), millis(now)}, &until)
	if err != nil {
		return time.Time{}, fmt.Errorf("operator's sessions: %w", mapErr(err))
	}
	if until == 0 {
		return time.Time{}, nil
	}
	return fromMillis(until), nil
}

// RevokeSession implements sessions.Store.
func (s *Store) RevokeSession(ctx context.Context, tokenHash, reason string, at time.Time) error {
	_, err := s.write.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE token_hash = ? AND revoked_at = 0`,
		millis(at), reason, tokenHash)
	if err != nil {
		return fmt.Errorf("revoke session: %w", mapErr(err))
	}
	return nil
}

// DeleteExpiredSessions implements sessions.Store.
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, millis(before))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", mapErr(err))
	}
	return n, nil
}

// AppendAudit implements audit.Store.
func (s *Store) AppendAudit(ctx context.Context, r audit.Record) error {
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return writeRecords(ctx, tx, r) }); err != nil {
		return fmt.Errorf("append audit: %w", mapErr(err))
	}
	return nil
}

// writeRecords writes an audit record (if it has an id) and events in tx.
func writeRecords(ctx context.Context, tx *sql.Tx, r audit.Record, evs ...events.Event) error {
	if r.ID != "" {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit (id, domain_id, at, actor_type, actor_id, acting_for, action,
			target_type, target_id, reason, request_id, outcome, assist_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.DomainID, millis(r.At), r.ActorType, r.ActorID, r.ActingFor, r.Action, r.TargetType, r.TargetID, r.Reason,
			r.RequestID, r.Outcome, r.AssistID, r.Details)
		if err != nil {
			return err
		}
	}
	for _, e := range evs {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO events (id, domain_id, type, customer_id, actor_id, data, occurred_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, e.ID, e.DomainID, e.Type, e.CustomerID, e.ActorID, string(data), millis(e.OccurredAt))
		if err != nil {
			return err
		}
	}
	return nil
}

// FindAudit implements audit.Store.
func (s *Store) FindAudit(ctx context.Context, q audit.Query) ([]audit.Record, error) {
	where, args := `domain_id = ?`, []any{q.DomainID}
	if q.CustomerID != "" {
		cond, condArgs := auditFilterSQL(store.AboutCustomer(q.CustomerID))
		where, args = where+` AND `+cond, append(args, condArgs...)
	}
	if q.ActorID != "" {
		where, args = where+` AND actor_id = ?`, append(args, q.ActorID)
	}
	if q.Action != "" {
		where, args = where+` AND action = ?`, append(args, q.Action)
	}
	if !q.Since.IsZero() {
		where, args = where+` AND at >= ?`, append(args, millis(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = where+` AND at < ?`, append(args, millis(q.Until))
	}
	if q.Before != nil {
		where, args = where+` AND (at, id) < (?, ?)`, append(args, millis(q.Before.At), q.Before.ID)
	}
	return s.auditWhere(ctx, where+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, q.Limit)...)
}

// auditFilterSQL returns f as an SQL condition on the audit table and its
// arguments.
func auditFilterSQL(f store.AuditFilter) (string, []any) {
	var anyOf []string
	var args []any
	for _, clause := range f {
		var allOf []string
		for _, eq := range clause {
			allOf = append(allOf, auditColumn(eq.Field)+" = ?")
			args = append(args, eq.Value)
		}
		anyOf = append(anyOf, "("+strings.Join(allOf, " AND ")+")")
	}
	return "(" + strings.Join(anyOf, " OR ") + ")", args
}

// auditColumn returns the column of an audit field. It panics for a field
// this store does not know, which the contract suite would show first.
func auditColumn(f store.AuditField) string {
	switch f {
	case store.AuditTargetType:
		return "target_type"
	case store.AuditTargetID:
		return "target_id"
	case store.AuditActingFor:
		return "acting_for"
	case store.AuditActorType:
		return "actor_type"
	case store.AuditActorID:
		return "actor_id"
	}
	panic(fmt.Sprintf("sqlite: no column for audit field %d", f))
}

// ofAssists is the condition of records made during an assistance. SQLite
// uses the partial index audit_assist only when the query repeats the
// index's own condition, a non-empty assist_id: without it every read scans
// the whole audit table.
const ofAssists = `assist_id != '' AND assist_id`

// AuditRecordsOfAssists implements assist.Store.
func (s *Store) AuditRecordsOfAssists(ctx context.Context, ids []string) (map[string][]audit.Record, error) {
	out := map[string][]audit.Record{}
	err := inChunks(ids, asText, func(in string, args []any) error {
		// Each session's records are all in its chunk, so oldest first overall
		// is oldest first within each.
		records, err := s.auditWhere(ctx, ofAssists+` IN `+in+` ORDER BY at, id`, args...)
		for _, r := range records {
			out[r.AssistID] = append(out[r.AssistID], r)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("records of %d assists: %w", len(ids), err)
	}
	return out, nil
}

func (s *Store) auditWhere(ctx context.Context, where string, args ...any) ([]audit.Record, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, domain_id, at, actor_type, actor_id, acting_for, action, target_type,
		target_id, reason, request_id, outcome, assist_id, details FROM audit WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("audit records: %w", mapErr(err))
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var r audit.Record
		var at int64
		if err := rows.Scan(&r.ID, &r.DomainID, &at, &r.ActorType, &r.ActorID, &r.ActingFor, &r.Action, &r.TargetType,
			&r.TargetID, &r.Reason, &r.RequestID, &r.Outcome, &r.AssistID, &r.Details); err != nil {
			return nil, fmt.Errorf("audit records: %w", mapErr(err))
		}
		r.At = fromMillis(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit records: %w", mapErr(err))
	}
	return out, nil
}

// AppendEvent implements events.Store.
func (s *Store) AppendEvent(ctx context.Context, e events.Event) error {
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return writeRecords(ctx, tx, audit.Record{}, e) }); err != nil {
		return fmt.Errorf("append event: %w", mapErr(err))
	}
	return nil
}

// RecentEvents returns the newest limit events of a domain, newest first.
// No service reads events back (they reach services through TailEvents):
// tests read what a change wrote with it (storetest.RecentEvents).
func (s *Store) RecentEvents(ctx context.Context, domainID string, limit int) ([]events.Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, domain_id, type, customer_id, actor_id, data, occurred_at
		FROM events WHERE domain_id = ? ORDER BY seq DESC LIMIT ?`, domainID, limit)
	if err != nil {
		return nil, fmt.Errorf("recent events: %w", mapErr(err))
	}
	defer rows.Close()
	var out []events.Event
	for rows.Next() {
		var e events.Event
		var data string
		var at int64
		if err := rows.Scan(&e.ID, &e.DomainID, &e.Type, &e.CustomerID, &e.ActorID, &data, &at); err != nil {
			return nil, fmt.Errorf("recent events: %w", mapErr(err))
		}
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			return nil, fmt.Errorf("recent events: %w", err)
		}
		e.OccurredAt = fromMillis(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent events: %w", mapErr(err))
	}
	return out, nil
}

// tailInterval is how often TailEvents looks for new events.
const tailInterval = 100 * time.Millisecond

// TailEvents implements events.Store by polling the events table: this store
// serves one process, so the delay only adds to the 100 ms poll. Positions
// are event sequence numbers; nothing is ever dropped, so there is no gap.
func (s *Store) TailEvents(ctx context.Context, after string, handle func(events.Event)) error {
	last, err := strconv.ParseInt(after, 10, 64)
	if after == "" || err != nil {
		if err := s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&last); err != nil {
			return fmt.Errorf("tail events: %w", mapErr(err))
		}
	}
	ticker := time.NewTicker(tailInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
		rows, err := s.read.QueryContext(ctx, `SELECT seq, id, domain_id, type, customer_id, actor_id, data, occurred_at
			FROM events WHERE seq > ? ORDER BY seq LIMIT 500`, last)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("tail events: %w", mapErr(err))
		}
		var batch []events.Event
		for rows.Next() {
			var e events.Event
			var data string
			var at int64
			if err := rows.Scan(&last, &e.ID, &e.DomainID, &e.Type, &e.CustomerID, &e.ActorID, &data, &at); err != nil {
				rows.Close()
				return fmt.Errorf("tail events: %w", mapErr(err))
			}
			_ = json.Unmarshal([]byte(data), &e.Data) // written by writeRecords as a JSON object
			e.OccurredAt, e.Position = fromMillis(at), strconv.FormatInt(last, 10)
			batch = append(batch, e)
		}
		rows.Close()
		for _, e := range batch {
			handle(e)
		}
	}
}

// SaveTailPosition implements events.Store.
func (s *Store) SaveTailPosition(ctx context.Context, instance, position string) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO tail_positions (instance, position, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (instance) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
		instance, position, millis(time.Now()))
	if err != nil {
		return fmt.Errorf("save tail position: %w", mapErr(err))
	}
	return nil
}

// TailPosition implements events.Store.
func (s *Store) TailPosition(ctx context.Context, instance string) (string, error) {
	var position string
	err := mapErr(s.read.QueryRowContext(ctx, `SELECT position FROM tail_positions WHERE instance = ?`, instance).Scan(&position))
	if errors.Is(err, apperr.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("tail position: %w", err)
	}
	return position, nil
}
