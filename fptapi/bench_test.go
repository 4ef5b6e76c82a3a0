package fptapi_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
)

// BenchmarkBillsPaging pages one day from the fake through the client over
// HTTP on loopback. The fake's generation and encoding run in the same
// process, so its figures count the fake against the client; run it with
// -cpu 1 for one core.
func BenchmarkBillsPaging(b *testing.B) {
	for _, bc := range []struct{ rows, size int }{
		{100000, fptapi.DefaultPageSize},
		{10000, fptapi.DefaultPageSize}, // allocs/row must not grow with rows
		{100000, 1000},
	} {
		rowsPerDay, size := bc.rows, bc.size
		b.Run(fmt.Sprintf("rows=%d/size=%d", rowsPerDay, size), func(b *testing.B) {
			srv := fptapitest.NewServer(fptapitest.Config{
				Token:      testToken,
				RowsPerDay: rowsPerDay,
				LabelSets:  2000, // fixed, so that distinct values do not grow with rows
				Seed:       1,
				Location:   time.UTC,
				Now:        func() time.Time { return time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC) },
			})
			defer srv.Close()
			c := newClient(b, srv.URL, fptapi.WithPageSize(size), fptapi.WithRateLimit(math.Inf(1), 1))
			ctx := context.Background()
			var total int
			var before, after runtime.MemStats
			b.ReportAllocs()
			runtime.ReadMemStats(&before)
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
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(total), "allocs/row")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/row")
		})
	}
}
