package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/dashboards"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// backfillMonth is a closed month with 31 days: two months before the
// current one has 31 days at most half of the time, so it is looked for.
func backfillMonth(t *testing.T, loc *time.Location) time.Time {
	t.Helper()
	m := startOfMonth(time.Now().In(loc)).AddDate(0, -2, 0)
	for m.AddDate(0, 1, -1).Day() != 31 {
		m = m.AddDate(0, -1, 0)
	}
	return m
}

// runBackfillCmd runs the backfill command against the fake and returns
// the exit code and stderr.
func runBackfillCmd(t *testing.T, fake *fptapitest.Server, args ...string) (int, string) {
	t.Helper()
	return runBackfillTo(t, fake, io.Discard, args...)
}

// runBackfillTo is runBackfillCmd with the command's standard output.
func runBackfillTo(t *testing.T, fake *fptapitest.Server, stdout io.Writer, args ...string) (int, string) {
	t.Helper()
	t.Setenv(tokenEnv, fptapitest.DefaultToken)
	var stderr bytes.Buffer
	all := append([]string{commandBackfill, "--fpt.api-url=" + fake.URL, "--fpt.rate-limit=1000"}, args...)
	code := run(context.Background(), all, stdout, &stderr)
	return code, stderr.String()
}

// sample is one backfilled sample.
type sample struct {
	key seriesKey
	ts  int64
}

// expectedSums computes, from the fake's own rows, the day's cost and the
// month-to-date of every label set for each day from from to to, keyed by
// the day's last second.
func expectedSums(t *testing.T, fake *fptapitest.Server, from, to time.Time) (cost, mtd map[sample]float64) {
	t.Helper()
	cost, mtd = map[sample]float64{}, map[sample]float64{}
	running := map[seriesKey]float64{}
	for d := startOfMonth(from); !d.After(to); d = nextDay(d) {
		if d.Day() == 1 {
			running = map[seriesKey]float64{}
		}
		ts := nextDay(d).Unix() - 1
		day := map[seriesKey]float64{}
		require.NoError(t, fake.EachBill(d.Format(time.DateOnly), fptapi.Filter{}, func(b *fptapi.Bill) bool {
			k := seriesKey{b.BillingGroupName, b.Service, b.Tag, b.VPCID, b.VPCName}
			day[k] += b.TotalPrice
			running[k] += b.TotalPrice
			return true
		}))
		if d.Before(from) {
			continue
		}
		for k, v := range day {
			cost[sample{k, ts}] = v
		}
		for k, v := range running {
			mtd[sample{k, ts}] = v
		}
	}
	require.NotEmpty(t, cost)
	return cost, mtd
}

// parseBackfill parses the file with the Prometheus text parser (which
// reads OpenMetrics gauges too: "# EOF" is a comment to it) and checks the
// extra labels on every series.
func parseBackfill(t *testing.T, path string, extra map[string]string) map[string]map[sample]float64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(raw), "\n# EOF\n"), "the file ends with # EOF")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	require.NoError(t, err)
	out := map[string]map[sample]float64{}
	for name, fam := range families {
		assert.Equal(t, dto.MetricType_GAUGE, fam.GetType(), name)
		assert.NotEmpty(t, fam.GetHelp(), name)
		out[name] = map[sample]float64{}
		for _, m := range fam.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			for n, v := range extra {
				assert.Equal(t, v, labels[n], "label %s of %s", n, name)
			}
			k := seriesKey{labels["billing_group"], labels["service"], labels["tag"], labels["vpc_id"], labels["vpc_name"]}
			// The text parser calls the timestamp milliseconds; it is the
			// OpenMetrics seconds as written.
			s := sample{k, m.GetTimestampMs()}
			_, dup := out[name][s]
			require.False(t, dup, "%s: sample %v twice", name, s)
			out[name][s] = m.GetGauge().GetValue()
		}
	}
	return out
}

func assertSums(t *testing.T, what string, want, got map[sample]float64) {
	t.Helper()
	assert.Len(t, got, len(want), "%s: samples", what)
	for s, v := range want {
		g, ok := got[s]
		if assert.True(t, ok, "%s: no sample for %v", what, s) {
			assert.InDelta(t, v, g, 0.01, "%s %v", what, s)
		}
	}
}

