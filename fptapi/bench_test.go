package fptapi_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
)

// BenchmarkBillsPaging pages one day of 100,000 rows from the fake through
// the client (fake and client share the CPU budget; run with -cpu 1 for the
// issue's one-core figure).
func BenchmarkBillsPaging(b *testing.B) {
	const rowsPerDay = 100000
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			srv := fptapitest.NewServer(fptapitest.Config{
				Token:      testToken,
				RowsPerDay: rowsPerDay,
				Seed:       1,
				Location:   time.UTC,
				Now:        func() time.Time { return time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC) },
			})
			defer srv.Close()
			c := newClient(b, srv.URL, fptapi.WithPageSize(size), fptapi.WithRateLimit(math.Inf(1), 1))
			ctx := context.Background()
			var total int
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				n := 0
				err := c.Bills(ctx, testDay, fptapi.Filter{}, func(p []fptapi.Bill) error {
					n += len(p)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if n != rowsPerDay {
					b.Fatalf("got %d rows, want %d", n, rowsPerDay)
				}
				total += n
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/row")
		})
	}
}
