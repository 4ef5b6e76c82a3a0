package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

	"github.com/go-kit/log"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/dashboards"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
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
	var stderr bytes.Buffer
	all := append([]string{config.CommandBackfill, "--fpt.api-url=" + fake.URL, "--fpt.rate-limit=1000"}, args...)
	code := runCommand(context.Background(), all, stdout, &stderr)
	return code, stderr.String()
}

// sampleAt is one backfilled sample: a label set at a time.
type sampleAt struct {
	key billing.Labels
	ts  int64
}

// expectedSums computes, from the fake's own rows, the day's cost and the
// month-to-date of every label set for each day from from to to, keyed by
// the day's last second.
func expectedSums(t *testing.T, fake *fptapitest.Server, from, to time.Time) (cost, mtd map[sampleAt]float64) {
	t.Helper()
	cost, mtd = map[sampleAt]float64{}, map[sampleAt]float64{}
	running := map[billing.Labels]float64{}
	for d := startOfMonth(from); !d.After(to); d = nextDay(d) {
		if d.Day() == 1 {
			running = map[billing.Labels]float64{}
		}
		ts := nextDay(d).Unix() - 1
		day := map[billing.Labels]float64{}
		require.NoError(t, fake.EachBill(d.Format(time.DateOnly), fptapi.Filter{}, func(b *fptapi.Bill) bool {
			k := billing.Labels{BillingGroup: b.BillingGroupName, Service: b.Service, Tag: b.Tag, VPCID: b.VPCID, VPCName: b.VPCName}
			day[k] += b.TotalPrice
			running[k] += b.TotalPrice
			return true
		}))
		if d.Before(from) {
			continue
		}
		for k, v := range day {
			cost[sampleAt{k, ts}] = v
		}
		for k, v := range running {
			mtd[sampleAt{k, ts}] = v
		}
	}
	require.NotEmpty(t, cost)
	return cost, mtd
}

// parseBackfill parses the file with the OpenMetrics parser and checks the
// extra labels on every series.
func parseBackfill(t *testing.T, path string, extra map[string]string) map[string]map[sampleAt]float64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(raw), "\n# EOF\n"), "the file ends with # EOF")
	dec := expfmt.NewDecoder(bytes.NewReader(raw), expfmt.NewFormat(expfmt.TypeOpenMetrics))
	out := map[string]map[sampleAt]float64{}
	for {
		fam := &dto.MetricFamily{}
		err := dec.Decode(fam)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		name := fam.GetName()
		assert.Equal(t, dto.MetricType_GAUGE, fam.GetType(), name)
		assert.NotEmpty(t, fam.GetHelp(), name)
		require.NotContains(t, out, name, "family %s twice", name)
		out[name] = map[sampleAt]float64{}
		for _, m := range fam.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			for n, v := range extra {
				assert.Equal(t, v, labels[n], "label %s of %s", n, name)
			}
			k := billing.Labels{BillingGroup: labels["billing_group"], Service: labels["service"], Tag: labels["tag"], VPCID: labels["vpc_id"], VPCName: labels["vpc_name"]}
			s := sampleAt{k, m.GetTimestampMs() / 1000}
			_, dup := out[name][s]
			require.False(t, dup, "%s: sample %v twice", name, s)
			out[name][s] = m.GetGauge().GetValue()
		}
	}
	return out
}

func assertSums(t *testing.T, what string, want, got map[sampleAt]float64) {
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
	t.Parallel()
	loc := testhelp.HCM(t)
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
	assert.InDelta(t, 31*86400, got["fptcloud_billing_month_length_seconds"][sampleAt{ts: lastSecond}], 0)
	assert.InDelta(t, float64(31*86400-1)/(31*86400), got["fptcloud_billing_month_elapsed_ratio"][sampleAt{ts: lastSecond}], 1e-12)
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
	t.Parallel()
	loc := testhelp.HCM(t)
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
	t.Parallel()
	loc := testhelp.HCM(t)
	fake := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 20, LabelSets: 3, Location: loc})
	t.Cleanup(fake.Close)
	day := backfillMonth(t, loc).Format(time.DateOnly)
	var buf bytes.Buffer
	code, stderr := runBackfillTo(t, fake, &buf, "--from="+day, "--to="+day, "--storage.path=")
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(buf.String(), "# HELP fptcloud_billing_cost_vnd "), buf.String())
	assert.Contains(t, buf.String(), "\n# TYPE fptcloud_billing_cost_vnd gauge\n")
	assert.True(t, strings.HasSuffix(buf.String(), "\n# EOF\n"))
}