// TestBackfillExact writes the second half of a past month and holds every
// sample to the fake's own sums, month-to-date included (which needs the
// days before --from); a second run resumes from the store with no API
// request and writes the same file.
func TestBackfillExact(t *testing.T) {
	loc := mustHCM(t)
	fake := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 300, LabelSets: 40, Location: loc})
	t.Cleanup(fake.Close)
	month := backfillMonth(t, loc)
	from, to := month.AddDate(0, 0, 14), month.AddDate(0, 1, -1)
	dir := t.TempDir()
	out := filepath.Join(dir, "backfill.om")
	storeDir := filepath.Join(dir, "store")
	args := []string{"--from=" + from.Format(time.DateOnly), "--to=" + to.Format(time.DateOnly), "--output=" + out,
		"--storage.path=" + storeDir, "--label=job=fptcloud", "--label=instance=exporter:10117"}

	code, stderr := runBackfillCmd(t, fake, args...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `days_from_store=0 days_from_api=31`)
	assert.Positive(t, fake.Requests(fptapi.EndpointBills))

	extra := map[string]string{"job": "fptcloud", "instance": "exporter:10117"}
	got := parseBackfill(t, out, extra)
	wantCost, wantMTD := expectedSums(t, fake, from, to)
	assertSums(t, "cost", wantCost, got["fptcloud_billing_cost_vnd"])
	assertSums(t, "month to date", wantMTD, got["fptcloud_billing_month_to_date_cost_vnd"])
	lastSecond := nextDay(to).Unix() - 1
	assert.InDelta(t, 31*86400, got["fptcloud_billing_month_length_seconds"][sample{ts: lastSecond}], 0)
	assert.InDelta(t, float64(31*86400-1)/(31*86400), got["fptcloud_billing_month_elapsed_ratio"][sample{ts: lastSecond}], 1e-12)
	first, err := os.ReadFile(out)
	require.NoError(t, err)

	fake.ResetRequests()
	code, stderr = runBackfillCmd(t, fake, args...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 0, fake.Requests(fptapi.EndpointBills), "every day comes from the store")
	assert.Contains(t, stderr, `days_from_store=31 days_from_api=0`)
	second, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(first), string(second), "same days, same file")
}

// TestBackfillResumesMissingDays: a day missing from the store, or stored
// but not final, is read again; the others are not.
func TestBackfillResumesMissingDays(t *testing.T) {
	loc := mustHCM(t)
	fake := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 250, LabelSets: 10, Location: loc})
	t.Cleanup(fake.Close)
	month := backfillMonth(t, loc)
	storeDir := t.TempDir()
	args := []string{"--from=" + month.Format(time.DateOnly), "--to=" + month.AddDate(0, 0, 9).Format(time.DateOnly),
		"--output=" + filepath.Join(t.TempDir(), "out.om"), "--storage.path=" + storeDir}
	code, stderr := runBackfillCmd(t, fake, args...)
	require.Equal(t, 0, code, stderr)
	perDay := fake.Requests(fptapi.EndpointBills) / 10
	require.Positive(t, perDay)

	require.NoError(t, os.Remove(filepath.Join(storeDir, month.AddDate(0, 0, 3).Format(time.DateOnly)+".json")))
	require.NoError(t, os.WriteFile(filepath.Join(storeDir, month.AddDate(0, 0, 5).Format(time.DateOnly)+".json"), []byte("{"), 0o600))
	fake.ResetRequests()
	code, stderr = runBackfillCmd(t, fake, args...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 2*perDay, fake.Requests(fptapi.EndpointBills), "the missing and the corrupt day only")
	assert.Contains(t, stderr, `days_from_store=8 days_from_api=2`)
	assert.Equal(t, 1, strings.Count(stderr, "stored day cannot be trusted"), stderr)
}

func TestBackfillStdout(t *testing.T) {
	loc := mustHCM(t)
	fake := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 20, LabelSets: 3, Location: loc})
	t.Cleanup(fake.Close)
	day := backfillMonth(t, loc).Format(time.DateOnly)
	var buf bytes.Buffer
	code, stderr := runBackfillTo(t, fake, &buf, "--from="+day, "--to="+day, "--storage.path=")
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(buf.String(), "# TYPE fptcloud_billing_cost_vnd gauge\n"), buf.String())
	assert.True(t, strings.HasSuffix(buf.String(), "\n# EOF\n"))
}

