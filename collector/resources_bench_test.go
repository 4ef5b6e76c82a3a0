package collector

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// resourceGen is genSource with resources: row i is resource i % resources.
type resourceGen struct {
	*genSource
	ids, names []string
}

func newResourceGen(rows, sets, resources int) *resourceGen {
	g := &resourceGen{genSource: newGenSource(rows, sets)}
	for i := range resources {
		g.ids = append(g.ids, fmt.Sprintf("6f1c2d3e-0000-4000-8000-%012d", i))
		g.names = append(g.names, fmt.Sprintf("vm-prod-hanoi-%06d", i))
	}
	return g
}

func (g *resourceGen) Bills(ctx context.Context, day time.Time, f fptapi.Filter, fn func([]fptapi.Bill) error) error {
	i := 0
	return g.genSource.Bills(ctx, day, f, func(page []fptapi.Bill) error {
		for j := range page {
			page[j].InfraID, page[j].Name = g.ids[i%len(g.ids)], g.names[i%len(g.names)]
			i++
		}
		return fn(page)
	})
}

// BenchmarkTopResources refreshes a day of 200,000 rows over 5,000 label
// sets and 50,000 resources (the default --collector.max-resources) with
// the per-resource ranking off (k=0) and at k=20 and k=1000, then scrapes
// the result. live-heap-MiB is the heap after a GC with the snapshot and
// the month cache held: its growth over k=0, divided by the resources,
// is what one resource costs.
func BenchmarkTopResources(b *testing.B) {
	const rows, sets, resources = 200000, 5000, 50000
	for _, k := range []int{0, 20, 1000} {
		src := newResourceGen(rows, sets, resources)
		e := newEnv(b, src, time.Date(2026, 11, 1, 12, 0, 0, 0, testhelp.HCM(b)), func(c *Config) {
			c.Logger = log.NewNopLogger()
			c.MaxSeries = sets
			c.TopResources = k
		})
		require.NoError(b, e.r.Refresh(context.Background()))
		b.Run(fmt.Sprintf("k=%d/refresh", k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				require.NoError(b, e.r.Refresh(context.Background()))
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MiB")
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run(fmt.Sprintf("k=%d/scrape", k), func(b *testing.B) {
			benchScrape(b, e.c, scrapeFormats[0].accept, scrapeFormats[0].want)
		})
		runtime.KeepAlive(e)
	}
}
