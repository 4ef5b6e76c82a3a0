package collector

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// benchAccounts refreshes n named readers of sets label sets each and
// serves them through Accounts; it returns the samples a scrape sends.
func benchAccounts(b *testing.B, n, sets int) (*Accounts, int) {
	var list []Account
	for i := range n {
		name := fmt.Sprintf("account-%02d", i)
		e := newEnv(b, newGenSource(sets, sets), time.Date(2026, 11, 1, 12, 0, 0, 0, testhelp.HCM(b)), func(c *Config) {
			c.Account, c.MaxSeries, c.Logger = name, sets, log.NewNopLogger()
		})
		require.NoError(b, e.r.Refresh(context.Background()))
		list = append(list, Account{Name: name, Source: e.r, Requests: NewAccountAPIRequestCounter(name)})
	}
	a := NewAccounts(list)
	reg := prometheus.NewRegistry()
	require.NoError(b, reg.Register(a))
	mfs, err := reg.Gather()
	require.NoError(b, err)
	samples := 0
	for _, mf := range mfs {
		samples += len(mf.GetMetric())
	}
	return a, samples
}

func scrapeHandler(b *testing.B, c prometheus.Collector, accept string) func() {
	reg := prometheus.NewRegistry()
	require.NoError(b, reg.Register(c))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	w := &discard{h: make(http.Header)}
	return func() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkAccountsScrape compares, in one run, the scrape cost per sample
// of 10 accounts of 1,000 label sets each with that of one account of
// 1,000, and of one account of 10,000 (the same series as the ten): each
// iteration scrapes all three in turn, so that load on the machine weighs
// on them alike. ratio-1k is ten accounts' cost per sample over one
// account of 1,000's; ratio-10k over one account of 10,000's, which sets
// the registry's own growth with the series apart from the accounts'.
func BenchmarkAccountsScrape(b *testing.B) {
	one, nOne := benchAccounts(b, 1, 1000)
	big, nBig := benchAccounts(b, 1, 10000)
	ten, nTen := benchAccounts(b, 10, 1000)
	for _, f := range scrapeFormats {
		b.Run(f.name, func(b *testing.B) {
			scrapes := []func(){scrapeHandler(b, one, f.accept), scrapeHandler(b, big, f.accept), scrapeHandler(b, ten, f.accept)}
			var spent [3]time.Duration
			for _, s := range scrapes {
				s()
			}
			b.ReportAllocs()
			for b.Loop() {
				for i, s := range scrapes {
					t0 := time.Now()
					s()
					spent[i] += time.Since(t0)
				}
			}
			per := func(i, samples int) float64 { return float64(spent[i].Nanoseconds()) / float64(b.N) / float64(samples) }
			perOne, perBig, perTen := per(0, nOne), per(1, nBig), per(2, nTen)
			b.ReportMetric(perOne, "ns/sample-1x1k")
			b.ReportMetric(perBig, "ns/sample-1x10k")
			b.ReportMetric(perTen, "ns/sample-10x1k")
			b.ReportMetric(perTen/perOne, "ratio-1k")
			b.ReportMetric(perTen/perBig, "ratio-10k")
		})
	}
}

// BenchmarkAccountsMemory is the heap the snapshots of 1 and of 10 accounts
// of 1,000 label sets hold, per sample served: linear in the total series
// when the two figures are alike.
func BenchmarkAccountsMemory(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			var perSample float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				a, samples := benchAccounts(b, n, 1000)
				runtime.GC()
				runtime.ReadMemStats(&after)
				perSample = float64(after.HeapAlloc-before.HeapAlloc) / float64(samples)
				runtime.KeepAlive(a)
			}
			b.ReportMetric(perSample, "heap-B/sample")
		})
	}
}

// BenchmarkAccountsSlowNeighbour reads today for 10 accounts at once, each
// from a fake API of its own through a client of its own, and reports the
// mean duration of the refresh of the 9 healthy ones, with every account
// healthy and with account 0's API answering each request after a Delay
// (an hour: it never answers during the run). Each iteration does both, in
// turn; ratio is the slow case's over the healthy case's, 1 when one
// account's slowness costs the others nothing.
func BenchmarkAccountsSlowNeighbour(b *testing.B) {
	var spent [2]time.Duration
	reads := 0
	for b.Loop() {
		for i, slow := range []bool{false, true} {
			for _, d := range readAccountsOnce(b, 10, slow) {
				spent[i] += d
			}
		}
		reads += 9
	}
	healthy, withSlow := float64(spent[0].Microseconds())/float64(reads), float64(spent[1].Microseconds())/float64(reads)
	b.ReportMetric(healthy/1000, "ms/refresh-all-healthy")
	b.ReportMetric(withSlow/1000, "ms/refresh-one-slow")
	b.ReportMetric(withSlow/healthy, "ratio")
}

// readAccountsOnce runs n readers until each healthy one has read today,
// and returns those reads' durations. The clock is the real one moved to
// noon of a 1st, so that today is all there is to read.
func readAccountsOnce(b *testing.B, n int, slow bool) []time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var fakes []*fptapitest.Server
	defer func() {
		cancel()
		wg.Wait()
		for _, f := range fakes {
			f.Close()
		}
	}()
	loc := testhelp.HCM(b)
	wall := time.Now()
	shift := time.Date(2026, 11, 1, 12, 0, 0, 0, loc).Sub(wall)
	now := func() time.Time { return time.Now().Add(shift) }
	refreshers := make([]*Refresher, n)
	for i := range n {
		srv := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 1000, LabelSets: 500, Seed: int64(i), Now: now, Location: loc})
		fakes = append(fakes, srv)
		if slow && i == 0 {
			srv.InjectFault(fptapitest.Fault{Delay: time.Hour})
		}
		client, err := fptapi.NewClient(fptapitest.DefaultToken, fptapi.WithBaseURL(srv.URL), fptapi.WithRateLimit(1e6, 1000))
		require.NoError(b, err)
		refreshers[i], err = NewRefresher(Config{Account: fmt.Sprintf("account-%02d", i), Source: client, Location: loc,
			Now: now, PreviousMonth: false, Logger: log.NewNopLogger()})
		require.NoError(b, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			refreshers[i].Run(ctx)
		}()
	}
	var out []time.Duration
	for _, r := range refreshers[1:] {
		for !r.Snapshot().attempted {
			time.Sleep(time.Millisecond)
		}
		out = append(out, r.Snapshot().duration)
	}
	return out
}
