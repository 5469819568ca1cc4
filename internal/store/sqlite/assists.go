package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
)

const assistColumns = `id, domain_id, customer_id, operator_id, reason, started_at, expires_at, state, ended_at, ended_by,
	ticket_hash, ticket_expires_at, ticket_used, customer_epoch, operator_epoch, mode, request_mode, request_state, requested_at,
	request_expires_at, answered_at`

func scanAssist(row interface{ Scan(...any) error }) (assist.Session, error) {
	var a assist.Session
	var started, expires, ended, ticketExpires, requested, requestExpires, answered int64
	err := row.Scan(&a.ID, &a.DomainID, &a.CustomerID, &a.OperatorID, &a.Reason, &started, &expires, &a.State, &ended, &a.EndedBy,
		&a.TicketHash, &ticketExpires, &a.TicketUsed, &a.CustomerEpoch, &a.OperatorEpoch, &a.Mode, &a.Request.Mode, &a.Request.State,
		&requested, &requestExpires, &answered)
	if err != nil {
		return assist.Session{}, mapErr(err)
	}
	a.StartedAt, a.ExpiresAt, a.EndedAt, a.TicketExpiresAt = fromMillis(started), fromMillis(expires), fromMillis(ended), fromMillis(ticketExpires)
	a.Request.At, a.Request.ExpiresAt, a.Request.AnsweredAt = fromMillis(requested), fromMillis(requestExpires), fromMillis(answered)
	return a, nil
}

// CreateAssist implements assist.Store.
func (s *Store) CreateAssist(ctx context.Context, a assist.Session, rec audit.Record, evs []events.Event) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO assists (`+assistColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.DomainID, a.CustomerID, a.OperatorID, a.Reason, millis(a.StartedAt), millis(a.ExpiresAt), a.State,
			millis(a.EndedAt), a.EndedBy, a.TicketHash, millis(a.TicketExpiresAt), a.TicketUsed, a.CustomerEpoch, a.OperatorEpoch,
			a.ModeNow(), a.Request.Mode, a.Request.State, millis(a.Request.At), millis(a.Request.ExpiresAt), millis(a.Request.AnsweredAt))
		if err != nil {
			return err
		}
		return writeRecords(ctx, tx, rec, evs...)
	})
	if err != nil {
		return fmt.Errorf("create assist: %w", mapErr(err))
	}
	return nil
}

// AssistByID implements assist.Store.
func (s *Store) AssistByID(ctx context.Context, id string) (assist.Session, error) {
	return s.assistWhere(ctx, `id = ?`, id)
}

// AssistsByIDs implements assist.Store.
func (s *Store) AssistsByIDs(ctx context.Context, ids []string) ([]assist.Session, error) {
	as, err := byIDs(ctx, s, `SELECT `+assistColumns+` FROM assists WHERE id`, ``, ids, scanAssist)
	if err != nil {
		return nil, fmt.Errorf("assists by id: %w", err)
	}
	return as, nil
}

// AssistByTicket implements assist.Store.
func (s *Store) AssistByTicket(ctx context.Context, ticketHash string) (assist.Session, error) {
	return s.assistWhere(ctx, `ticket_hash = ?`, ticketHash)
}

func (s *Store) assistWhere(ctx context.Context, where string, arg string) (assist.Session, error) {
	stmt, err := s.readStmt(ctx, `SELECT `+assistColumns+` FROM assists WHERE `+where)
	if err != nil {
		return assist.Session{}, fmt.Errorf("assist: %w", mapErr(err))
	}
	a, err := scanAssist(stmt.QueryRowContext(ctx, arg))
	if err != nil {
		return assist.Session{}, fmt.Errorf("assist: %w", err)
	}
	return a, nil
}

// UseTicket implements assist.Store.
func (s *Store) UseTicket(ctx context.Context, id string) error {
	res, err := s.write.ExecContext(ctx, `UPDATE assists SET ticket_used = 1 WHERE id = ? AND ticket_used = 0`, id)
	if err == nil {
		err = noneChanged(res, errStale)
	}
	if err != nil {
		return fmt.Errorf("use ticket: %w", mapErr(err))
	}
	return nil
}

// EndAssist implements assist.Store.
func (s *Store) EndAssist(ctx context.Context, id string, state assist.State, endedBy string, at time.Time, rec audit.Record, evs []events.Event) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE assists SET state = ?, ended_at = ?, ended_by = ? WHERE id = ? AND state IN ('ACTIVE', 'PENDING')`,
			state, millis(at), endedBy, id)
		if err != nil {
			return err
		}
		if err := noneChanged(res, errStale); err != nil {
			return err
		}
		return writeRecords(ctx, tx, rec, evs...)
	})
	if err != nil {
		return fmt.Errorf("end assist %s: %w", id, mapErr(err))
	}
	return nil
}

