package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/iotconsole/bff/internal/operators"
)

// FindOperators implements operators.Store.
func (s *Store) FindOperators(ctx context.Context, q operators.Query) ([]operators.Operator, error) {
	where, args := []string{"domain_id = ?", "email > ?"}, []any{q.DomainID, q.AfterEmail}
	if q.Text != "" {
		where, args = append(where, "(instr(lower(name), ?) > 0 OR instr(email, ?) > 0)"), append(args, q.Text, q.Text)
	}
	if q.Role != "" {
		where, args = append(where, "role = ?"), append(args, q.Role)
	}
	if q.Status != "" {
		where, args = append(where, "status = ?"), append(args, q.Status)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+operatorColumns+` FROM operators WHERE `+strings.Join(where, " AND ")+
		` ORDER BY email LIMIT ?`, append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("find operators: %w", mapErr(err))
	}
	defer rows.Close()
	var out []operators.Operator
	for rows.Next() {
		o, err := scanOperator(rows)
		if err != nil {
			return nil, fmt.Errorf("find operators: %w", err)
		}
		out = append(out, o)
	}
	return out, mapErr(rows.Err())
}

// OperatorBySetupTicket implements operators.Store.
func (s *Store) OperatorBySetupTicket(ctx context.Context, ticketHash string) (operators.Operator, error) {
	return s.operatorWhere(ctx, "setup_ticket_hash = ? AND setup_ticket_hash != ''", ticketHash)
}

// CountOperators implements operators.Store.
func (s *Store) CountOperators(ctx context.Context, domainID string, role operators.Role, status operators.Status) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM operators WHERE domain_id = ? AND role = ? AND status = ?`, domainID, role, status).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count operators: %w", mapErr(err))
	}
	return n, nil
}

// UpdateOperator implements operators.Store: one transaction holds the
// change, its audit record and its events, and for u.KeepAnAdmin the count
// of the domain's other active ADMINs it is decided on.
func (s *Store) UpdateOperator(ctx context.Context, u operators.Update) (operators.Operator, error) {
	sets, args := []string{"version = version + 1", "updated_at = ?"}, []any{millis(u.At)}
	set := func(column string, value any) { sets, args = append(sets, column+" = ?"), append(args, value) }
	if u.Name != nil {
		set("name", *u.Name)
	}
	if u.Role != nil {
		set("role", *u.Role)
	}
	if u.Status != nil {
		set("status", *u.Status)
	}
	if u.PasswordHash != nil {
		set("password_hash", *u.PasswordHash)
	}
	if u.SetupTicketHash != nil {
		set("setup_ticket_hash", *u.SetupTicketHash)
	}
	if u.SetupExpiresAt != nil {
		set("setup_expires_at", millis(*u.SetupExpiresAt))
	}
	if u.EndSessions {
		sets = append(sets, "session_epoch = session_epoch + 1")
	}
	if u.TOTPSecret != nil {
		set("totp_secret", *u.TOTPSecret)
	}
	if u.TOTPPendingSecret != nil {
		set("totp_pending_secret", *u.TOTPPendingSecret)
	}
	if u.TOTPLastStep != nil {
		set("totp_last_step", *u.TOTPLastStep)
	}
	if u.RecoveryCodeHashes != nil {
		set("recovery_code_hashes", strings.Join(*u.RecoveryCodeHashes, " "))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE operators SET `+strings.Join(sets, ", ")+` WHERE id = ? AND version = ?`, append(args, u.ID, u.Version)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return missed(ctx, tx, "operators", u.ID)
		}
		if u.KeepAnAdmin { // decided in the write transaction (one writer at a time), undone with it
			var others int64
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM operators WHERE domain_id = (SELECT domain_id FROM operators WHERE id = ?)
				AND id != ? AND role = ? AND status = ?`, u.ID, u.ID, operators.RoleAdmin, operators.StatusActive).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return operators.ErrLastAdmin
			}
		}
		return writeRecords(ctx, tx, u.Audit, u.Events...)
	})
	if err != nil {
		return operators.Operator{}, fmt.Errorf("update operator %s: %w", u.ID, mapErr(err))
	}
	return s.OperatorByID(ctx, u.ID)
}
