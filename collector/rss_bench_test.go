package collector

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// BenchmarkPeakRSS reads one day of 100,000 rows from the in-process fake
// API (5,000 label sets, pages of 1,000 rows) through the client into a
// snapshot, with the default bounds
// (--collector.top-resources=20, --collector.max-resources=50000), and
// reports the process's high-water mark of resident memory. Run it alone
// (-benchtime 1x, nothing else matched) so that the figure is that day's.
func BenchmarkPeakRSS(b *testing.B) {
	now := time.Date(2026, 11, 1, 23, 59, 59, 0, testhelp.HCM(b)) // the 1st: only today is read
	e := newFakeEnv(b, now, fptapitest.Config{RowsPerDay: 100_000, LabelSets: 5000, Seed: 42}, func(c *Config) {
		c.Logger = log.NewNopLogger()
		c.TopResources = DefaultTopResources
		c.MaxResources = DefaultMaxResources
	}, fptapi.WithPageSize(1000))
	for b.Loop() {
		require.NoError(b, e.r.Refresh(context.Background()))
	}
	b.ReportMetric(vmHWM(b)/(1<<20), "peak-rss-MiB")
}

// vmHWM is the process's peak resident set size in bytes.
func vmHWM(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			require.NoError(b, err)
			return kb * 1024
		}
	}
	b.Skip("no VmHWM in /proc/self/status")
	return 0
}