// TestBackfillDemo: --demo backfills from the exporter's fake API, with no
// token, and the file holds that fake's sums.
func TestBackfillDemo(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	month := backfillMonth(t, loc)
	from, to := month, month.AddDate(0, 0, 1)
	out := filepath.Join(t.TempDir(), "demo.om")
	var stderr bytes.Buffer
	code := runCommand(context.Background(), []string{config.CommandBackfill, "--demo",
		"--from=" + from.Format(time.DateOnly), "--to=" + to.Format(time.DateOnly), "--output=" + out}, io.Discard, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stderr.String(), "SIMULATED billing data")
	assert.Contains(t, stderr.String(), "days_from_store=0 days_from_api=2", "the demo keeps no store unless --storage.path is given")

	// The demo's data depend on its configuration alone: another fake
	// with it serves the same rows.
	reference := fptapitest.NewServer(config.DemoAPI(loc))
	t.Cleanup(reference.Close)
	got := parseBackfill(t, out, nil)
	wantCost, wantMTD := expectedSums(t, reference, from, to)
	assertSums(t, "cost", wantCost, got["fptcloud_billing_cost_vnd"])
	assertSums(t, "month to date", wantMTD, got["fptcloud_billing_month_to_date_cost_vnd"])
}

func TestBackfillRefuses(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
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

// TestOpenMetricsLabels: label values are escaped as OpenMetrics requires,
// invalid UTF-8 replaced, names sorted, and the values read back as given.
func TestOpenMetricsLabels(t *testing.T) {
	t.Parallel()
	k := billing.Labels{VPCName: "Dữ liệu \"Lớn\"\n\\x", Tag: "a\xffb"}
	h := &history{cost: map[billing.Labels][]sample{k: {{1.5, 1767200399}}}, monthToDate: map[billing.Labels][]sample{k: {{2, 1767200399}}}}
	var buf bytes.Buffer
	require.NoError(t, h.writeOpenMetrics(&buf, []config.Label{{Name: "job", Value: "fptcloud"}}))
	assert.Contains(t, buf.String(), `fptcloud_billing_cost_vnd{billing_group="",job="fptcloud",service="",tag="a`+"\uFFFD"+`b",vpc_id="",vpc_name="Dữ liệu \"Lớn\"\n\\x"} `)

	path := filepath.Join(t.TempDir(), "out.om")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	got := parseBackfill(t, path, map[string]string{"job": "fptcloud"})
	k.Tag = "a\uFFFDb"
	assert.Equal(t, map[sampleAt]float64{{k, 1767200399}: 1.5}, got["fptcloud_billing_cost_vnd"])
	assert.Equal(t, map[sampleAt]float64{{k, 1767200399}: 2}, got["fptcloud_billing_month_to_date_cost_vnd"])
}

// TestBackfillIntoPrometheus takes a backfilled month through the real
// tools: one day of the file passes promtool check metrics, promtool turns it into
// blocks, a real Prometheus serves them, and every sample it returns at a
// past day's last second equals the fake's sums; the dashboard's month
// panels return data for that month. It runs on Debian's Prometheus 2 and,
// when built, on Prometheus 3.
func TestBackfillIntoPrometheus(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
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

// oneDay keeps the comments of an OpenMetrics text and its samples at ts
// (the last field of a sample, in seconds), without the timestamp, as a
// scrape has them: promtool check metrics parses the text format, whose
// timestamps are integer milliseconds.
func oneDay(text string, ts int64) string {
	var sb strings.Builder
	for line := range strings.Lines(text) {
		fields := strings.Fields(line)
		if strings.HasPrefix(line, "#") {
			sb.WriteString(line)
			continue
		}
		last := fields[len(fields)-1]
		if at, err := strconv.ParseFloat(last, 64); err == nil && at == float64(ts) {
			sb.WriteString(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), " "+last) + "\n")
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
	configFile := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(configFile, []byte("global:\n  scrape_interval: 1m\n"), 0o600))
	addr, _ := testhelp.StartServer(t, dir, "prometheus", testhelp.ListeningOn, bin, "--config.file="+configFile, "--storage.tsdb.path="+data,
		"--web.listen-address=127.0.0.1:0", "--storage.tsdb.retention.time=100y")
	base := "http://" + addr
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, testhelp.Patience)
	return base
}

