package collector

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
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
func benchEnv(t testing.TB, series int) *testEnv {
	sets := series / 8
	e := newEnv(t, newGenSource(sets, sets), time.Date(2026, 11, 1, 12, 0, 0, 0, testhelp.HCM(t)), func(c *Config) {
		c.MaxSeries = sets
		c.Logger = log.NewNopLogger()
	})
	require.NoError(t, e.r.Refresh(context.Background()))
	require.Len(t, e.r.state.Load().snap.metrics, series)
	return e
}

// floorCollector is the baseline of the scrape benchmarks: N plain const gauges, built
// once, sent as they are.
type floorCollector struct{ metrics []prometheus.Metric }

func (f *floorCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(f, ch) }
func (f *floorCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range f.metrics {
		ch <- m
	}
}

// floorOf rebuilds the snapshot's billing series as const gauges with the
// same names, labels and values, a label set's gauges together and the
// label sets in the arbitrary order of a map's iteration, as a collector
// that keeps its sums in a map sends them.
func floorOf(b *testing.B, e *testEnv) *floorCollector {
	var sets [][]prometheus.Metric // the gauges of each label set
	last := ""
	for _, m := range e.r.state.Load().snap.metrics {
		var d dto.Metric
		require.NoError(b, m.Write(&d))
		vals := make([]string, len(d.Label))
		for i, lp := range d.Label {
			vals[i] = lp.GetValue() // sorted, as billingLabels is
		}
		if key := strings.Join(vals, "\xff"); key != last || len(sets) == 0 {
			sets, last = append(sets, nil), key
		}
		g := prometheus.MustNewConstMetric(m.Desc(), prometheus.GaugeValue, d.GetGauge().GetValue(), vals...)
		sets[len(sets)-1] = append(sets[len(sets)-1], g)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(sets), func(i, j int) { sets[i], sets[j] = sets[j], sets[i] })
	f := &floorCollector{}
	for _, set := range sets {
		f.metrics = append(f.metrics, set...)
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

// scrapeFormats are the two answers a Prometheus server negotiates from
// this exporter (OpenMetrics is not enabled): the text format, which
// Prometheus gets by default, and protobuf, which it asks for first when
// native histograms are on. No Accept-Encoding: gzip would cost both sides
// the same and hide the difference.
var scrapeFormats = []struct {
	name, accept string
	want         expfmt.FormatType
}{
	{"text", "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", expfmt.TypeTextPlain},
	{"proto", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", expfmt.TypeProtoDelim},
}

func benchScrape(b *testing.B, c prometheus.Collector, accept string, want expfmt.FormatType) {
	reg := prometheus.NewRegistry()
	require.NoError(b, reg.Register(c))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	w := &discard{h: make(http.Header)}
	h.ServeHTTP(w, req) // warm up, and check what was negotiated
	require.Equal(b, want, expfmt.Format(w.h.Get("Content-Type")).FormatType(), w.h.Get("Content-Type"))
	w.n = 0
	cpu0, cpuOK := processCPU()
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	if cpu1, _ := processCPU(); cpuOK && cpu1 > cpu0 {
		// CPU time, which other load on a shared machine does not
		// inflate as it does wall time (10 ms resolution: run >= 1 s).
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
	b.ReportMetric(float64(w.n)/float64(b.N), "bytes/scrape")
}

// BenchmarkScrape serves N billing series through promhttp, from the
// Collector and from a floor: N const gauges with the same
// descriptors, label names, label values and values, registered alone in
// the same kind of registry and served by the same handler for the same
// request. The Collector also sends its 15 self and calendar samples, so
// the comparison is, if anything, unfair to it.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		e := benchEnv(b, n)
		floor := floorOf(b, e)
		for _, f := range scrapeFormats {
			b.Run(fmt.Sprintf("series=%d/%s/collector", n, f.name), func(b *testing.B) { benchScrape(b, e.c, f.accept, f.want) })
			b.Run(fmt.Sprintf("series=%d/%s/floor", n, f.name), func(b *testing.B) { benchScrape(b, floor, f.accept, f.want) })
		}
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
			e := newEnv(b, newGenSource(tc.rows, tc.sets), time.Date(2026, 11, 1, 12, 0, 0, 0, testhelp.HCM(b)), func(c *Config) {
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

// BenchmarkRefreshAPI is the whole refresh path: HTTP from the
// in-process fake, decoding in fptapi, aggregation and the snapshot. The
// fake generates and encodes every page in the same process, so under -cpu
// 1 its work shares the one core with the exporter's: the figures are
// conservative.
//
// Besides time and allocations it reports:
//   - rows/s: rows per second of wall time;
//   - rows/cpu-s: rows per second of CPU time the process used (user+sys,
//     from /proc/self/stat; absent elsewhere), which other load on a shared
//     machine does not inflate;
//   - peak-heap-MiB: the largest heap seen during the refreshes, see
//     heapSampler; each refresh runs while the previous snapshot is
//     still held, as it is in a running exporter;
//   - peak-live-MiB: the largest heap a GC cycle found live;
//   - alloc-B/row: bytes allocated per row, fake included;
//   - gcs/op and heap-samples/op, to show the peak is no accident of
//     sampling.
func BenchmarkRefreshAPI(b *testing.B) {
	for _, tc := range []struct{ rows, sets, size, maxSeries int }{
		{100000, 5000, 1000, 0},       // memory must not follow rows: same peak as a million
		{1000000, 5000, 1000, 0},      // the documented peak-heap figure
		{1000000, 5000, 100, 0},       // the same at the default --fpt.page-size: ten times the requests
		{1000000, 50000, 1000, 50000}, // memory follows label sets when all are served...
		{1000000, 50000, 1000, 0},     // ...and the default --collector.max-series bounds the snapshot
	} {
		maxSeries := cmp.Or(tc.maxSeries, DefaultMaxSeries)
		b.Run(fmt.Sprintf("rows=%d/sets=%d/size=%d/max-series=%d", tc.rows, tc.sets, tc.size, maxSeries), func(b *testing.B) {
			// The last second of the 1st: today is all there is to read,
			// and the fake has generated (almost) the whole day.
			now := time.Date(2026, 11, 1, 23, 59, 59, 0, testhelp.HCM(b))
			hs := newHeapSampler()
			e := newFakeEnv(b, now, fptapitest.Config{RowsPerDay: tc.rows, LabelSets: tc.sets, Seed: 1}, func(c *Config) {
				c.Logger = log.NewNopLogger()
				c.MaxSeries = maxSeries
				c.Source = hs.wrap(c.Source)
			}, fptapi.WithPageSize(tc.size))
			// As in a running exporter, every measured refresh builds its
			// snapshot while the previous one is still being served.
			require.NoError(b, e.r.Refresh(context.Background()))
			runtime.GC()
			allocs0, gcs0 := readCounter(metricAllocBytes), readCounter(metricGCCycles)
			cpu0, cpuOK := processCPU()
			hs.start(time.Millisecond)
			b.ReportAllocs()
			for b.Loop() {
				if err := e.r.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			peak := hs.stop()
			cpu1, _ := processCPU()
			st := e.r.state.Load()
			require.Equal(b, tc.rows, st.rows)
			require.Equal(b, min(tc.sets, maxSeries), st.snap.labelSets)
			rows := float64(tc.rows) * float64(b.N)
			b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
			if cpuOK && cpu1 > cpu0 {
				b.ReportMetric(rows/(cpu1-cpu0).Seconds(), "rows/cpu-s")
			}
			b.ReportMetric(float64(peak.objects)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peak.live)/(1<<20), "peak-live-MiB")
			b.ReportMetric(float64(readCounter(metricAllocBytes)-allocs0)/rows, "alloc-B/row")
			b.ReportMetric(float64(readCounter(metricGCCycles)-gcs0)/float64(b.N), "gcs/op")
			b.ReportMetric(float64(peak.samples)/float64(b.N), "heap-samples/op")
		})
	}
}

const (
	// Bytes of heap objects, live or dead but not yet swept: the heap's
	// real footprint at that instant, an upper bound of the live heap.
	metricHeapObjects = "/memory/classes/heap/objects:bytes"
	// The heap marked live by the last GC cycle.
	metricHeapLive   = "/gc/heap/live:bytes"
	metricAllocBytes = "/gc/heap/allocs:bytes"
	metricGCCycles   = "/gc/cycles/total:gc-cycles"
)

func readCounter(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapSampler tracks the largest heap seen during a refresh. It samples in
// two ways so that a short peak is not missed: synchronously each time a
// page reaches the aggregator (the moment a response body, its decoded rows
// and the aggregate are all alive at once), and from a goroutine on a short
// ticker in between (which also sees the client and the fake mid-page).
type heapSampler struct {
	mu      sync.Mutex
	buf     []metrics.Sample
	peak    heapPeak
	started bool
	done    chan struct{}
	exited  chan struct{}
}

type heapPeak struct {
	objects, live uint64
	samples       int
}

func newHeapSampler() *heapSampler {
	return &heapSampler{buf: []metrics.Sample{{Name: metricHeapObjects}, {Name: metricHeapLive}}}
}

func (h *heapSampler) sample() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.started {
		return // setup, not the measured refreshes
	}
	metrics.Read(h.buf)
	h.peak.objects = max(h.peak.objects, h.buf[0].Value.Uint64())
	h.peak.live = max(h.peak.live, h.buf[1].Value.Uint64())
	h.peak.samples++
}

// start begins sampling, in the background every interval too.
func (h *heapSampler) start(interval time.Duration) {
	h.mu.Lock()
	h.started = true
	h.mu.Unlock()
	h.done, h.exited = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(h.exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			h.sample()
			select {
			case <-h.done:
				return
			case <-t.C:
			}
		}
	}()
}

// stop ends sampling and returns the peaks.
func (h *heapSampler) stop() heapPeak {
	close(h.done)
	<-h.exited
	h.sample()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.started = false
	return h.peak
}

// wrap returns src sampling the heap on every page it delivers.
func (h *heapSampler) wrap(src BillSource) BillSource { return sampledSource{src, h} }

type sampledSource struct {
	BillSource
	h *heapSampler
}

func (s sampledSource) Bills(ctx context.Context, day time.Time, f fptapi.Filter, fn func([]fptapi.Bill) error) error {
	return s.BillSource.Bills(ctx, day, f, func(page []fptapi.Bill) error {
		s.h.sample()
		return fn(page)
	})
}

// processCPU returns the CPU time (user+sys, all threads) the process has
// used, from /proc/self/stat; ok is false where that file does not exist.
func processCPU() (d time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15, in clock ticks of
	// 1/100 s (USER_HZ, fixed for the user ABI).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}
