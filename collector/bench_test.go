package collector

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
)

// genSource serves rows rows a day spread over sets label sets, in pages of
// 100 through one reused buffer, without holding the day in memory.
type genSource struct {
	rows, sets int
	keys       []fptapi.Bill
}

func newGenSource(rows, sets int) *genSource {
	g := &genSource{rows: rows, sets: sets}
	for i := range sets {
		g.keys = append(g.keys, fptapi.Bill{
			VPCID:            fmt.Sprintf("0b4f9a3c-%08d", i%97),
			VPCName:          fmt.Sprintf("VPC Hà Nội %d", i%97),
			Service:          []string{"instance", "storage", "ip", "load-balancer", "backup", "gpu", "s3"}[i%7],
			BillingGroupName: fmt.Sprintf("Nhóm %d", i%13),
			Tag:              fmt.Sprintf("team=%d", i),
		})
	}
	return g
}

func (g *genSource) Bills(_ context.Context, _ time.Time, _ fptapi.Filter, fn func([]fptapi.Bill) error) error {
	buf := make([]fptapi.Bill, 0, 100)
	for i := range g.rows {
		b := g.keys[i%g.sets]
		b.TotalPrice, b.VCPU, b.RAM, b.Disk = 1234.5, 2, 4, 50
		b.CPUQuantity, b.RAMQuantity, b.DiskQuantity = 2, 4, 50
		buf = append(buf, b)
		if len(buf) == cap(buf) {
			if err := fn(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		return fn(buf)
	}
	return nil
}

// benchEnv refreshes once on a generated day with series/8 label sets, so
// that the billing metrics total series samples (8 metrics per label set).
func benchEnv(b *testing.B, series int) *testEnv {
	sets := series / 8
	e := newEnv(b, newGenSource(sets, sets), time.Date(2026, 11, 1, 12, 0, 0, 0, hcm(b)), func(c *Config) {
		c.MaxSeries = sets
		c.Logger = log.NewNopLogger()
	})
	require.NoError(b, e.r.Refresh(context.Background()))
	require.Len(b, e.r.state.Load().snap.metrics, series)
	return e
}

// floorCollector is the baseline of issue 5: N plain const gauges, built
// once, sent as they are.
type floorCollector struct{ metrics []prometheus.Metric }

func (f *floorCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(f, ch) }
func (f *floorCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range f.metrics {
		ch <- m
	}
}

// floorOf rebuilds the snapshot's billing series as const gauges with the
// same names, labels and values.
func floorOf(b *testing.B, e *testEnv) *floorCollector {
	f := &floorCollector{}
	for _, m := range e.r.state.Load().snap.metrics {
		var d dto.Metric
		require.NoError(b, m.Write(&d))
		vals := make([]string, len(d.Label))
		for i, lp := range d.Label {
			vals[i] = lp.GetValue() // sorted, as billingLabels is
		}
		f.metrics = append(f.metrics, prometheus.MustNewConstMetric(m.Desc(), prometheus.GaugeValue, d.GetGauge().GetValue(), vals...))
	}
	return f
}

// discard is a ResponseWriter that counts and drops the body.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func benchScrape(b *testing.B, c prometheus.Collector) {
	reg := prometheus.NewRegistry()
	require.NoError(b, reg.Register(c))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	w := &discard{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(w.n)/float64(b.N), "bytes/scrape")
}

// BenchmarkScrape serves N billing series through promhttp, from the
// Collector and from the floor of N const gauges with the same labels.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		e := benchEnv(b, n)
		b.Run(fmt.Sprintf("series=%d/collector", n), func(b *testing.B) { benchScrape(b, e.c) })
		b.Run(fmt.Sprintf("series=%d/floor", n), func(b *testing.B) { benchScrape(b, floorOf(b, e)) })
	}
}

// BenchmarkCollect measures Collect alone: the channel sends of a scrape.
func BenchmarkCollect(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		e := benchEnv(b, n)
		for name, c := range map[string]prometheus.Collector{"collector": e.c, "floor": floorOf(b, e)} {
			b.Run(fmt.Sprintf("series=%d/%s", n, name), func(b *testing.B) {
				ch := make(chan prometheus.Metric, 1024)
				done := make(chan struct{})
				go func() {
					for range ch {
					}
					close(done)
				}()
				b.ReportAllocs()
				for b.Loop() {
					c.Collect(ch)
				}
				close(ch)
				<-done
			})
		}
	}
}

// BenchmarkRefresh aggregates one day of generated rows (no HTTP, no
// decoding: see fptapi's benchmarks for those) into a snapshot.
func BenchmarkRefresh(b *testing.B) {
	for _, tc := range []struct{ rows, sets int }{{100000, 5000}, {1000000, 5000}, {100000, 50000}} {
		b.Run(fmt.Sprintf("rows=%d/sets=%d", tc.rows, tc.sets), func(b *testing.B) {
			e := newEnv(b, newGenSource(tc.rows, tc.sets), time.Date(2026, 11, 1, 12, 0, 0, 0, hcm(b)), func(c *Config) {
				c.Logger = log.NewNopLogger()
				c.MaxSeries = tc.sets
			})
			b.ReportAllocs()
			for b.Loop() {
				if err := e.r.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tc.rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkRefreshAPI is the whole refresh path of issue 5: HTTP from the
// in-process fake, decoding in fptapi, aggregation and the snapshot. It
// reports rows per second and the peak live heap seen during the refreshes
// (sampled every millisecond; the fake's own garbage included).
func BenchmarkRefreshAPI(b *testing.B) {
	for _, rows := range []int{100000, 1000000} {
		b.Run(fmt.Sprintf("rows=%d/sets=5000", rows), func(b *testing.B) {
			// The last second of the 1st: today is all there is to read,
			// and the fake has generated (almost) the whole day.
			now := time.Date(2026, 11, 1, 23, 59, 59, 0, hcm(b))
			e := newFakeEnv(b, now, fptapitest.Config{RowsPerDay: rows, LabelSets: 5000, Seed: 1}, func(c *Config) {
				c.Logger = log.NewNopLogger()
			}, fptapi.WithPageSize(1000))
			runtime.GC()
			stop := sampleHeap()
			b.ReportAllocs()
			for b.Loop() {
				if err := e.r.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(stop())/(1<<20), "peak-heap-MiB")
			got := e.r.state.Load().rows
			b.ReportMetric(float64(got)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// sampleHeap samples the live heap until the returned func is called,
// which returns the largest sample.
func sampleHeap() func() uint64 {
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var max uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > max {
				max = v
			}
			select {
			case <-done:
				peak <- max
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-peak }
}