// TestBackfillDemo: --demo backfills from the exporter's fake API, with no
// token, and the file holds that fake's sums.
func TestBackfillDemo(t *testing.T) {
	loc := mustHCM(t)
	t.Setenv(tokenEnv, "")
	month := backfillMonth(t, loc)
	from, to := month, month.AddDate(0, 0, 1)
	out := filepath.Join(t.TempDir(), "demo.om")
	var stderr bytes.Buffer
	code := run(context.Background(), []string{commandBackfill, "--demo",
		"--from=" + from.Format(time.DateOnly), "--to=" + to.Format(time.DateOnly), "--output=" + out}, io.Discard, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stderr.String(), "SIMULATED billing data")
	assert.Contains(t, stderr.String(), "days_from_store=0 days_from_api=2", "the demo keeps no store unless --storage.path is given")

	// The demo's data depend on its configuration alone: another fake
	// with it serves the same rows.
	reference := fptapitest.NewServer(demoAPIConfig(loc))
	t.Cleanup(reference.Close)
	got := parseBackfill(t, out, nil)
	wantCost, wantMTD := expectedSums(t, reference, from, to)
	assertSums(t, "cost", wantCost, got["fptcloud_billing_cost_vnd"])
	assertSums(t, "month to date", wantMTD, got["fptcloud_billing_month_to_date_cost_vnd"])
}

func TestBackfillRefuses(t *testing.T) {
	loc := mustHCM(t)
	fake := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 10, Location: loc})
	t.Cleanup(fake.Close)
	today := time.Now().In(loc).Format(time.DateOnly)
	past := backfillMonth(t, loc)
	day := past.Format(time.DateOnly)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"today", []string{"--from=" + day, "--to=" + today}, "is not closed"},
		{"future", []string{"--from=" + day, "--to=" + time.Now().In(loc).AddDate(0, 0, 3).Format(time.DateOnly)}, "is not closed"},
		{"from after to", []string{"--from=" + past.AddDate(0, 0, 2).Format(time.DateOnly), "--to=" + day}, "is after --to"},
		{"bad date", []string{"--from=2025-13-01", "--to=" + day}, `--from: "2025-13-01" is not a date`},
		{"no start", []string{"--to=" + day}, "required flag(s) '--from' not provided"},
		{"label without value", []string{"--from=" + day, "--to=" + day, "--label=job"}, `"job" is not NAME=VALUE`},
		{"bad label name", []string{"--from=" + day, "--to=" + day, "--label=1job=x"}, "is not a label name"},
		{"reserved label name", []string{"--from=" + day, "--to=" + day, "--label=__name__=x"}, "is not a label name"},
		{"billing label", []string{"--from=" + day, "--to=" + day, "--label=service=x"}, "a label of the billing series"},
		{"label twice", []string{"--from=" + day, "--to=" + day, "--label=job=a", "--label=job=b"}, `"job" given twice`},
	}
	// Before any request: the output cannot be written.
	code, stderr := runBackfillCmd(t, fake, "--from="+day, "--to="+day, "--storage.path=",
		"--output="+filepath.Join(t.TempDir(), "missing", "out.om"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--output: ")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := runBackfillCmd(t, fake, append(tt.args, "--storage.path=")...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tt.want)
		})
	}
	assert.Equal(t, 0, fake.Requests(fptapi.EndpointBills), "nothing is read for a refused range")
}

// TestParseRangeLateWindow: yesterday is refused until its late window has
// closed, in the billing time zone, and accepted from then on.
func TestParseRangeLateWindow(t *testing.T) {
	loc := mustHCM(t)
	yesterday := "2026-03-31"
	for _, tt := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 4, 1, 0, 0, 1, 0, loc), "late bills of that day may still arrive until 2026-04-01 06:00"},
		{time.Date(2026, 4, 1, 5, 59, 59, 0, loc), "late bills"},
		{time.Date(2026, 4, 1, 6, 0, 0, 0, loc), ""},
		{time.Date(2026, 3, 31, 23, 0, 0, 0, loc), "not closed"},
		// 20:00 UTC on the 31st is already the 1st, 03:00, in Ho Chi Minh City.
		{time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC), "late bills"},
	} {
		_, _, err := parseRange("2026-03-01", yesterday, loc, tt.now)
		if tt.want == "" {
			assert.NoError(t, err, tt.now)
		} else {
			assert.ErrorContains(t, err, tt.want, tt.now)
		}
	}
}

// TestFormatLabels: label values are escaped as OpenMetrics requires, and
// names sorted.
func TestFormatLabels(t *testing.T) {
	got := formatLabels([]labelPair{{"vpc_name", "Dữ liệu \"Lớn\"\n\\x"}, {"job", "fptcloud"}, {"bad", "a\xffb"}})
	assert.Equal(t, `{bad="a`+"\uFFFD"+`b",job="fptcloud",vpc_name="Dữ liệu \"Lớn\"\n\\x"}`, got)
	assert.Empty(t, formatLabels(nil))
}

