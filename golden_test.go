package main

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
)

var update = flag.Bool("update", false, "rewrite testdata/demo.prom from the current code")

// TestDemoGolden holds the demo's exposition, at a fixed clock, to
// testdata/demo.prom: every metric name, label, help text and type the
// exporter serves is in that file, so a change to the metric contract shows
// in review as a diff of it. After an intended change, regenerate it with
//
//	go test -run TestDemoGolden -update .
func TestDemoGolden(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	// Mid-afternoon mid-month: today is partial and fourteen days are closed.
	now := time.Date(2026, time.November, 15, 14, 30, 0, 0, loc)
	clock := func() time.Time { return now }

	fakeCfg := demoAPIConfig(loc)
	fakeCfg.Now = clock
	fake := fptapitest.NewServer(fakeCfg)
	t.Cleanup(fake.Close)

	requests := collector.NewAPIRequestCounter()
	client, err := fptapi.NewClient(fptapitest.DefaultToken,
		fptapi.WithBaseURL(fake.URL),
		fptapi.WithPageSize(100),             // --fpt.page-size's default: it sets the request count
		fptapi.WithRateLimit(math.Inf(1), 1), // as in demo mode
		fptapi.WithObserver(requests.Observe),
	)
	require.NoError(t, err)
	refresher, err := collector.NewRefresher(collector.Config{
		Source:        client,
		Location:      loc,
		Now:           clock,
		TopResources:  collector.DefaultTopResources, // --collector.top-resources' default
		PreviousMonth: true,                          // --collector.previous-month's default
		Budgets: collector.Budgets{
			Daily:      5e6,
			Monthly:    150e6,
			GroupDaily: map[string]float64{fake.BillingGroups()[0].Name: 1e6},
		},
	})
	require.NoError(t, err)
	require.NoError(t, refresher.Refresh(t.Context()))

	// The exporter's collector alone: the Go runtime, process and build
	// metrics vary from run to run and are not this project's contract.
	registry := prometheus.NewRegistry()
	registry.MustRegister(collector.New(refresher, requests))
	families, err := registry.Gather()
	require.NoError(t, err)
	// promtool check metrics' rules (base units, suffixes, help), in-process.
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	require.NoError(t, err)
	assert.Empty(t, problems, "the exposition lints clean")
	var got bytes.Buffer
	for _, mf := range families {
		_, err := expfmt.MetricFamilyToText(&got, mf)
		require.NoError(t, err)
	}

	path := filepath.Join("testdata", "demo.prom")
	if *update {
		require.NoError(t, os.WriteFile(path, got.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestDemoGolden -update . to create it")
	assert.Equal(t, string(want), got.String(),
		"the exposition differs from %s; if the change is intended, run go test -run TestDemoGolden -update .", path)
}
