package mongo

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/iotconsole/bff/internal/apperr"
)

// retryablePool stands in for the driver's unexported "connection pool was
// cleared" error, the one driver.RetryablePoolError.
type retryablePool struct{}

func (retryablePool) Error() string {
	return "connection pool for 127.0.0.1:1 was cleared because another operation failed with: EOF"
}
func (retryablePool) Retryable() bool { return true }

func TestMapErr(t *testing.T) {
	other := errors.New("cannot decode")
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"no document", fmt.Errorf("find: %w", mongo.ErrNoDocuments), apperr.ErrNotFound},
		{"duplicate key", mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000, Message: "E11000"}}}, apperr.ErrConflict},
		{"stale conditional write", errStale, apperr.ErrConflict},
		{"no server to select", topology.ServerSelectionError{Wrapped: errors.New("connection refused")}, apperr.ErrUnavailable},
		{"no answer in time", fmt.Errorf("find: %w", context.DeadlineExceeded), apperr.ErrUnavailable},
		{"pool cleared", fmt.Errorf("insert: %w", retryablePool{}), apperr.ErrUnavailable},
		{"anything else", other, other},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapErr(tt.err)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("mapErr(nil) = %v", got)
				}
				return
			}
			if !errors.Is(got, tt.want) {
				t.Fatalf("mapErr(%v) = %v, want %v", tt.err, got, tt.want)
			}
			if got2 := mapErr(got); !errors.Is(got2, tt.want) {
				t.Fatalf("mapErr twice = %v, want %v", got2, tt.want)
			}
		})
	}
}