// query runs an instant query at ts (Unix seconds) and returns its vector.
func query(t *testing.T, base, expr string, ts int64) []promSample {
	t.Helper()
	u := base + "/api/v1/query?" + url.Values{"query": {expr}, "time": {strconv.FormatInt(ts, 10)}}.Encode()
	code, body := testhelp.Get(t, u)
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
func assertQuery(t *testing.T, base, metric string, ts int64, want map[sampleAt]float64) {
	t.Helper()
	got := map[billing.Labels]float64{}
	for _, s := range query(t, base, metric+`{job="fptcloud",instance="exporter:10117"}`, ts) {
		m := s.Metric
		v, err := strconv.ParseFloat(s.Value[1].(string), 64)
		require.NoError(t, err)
		got[billing.Labels{BillingGroup: m["billing_group"], Service: m["service"], Tag: m["tag"], VPCID: m["vpc_id"], VPCName: m["vpc_name"]}] = v
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
	from := startOfMonth(time.Now().In(loc)).AddDate(0, -4, 0)
	to := from.AddDate(0, 0, 89)
	file := filepath.Join(b.TempDir(), "backfill.om")
	args := []string{config.CommandBackfill, "--fpt.api-url=" + fake.URL, "--fpt.rate-limit=1000000", "--storage.path=",
		"--from=" + from.Format(time.DateOnly), "--to=" + to.Format(time.DateOnly), "--output=" + file,
		"--label=job=fptcloud", "--label=instance=fptcloud-exporter:10117"}
	for b.Loop() {
		fake.ResetRequests()
		var stderr bytes.Buffer
		require.Equal(b, 0, runCommand(b.Context(), args, io.Discard, &stderr), stderr.String())
	}
	info, err := os.Stat(file)
	require.NoError(b, err)
	requests := fake.Requests(fptapi.EndpointBills)
	b.ReportMetric(float64(info.Size())/1e6, "file-MB")
	b.ReportMetric(float64(requests), "requests")
	b.ReportMetric(float64(requests)/5/60, "minutes-at-5-req/s")
}

// TestBackfillBesideALockedStore: with the store locked by an exporter, a
// backfill reads it and writes no day; with the store free, it writes them.
func TestBackfillBesideALockedStore(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	month := backfillMonth(t, loc)
	args := func(dir string) []string {
		return []string{config.CommandBackfill, "--demo", "--storage.path=" + dir,
			"--from=" + month.Format(time.DateOnly), "--to=" + month.AddDate(0, 0, 1).Format(time.DateOnly),
			"--output=" + filepath.Join(t.TempDir(), "out.om")}
	}
	locked := t.TempDir()
	lock, err := store.Lock(locked)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lock.Unlock() })
	var stderr bytes.Buffer
	require.Equal(t, 0, runCommand(context.Background(), args(locked), io.Discard, &stderr), stderr.String())
	assert.Contains(t, stderr.String(), "reading it, writing nothing")
	days, err := filepath.Glob(filepath.Join(locked, "*.json"))
	require.NoError(t, err)
	assert.Empty(t, days)

	free := t.TempDir()
	stderr.Reset()
	require.Equal(t, 0, runCommand(context.Background(), args(free), io.Discard, &stderr), stderr.String())
	days, err = filepath.Glob(filepath.Join(free, "*.json"))
	require.NoError(t, err)
	assert.Len(t, days, 2)
}

// runCommand runs the command line as the binary does, with the fake's
// token in its environment: a value the configuration refuses exits 2 with
// one line.
func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	getenv := func(k string) string {
		if k == config.TokenEnv {
			return fptapitest.DefaultToken
		}
		return ""
	}
	cfg, err := config.NewApp().Resolve(args, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", config.Name, err)
		return 2
	}
	return Run(ctx, cfg, log.NewLogfmtLogger(log.NewSyncWriter(stderr)), stdout, stderr)
}

func startOfMonth(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, day.Location())
}

func nextDay(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, day.Location())
}
