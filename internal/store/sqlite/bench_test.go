package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// BenchmarkImportCustomers measures bulk loading in batches of 2,000.
func BenchmarkImportCustomers(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	d := storetest.NewDomain(&testing.T{}, s)
	g := demo.NewGenerator(d, "$argon2id$x", 0, time.Now())
	batch := make([]customers.Customer, 2000)
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			batch[i], _ = g.Next()
		}
		if err := s.ImportCustomers(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "customers/s")
}