// TestBackfillIntoPrometheus takes a backfilled month through the real
// tools: one day of the file passes promtool check metrics, promtool turns it into
// blocks, a real Prometheus serves them, and every sample it returns at a
// past day's last second equals the fake's sums; the dashboard's month
// panels return data for that month. It runs on Debian's Prometheus 2 and,
// when built, on Prometheus 3.
func TestBackfillIntoPrometheus(t *testing.T) {
	loc := mustHCM(t)
	fake := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 200, LabelSets: 50, Location: loc})
	t.Cleanup(fake.Close)
	month := backfillMonth(t, loc)
	from, to := month, month.AddDate(0, 1, -1)
	file := filepath.Join(t.TempDir(), "backfill.om")
	code, stderr := runBackfillCmd(t, fake, "--from="+from.Format(time.DateOnly), "--to="+to.Format(time.DateOnly),
		"--output="+file, "--storage.path=", "--label=job=fptcloud", "--label=instance=exporter:10117")
	require.Equal(t, 0, code, stderr)
	wantCost, wantMTD := expectedSums(t, fake, from, to)

	testhelp.ForEachPrometheus(t, func(t *testing.T, look func(string) string) {
		promtool, prometheus := look("promtool"), look("prometheus")

		// promtool check metrics lints one scrape, where a series has
		// one sample: it is given one day of the file.
		check := exec.CommandContext(t.Context(), promtool, "check", "metrics")
		check.Stdin = strings.NewReader(oneDay(mustRead(t, file), nextDay(to).Unix()-1))
		out, err := check.CombinedOutput()
		require.NoError(t, err, "promtool check metrics:\n%s", out)
		assert.Empty(t, strings.TrimSpace(string(out)), "promtool check metrics finds nothing to say")

		data := t.TempDir()
		out, err = exec.CommandContext(t.Context(), promtool, "tsdb", "create-blocks-from", "openmetrics",
			"--max-block-duration=720h", file, data).CombinedOutput()
		require.NoError(t, err, "promtool tsdb create-blocks-from openmetrics:\n%s", out)

		base := startPrometheus(t, prometheus, data)
		for d := from; !d.After(to); d = nextDay(d) {
			ts := nextDay(d).Unix() - 1
			assertQuery(t, base, "fptcloud_billing_cost_vnd", ts, wantCost)
			assertQuery(t, base, "fptcloud_billing_month_to_date_cost_vnd", ts, wantMTD)
		}

		queries, err := dashboards.Queries("5m")
		require.NoError(t, err)
		panels := 0
		for _, q := range queries {
			// Month panels that need only what a backfill holds: not
			// the budget (a flag of the running exporter) nor the spend
			// rate (a change within the hour; a backfill has one
			// sample a day), nor the top resources (not backfilled).
			if !strings.Contains(q.Expr, "month_to_date") || strings.Contains(q.Expr, "budget") || strings.Contains(q.Expr, "delta(") ||
				strings.Contains(q.Expr, "resource_") {
				continue
			}
			panels++
			for _, ts := range []int64{nextDay(from).Unix() - 1, nextDay(to).Unix() - 1, nextDay(to).Unix() + 60} {
				res := query(t, base, q.Expr, ts)
				assert.NotEmpty(t, res, "panel %q, %s at %s", q.Panel, q.Expr, time.Unix(ts, 0).In(loc))
			}
		}
		assert.GreaterOrEqual(t, panels, 7, "month panels checked")
	})
}

// oneDay keeps the comments of an OpenMetrics text and its samples at ts.
func oneDay(text string, ts int64) string {
	var sb strings.Builder
	suffix := " " + strconv.FormatInt(ts, 10)
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "#") || strings.HasSuffix(strings.TrimSuffix(line, "\n"), suffix) {
			sb.WriteString(line)
		}
	}
	return sb.String()
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(raw)
}

// startPrometheus runs prometheus on data with no scrape target, on
// 127.0.0.1, and returns its base URL once it is ready.
func startPrometheus(t *testing.T, bin, data string) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(config, []byte("global:\n  scrape_interval: 1m\n"), 0o600))
	addr := testhelp.FreeAddr(t)
	testhelp.StartProcess(t, dir, "prometheus", bin, "--config.file="+config, "--storage.tsdb.path="+data,
		"--web.listen-address="+addr, "--storage.tsdb.retention.time=100y")
	base := "http://" + addr
	waitFor(t, base+"/-/ready", http.StatusOK, 60*time.Second)
	return base
}