// UpdateAssist implements assist.Store: the change and its records in one
// transaction.
func (s *Store) UpdateAssist(ctx context.Context, a, was assist.Session, rec audit.Record, evs []events.Event) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE assists SET state = ?, mode = ?, expires_at = ?, ended_at = ?, ended_by = ?, request_mode = ?,
			request_state = ?, requested_at = ?, request_expires_at = ?, answered_at = ?
			WHERE id = ? AND state = ? AND mode = ? AND request_state = ?`,
			a.State, a.ModeNow(), millis(a.ExpiresAt), millis(a.EndedAt), a.EndedBy, a.Request.Mode, a.Request.State, millis(a.Request.At),
			millis(a.Request.ExpiresAt), millis(a.Request.AnsweredAt), a.ID, was.State, was.ModeNow(), was.Request.State)
		if err != nil {
			return err
		}
		if err := noneChanged(res, errStale); err != nil {
			return err
		}
		return writeRecords(ctx, tx, rec, evs...)
	})
	if err != nil {
		return fmt.Errorf("update assist %s: %w", a.ID, mapErr(err))
	}
	return nil
}

// SetAssistTicket implements assist.Store.
func (s *Store) SetAssistTicket(ctx context.Context, id, ticketHash string, expiresAt time.Time) error {
	res, err := s.write.ExecContext(ctx, `UPDATE assists SET ticket_hash = ?, ticket_expires_at = ?
		WHERE id = ? AND ticket_used = 0 AND state IN ('ACTIVE', 'PENDING')`, ticketHash, millis(expiresAt), id)
	if err == nil {
		err = noneChanged(res, errStale)
	}
	if err != nil {
		return fmt.Errorf("set assist ticket %s: %w", id, mapErr(err))
	}
	return nil
}

// PendingAssistRequests implements assist.Store.
func (s *Store) PendingAssistRequests(ctx context.Context, by time.Time) ([]assist.Session, error) {
	if by.IsZero() {
		return s.assists(ctx, `request_state = 'PENDING' AND state IN ('PENDING', 'ACTIVE') ORDER BY request_expires_at`)
	}
	return s.assists(ctx, `request_state = 'PENDING' AND state IN ('PENDING', 'ACTIVE') AND request_expires_at <= ? ORDER BY request_expires_at`, millis(by))
}

// AssistSessions implements assist.Store.
func (s *Store) AssistSessions(ctx context.Context, q assist.Query) ([]assist.Session, error) {
	where, args := `domain_id = ?`, []any{q.DomainID}
	if q.CustomerID != "" {
		where, args = where+` AND customer_id = ?`, append(args, q.CustomerID)
	}
	if q.State != "" {
		where, args = where+` AND state = ?`, append(args, q.State)
	}
	if q.Before != nil {
		where, args = where+` AND (started_at, id) < (?, ?)`, append(args, millis(q.Before.StartedAt), q.Before.ID)
	}
	return s.assists(ctx, where+` ORDER BY started_at DESC, id DESC LIMIT ?`, append(args, q.Limit)...)
}

// ActiveAssists implements assist.Store.
func (s *Store) ActiveAssists(ctx context.Context, f assist.ActiveFilter) ([]assist.Session, error) {
	where, args := `state IN ('ACTIVE', 'PENDING')`, []any{}
	if f.DomainID != "" {
		where, args = where+` AND domain_id = ?`, append(args, f.DomainID)
	}
	if f.OperatorID != "" {
		where, args = where+` AND operator_id = ?`, append(args, f.OperatorID)
	}
	if f.CustomerID != "" {
		where, args = where+` AND customer_id = ?`, append(args, f.CustomerID)
	}
	if f.EpochBefore > 0 {
		where, args = where+` AND customer_epoch < ?`, append(args, f.EpochBefore)
	}
	if f.OperatorEpochBefore > 0 {
		where, args = where+` AND operator_epoch < ?`, append(args, f.OperatorEpochBefore)
	}
	if !f.ExpiredAfter.IsZero() {
		where, args = where+` AND expires_at <= ?`, append(args, millis(f.ExpiredAfter))
	}
	return s.assists(ctx, where+` ORDER BY started_at`, args...)
}

func (s *Store) assists(ctx context.Context, where string, args ...any) ([]assist.Session, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+assistColumns+` FROM assists WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("assists: %w", mapErr(err))
	}
	defer rows.Close()
	var out []assist.Session
	for rows.Next() {
		a, err := scanAssist(rows)
		if err != nil {
			return nil, fmt.Errorf("assists: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("assists: %w", mapErr(err))
	}
	return out, nil
}