// query runs an instant query at ts (Unix seconds) and returns its vector.
func query(t *testing.T, base, expr string, ts int64) []promSample {
	t.Helper()
	u := base + "/api/v1/query?" + url.Values{"query": {expr}, "time": {strconv.FormatInt(ts, 10)}}.Encode()
	code, body := get(t, u)
	require.Equal(t, http.StatusOK, code, "%s: %s", expr, body)
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promSample `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp), body)
	require.Equal(t, "vector", resp.Data.ResultType, body)
	return resp.Data.Result
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// assertQuery holds what Prometheus returns for metric at ts to want,
// label set by label set, to 0.01 VND.
func assertQuery(t *testing.T, base, metric string, ts int64, want map[sample]float64) {
	t.Helper()
	got := map[seriesKey]float64{}
	for _, s := range query(t, base, metric+`{job="fptcloud",instance="exporter:10117"}`, ts) {
		m := s.Metric
		v, err := strconv.ParseFloat(s.Value[1].(string), 64)
		require.NoError(t, err)
		got[seriesKey{m["billing_group"], m["service"], m["tag"], m["vpc_id"], m["vpc_name"]}] = v
	}
	n := 0
	for s, v := range want {
		if s.ts != ts {
			continue
		}
		n++
		if assert.Contains(t, got, s.key, "%s at %d", metric, ts) {
			assert.InDelta(t, v, got[s.key], 0.01, "%s %v", metric, s)
		}
	}
	assert.Len(t, got, n, "%s at %d: series", metric, ts)
}

// BenchmarkBackfill90Days measures a 90-day backfill of 1,000 label sets
// and 10,000 bill rows a day: the file's size, the API requests, and the
// time those requests take at the default --fpt.rate-limit of 5 per second.
func BenchmarkBackfill90Days(b *testing.B) {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(b, err)
	fake := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 10000, LabelSets: 1000, Location: loc})
	b.Cleanup(fake.Close)
	b.Setenv(tokenEnv, fptapitest.DefaultToken)
	from := startOfMonth(time.Now().In(loc)).AddDate(0, -4, 0)
	to := from.AddDate(0, 0, 89)
	file := filepath.Join(b.TempDir(), "backfill.om")
	args := []string{commandBackfill, "--fpt.api-url=" + fake.URL, "--fpt.rate-limit=1000000", "--storage.path=",
		"--from=" + from.Format(time.DateOnly), "--to=" + to.Format(time.DateOnly), "--output=" + file,
		"--label=job=fptcloud", "--label=instance=fptcloud-exporter:10117"}
	for b.Loop() {
		fake.ResetRequests()
		var stderr bytes.Buffer
		require.Equal(b, 0, run(b.Context(), args, io.Discard, &stderr), stderr.String())
	}
	info, err := os.Stat(file)
	require.NoError(b, err)
	requests := fake.Requests(fptapi.EndpointBills)
	b.ReportMetric(float64(info.Size())/1e6, "file-MB")
	b.ReportMetric(float64(requests), "requests")
	b.ReportMetric(float64(requests)/5/60, "minutes-at-5-req/s")
}

// TestServeCommand: the exporter is also the explicit command serve, and
// stays the default.
func TestServeCommand(t *testing.T) {
	t.Setenv(tokenEnv, "")
	base, _, stop := startExporter(t, "serve", "--demo")
	waitFor(t, base+"/-/ready", http.StatusOK, 30*time.Second)
	assert.Equal(t, 0, stop())
}

// TestBackfillBesideALockedStore: with the store locked by an exporter, a
// backfill reads it and writes no day; with the store free, it writes them.
func TestBackfillBesideALockedStore(t *testing.T) {
	loc := mustHCM(t)
	t.Setenv(tokenEnv, "")
	month := backfillMonth(t, loc)
	args := func(dir string) []string {
		return []string{commandBackfill, "--demo", "--storage.path=" + dir,
			"--from=" + month.Format(time.DateOnly), "--to=" + month.AddDate(0, 0, 1).Format(time.DateOnly),
			"--output=" + filepath.Join(t.TempDir(), "out.om")}
	}
	locked := t.TempDir()
	lock, err := store.Lock(locked)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lock.Unlock() })
	var stderr bytes.Buffer
	require.Equal(t, 0, run(context.Background(), args(locked), io.Discard, &stderr), stderr.String())
	assert.Contains(t, stderr.String(), "reading it, writing nothing")
	days, err := filepath.Glob(filepath.Join(locked, "*.json"))
	require.NoError(t, err)
	assert.Empty(t, days)

	free := t.TempDir()
	stderr.Reset()
	require.Equal(t, 0, run(context.Background(), args(free), io.Discard, &stderr), stderr.String())
	days, err = filepath.Glob(filepath.Join(free, "*.json"))
	require.NoError(t, err)
	assert.Len(t, days, 2)
}
