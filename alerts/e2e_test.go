package alerts

import (
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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the forecast expectation needs Asia/Ho_Chi_Minh on any machine

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/dashboards"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// Budgets of the two demo exporters: one far below the demo's spend, one far
// above it.
const (
	lowBudget      = "1"                // VND
	generousBudget = "1000000000000000" // 10^15 VND
)

// scrapeInterval is Prometheus' scrape interval and timeout in the test:
// short enough for a quick run, long enough that a scrape slowed by a busy
// machine does not time out (and mark a healthy exporter down).
const scrapeInterval = 2 * time.Second

// billingTimezone is the exporter's default --fpt.timezone, which the demo
// exporters of the test run with.
const billingTimezone = "Asia/Ho_Chi_Minh"

// TestEndToEnd runs the exporter in demo mode twice (tiny budgets, generous
// budgets), a real Prometheus loading the project's rule files and scraping
// both, and a real Alertmanager; then checks that every dashboard query
// returns data and that exactly the expected alerts reach Alertmanager. It
// does so once with Debian's Prometheus 2 and once with Prometheus 3.
// Everything listens on 127.0.0.1 and lives in a temp dir.
//
// The rule files are loaded as shipped except for the "for:" durations of
// the budget alerts, the ones the test expects to fire, shortened to 1s in
// a copy: the real ones (5m to 30m) are for people, and promtool's unit
// tests already check them against simulated time. The other alerts keep
// theirs, so that a health alert (FPTCloudExporterDown after one slow
// scrape, say) cannot fire within the few minutes of the test.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("end-to-end test: skipped with -short (it always runs when CI is set)")
	}
	amBin := lookAlertmanager(t)
	// The build has its own bound: on a busy machine with a cold cache it
	// may take minutes, which says nothing about the servers.
	exporter := buildExporter(t, t.TempDir())

	testhelp.ForEachPrometheus(t, func(t *testing.T, look func(string) string) {
		t.Parallel()
		promBin := look("prometheus")
		s := startStack(t, exporter, promBin, amBin)
		t.Run("exporter exposes every contract metric", s.checkContractMetrics)
		t.Run("every dashboard query returns data with All", s.checkDashboardQueries)
		t.Run("budget alerts reach Alertmanager only for the low budgets", s.checkBudgetAlerts)
	})
}

// stack is one end-to-end setup: two demo exporters, Alertmanager, and
// Prometheus scraping the exporters and sending alerts to Alertmanager.
type stack struct {
	ctx      context.Context // bounds every wait of the checks
	groups   []string        // the demo's billing groups, each with budgets
	low      string          // address of the exporter with tiny budgets
	generous string          // address of the exporter with huge budgets
	prom     promClient
	am       amClient
}

// startStack starts the servers of one end-to-end run and waits until
// Prometheus has scraped both exporters and evaluated the rules. They stop
// when t ends.
func startStack(t *testing.T, exporter, promBin, amBin string) *stack {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)

	groups := demoBillingGroups(ctx, t, exporter, dir)
	require.NotEmpty(t, groups, "the demo has no billing groups")
	// The low one keeps a month cache, so that its storage metrics are
	// exposed too (the demo is memory-only without the flag).
	lowFlags := append(budgetFlags(lowBudget, groups), "--storage.path="+filepath.Join(dir, "low-cache"))
	s := &stack{
		ctx:      ctx,
		groups:   groups,
		low:      startExporter(ctx, t, exporter, dir, "low", lowFlags),
		generous: startExporter(ctx, t, exporter, dir, "generous", budgetFlags(generousBudget, groups)),
	}
	amAddr := startAlertmanager(ctx, t, dir, amBin)
	s.am = amClient{base: "http://" + amAddr}
	s.prom = promClient{base: "http://" + startPrometheus(ctx, t, dir, promBin, amAddr, s.low, s.generous)}
	s.waitForRules(t)
	return s
}

// startAlertmanager runs Alertmanager with the shipped example
// configuration, as is: it has no receiver integration, so nothing leaves
// the machine.
func startAlertmanager(ctx context.Context, t *testing.T, dir, bin string) string {
	t.Helper()
	amDir := filepath.Join(dir, "alertmanager")
	require.NoError(t, os.MkdirAll(amDir, 0o755))
	config, err := filepath.Abs(alertmanagerExample)
	require.NoError(t, err)
	addr, _ := testhelp.StartServer(t, dir, "alertmanager", testhelp.ListeningOn, bin,
		"--config.file="+config,
		"--storage.path="+filepath.Join(amDir, "data"),
		"--web.listen-address=127.0.0.1:0",
		"--cluster.listen-address=", // no gossip, no port 9094
		"--log.level=info",          // for the "Listening on" line
	)
	waitReady(ctx, t, "alertmanager", "http://"+addr+"/-/ready")
	return addr
}

// startPrometheus runs Prometheus with the rule files (budget alerts
// shortened), scraping the two exporters as jobs fptcloud-low and
// fptcloud-generous.
func startPrometheus(ctx context.Context, t *testing.T, dir, bin, amAddr, low, generous string) string {
	t.Helper()
	promDir := filepath.Join(dir, "prometheus")
	require.NoError(t, os.MkdirAll(promDir, 0o755))
	ruleFiles := shortenFor(t, promDir, budgetAlertNames(t))
	config := filepath.Join(promDir, "prometheus.yml")
	require.NoError(t, os.WriteFile(config, []byte(fmt.Sprintf(`global:
  scrape_interval: %s
  scrape_timeout: %s
  evaluation_interval: 1s
rule_files: [%s]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: fptcloud-low
    static_configs:
      - targets: [%q]
  - job_name: fptcloud-generous
    static_configs:
      - targets: [%q]
`, model.Duration(scrapeInterval), model.Duration(scrapeInterval),
		strings.Join(quoteAll(ruleFiles), ", "), amAddr, low, generous)), 0o644))
	return runPrometheus(ctx, t, dir, bin, config)
}

// runPrometheus starts Prometheus on config, its data beside it, and
// returns its address once it is ready.
func runPrometheus(ctx context.Context, t *testing.T, dir, bin, config string) string {
	t.Helper()
	addr, _ := testhelp.StartServer(t, dir, "prometheus", testhelp.ListeningOn, bin,
		"--config.file="+config,
		"--storage.tsdb.path="+filepath.Join(filepath.Dir(config), "data"),
		"--web.listen-address=127.0.0.1:0",
		"--log.level=info", // for the "Listening on" line
	)
	waitReady(ctx, t, "prometheus", "http://"+addr+"/-/ready")
	return addr
}

// waitForRules waits until both targets are up and the recording rules
// have been evaluated.
func (s *stack) waitForRules(t *testing.T) {
	t.Helper()
	poll(s.ctx, t, "both exporters scraped and rules evaluated", func() error {
		for _, q := range []string{
			`up{job="fptcloud-low"} == 1`, `up{job="fptcloud-generous"} == 1`,
			`instance:fptcloud_billing_month_to_date_cost_vnd:sum{job="fptcloud-low"}`,
		} {
			n, err := s.prom.count(s.ctx, q)
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%s: no result yet", q)
			}
		}
		return nil
	})
}

func (s *stack) checkContractMetrics(t *testing.T) {
	// The closed periods come after the current month: wait for them.
	var missing []string
	poll(s.ctx, t, "every contract metric exposed", func() error {
		families := scrape(s.ctx, t, s.low)
		missing = missing[:0]
		for _, m := range contractMetrics {
			if _, ok := families[m]; !ok && !mayBeAbsent(m) {
				missing = append(missing, m)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("not exposed: %v", missing)
		}
		return nil
	})
}

// mayBeAbsent reports whether a healthy exporter may lack metric m now:
// up is Prometheus'; a closed day that failed is named only then; on the
// 1st before the late window closes, the previous month (and with it
// yesterday) is not read yet.
func mayBeAbsent(m string) bool {
	switch m {
	case "up", "fptcloud_exporter_closed_day_failed":
		return true
	case "fptcloud_billing_previous_month_cost_vnd", "fptcloud_billing_yesterday_cost_vnd":
		return beforeFirstLateWindow()
	}
	return false
}

func beforeFirstLateWindow() bool {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		return false
	}
	now := time.Now().In(loc)
	return now.Day() == 1 && now.Hour() < 6
}

func (s *stack) checkDashboardQueries(t *testing.T) {
	queries, err := dashboards.Queries("1m")
	require.NoError(t, err)
	require.NotEmpty(t, queries)
	var empty []string
	poll(s.ctx, t, "every dashboard query returns data", func() error {
		empty = empty[:0]
		for _, q := range queries {
			if beforeFirstLateWindow() && (strings.Contains(q.Expr, "previous_month") || strings.Contains(q.Expr, "yesterday")) {
				continue // see mayBeAbsent
			}
			n, err := s.prom.count(s.ctx, q.Expr)
			if err != nil {
				return fmt.Errorf("%s panel %q %s: %w", q.File, q.Panel, q.RefID, err)
			}
			if n == 0 {
				empty = append(empty, fmt.Sprintf("%s panel %q %s: %s", q.File, q.Panel, q.RefID, q.Expr))
			}
		}
		if len(empty) > 0 {
			return fmt.Errorf("%d queries without data:\n%s", len(empty), strings.Join(empty, "\n"))
		}
		return nil
	})
}

func (s *stack) checkBudgetAlerts(t *testing.T) {
	want := expectedLowAlerts(s.ctx, t, s.prom, s.groups)
	// Only shortened alerts can fire within the test.
	budgetAlerts := budgetAlertNames(t)
	for _, w := range want {
		name, _, _ := strings.Cut(w, "/")
		require.Containsf(t, budgetAlerts, name, "%s is expected to fire but keeps its shipped for:", name)
	}
	t.Logf("expecting in Alertmanager for fptcloud-low: %v", want)

	got := s.waitForLowAlerts(t, want)
	checkInhibition(t, got)
	s.checkNoOtherAlerts(t)
}

// waitForLowAlerts waits until every alert in want (alertname/billing_group)
// of the low-budget exporter is in Alertmanager, and returns its alerts.
func (s *stack) waitForLowAlerts(t *testing.T, want []string) []amAlert {
	t.Helper()
	var got []amAlert
	poll(s.ctx, t, "the low-budget alerts in Alertmanager", func() error {
		var err error
		got, err = s.am.alerts(s.ctx)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, a := range got {
			if a.Labels["job"] == "fptcloud-low" {
				have[a.key()] = true
			}
		}
		var missing []string
		for _, w := range want {
			if !have[w] {
				missing = append(missing, w)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("not yet in Alertmanager: %v", missing)
		}
		return nil
	})
	return got
}

// checkInhibition checks the example's inhibit rule: the month being over
// budget mutes the forecast saying it will be.
func checkInhibition(t *testing.T, got []amAlert) {
	t.Helper()
	for _, a := range got {
		if a.Labels["job"] == "fptcloud-low" && a.Labels["alertname"] == "FPTCloudMonthEndForecastOverBudget" {
			assert.NotEmpty(t, a.Status.InhibitedBy, "the forecast alert should be inhibited by FPTCloudMonthToDateOverBudget")
		}
	}
}

// checkNoOtherAlerts checks that Alertmanager holds only cost alerts of the
// low-budget exporter, with their texts rendered, and that no cost alert of
// the generous exporter is pending in Prometheus.
func (s *stack) checkNoOtherAlerts(t *testing.T) {
	t.Helper()
	costAlerts := costAlertNames(t)
	// The generous exporter's rules were evaluated in the same cycles;
	// give Alertmanager a few more (two scrapes) to be sure nothing else
	// arrives.
	sleep(s.ctx, 2*scrapeInterval)
	got, err := s.am.alerts(s.ctx)
	require.NoError(t, err)
	for _, a := range got {
		name, job := a.Labels["alertname"], a.Labels["job"]
		assert.Containsf(t, costAlerts, name, "unexpected alert %s: the exporters are healthy", a.key())
		assert.NotEqualf(t, "fptcloud-generous", job, "a cost alert fired with a generous budget: %s", a.key())
		for _, key := range []string{"summary", "description", "action"} {
			v := a.Annotations[key]
			assert.NotEmpty(t, v, "%s: %s", a.key(), key)
			assert.NotContains(t, v, "{{", "%s: %s not rendered", a.key(), key)
			assert.NotContains(t, v, "<no value>", "%s: %s", a.key(), key)
		}
		if name != "FPTCloudSpendSpike" {
			// The budget, humanised, is in the text.
			assert.Contains(t, a.Annotations["description"], "budget of "+lowBudget+" VND", a.key())
		}
	}

	// Nor is a cost alert pending in Prometheus. (A health alert may be
	// pending after one slow scrape on a busy machine: it keeps its
	// shipped for:, so it cannot fire within the test, which is what the
	// check of Alertmanager above holds.)
	pending, err := s.prom.alerts(s.ctx)
	require.NoError(t, err)
	for _, a := range pending {
		if slices.Contains(costAlerts, a.Labels["alertname"]) {
			assert.NotEqualf(t, "fptcloud-generous", a.Labels["job"], "%s is %s with a generous budget", a.Labels["alertname"], a.State)
		}
	}
}

// expectedLowAlerts lists alertname/billing_group keys that must fire for
// the low-budget exporter: a cost alert is only expected when there is a
// cost to exceed the 1 VND budget (as Prometheus sums it), and the forecast
// only after the first billing day of the month. The billing days elapsed
// are computed here from the clock, not read from the exporter's calendar
// metrics, so that a wrong calendar cannot make its own expectation.
func expectedLowAlerts(ctx context.Context, t *testing.T, prom promClient, groups []string) []string {
	t.Helper()
	want := []string{"FPTCloudMonthToDateOverBudget/"}
	for _, g := range groups {
		want = append(want, "FPTCloudBillingGroupMonthToDateOverBudget/"+g)
	}
	today, err := prom.value(ctx, `instance:fptcloud_billing_cost_vnd:sum{job="fptcloud-low"}`)
	require.NoError(t, err)
	if today > 1 {
		want = append(want, "FPTCloudDailyBudgetExceeded/")
	}
	for _, g := range groups {
		sel := fmt.Sprintf(`instance_billing_group:fptcloud_billing_cost_vnd:sum{job="fptcloud-low",billing_group=%q} > 1`, g)
		if n, err := prom.count(ctx, sel); err == nil && n > 0 {
			want = append(want, "FPTCloudBillingGroupDailyBudgetExceeded/"+g)
		}
	}
	loc, err := time.LoadLocation(billingTimezone)
	require.NoError(t, err)
	now := time.Now().In(loc)
	days := now.Sub(time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)).Hours() / 24
	// Just past one day, Prometheus may still hold a sample from before it;
	// the next scrape catches up well within the wait for the alerts.
	if days >= 1 {
		want = append(want, "FPTCloudMonthEndForecastOverBudget/")
		for _, g := range groups {
			want = append(want, "FPTCloudBillingGroupMonthEndForecastOverBudget/"+g)
		}
	} else {
		t.Logf("first billing day of the month (%.2f days elapsed): the forecast alert is meant to wait", days)
	}
	return want
}

// budgetAlertNames are the alerts that compare spend with a configured
// budget: the only ones the test expects to fire, and so the only ones
// whose "for:" it shortens.
func budgetAlertNames(t *testing.T) []string {
	var out []string
	for _, r := range loadRules(t) {
		if r.Alert != "" && strings.Contains(r.Expr, "fptcloud_budget_") {
			out = append(out, r.Alert)
		}
	}
	require.NotEmpty(t, out, "no budget alert in the rule files")
	return out
}

func costAlertNames(t *testing.T) []string {
	var out []string
	for _, r := range loadRules(t) {
		if r.Alert != "" && strings.Contains(r.Expr, "_vnd") {
			out = append(out, r.Alert)
		}
	}
	return out
}

func budgetFlags(amount string, groups []string) []string {
	flags := []string{"--budget.daily-vnd=" + amount, "--budget.monthly-vnd=" + amount}
	for _, g := range groups {
		flags = append(flags,
			"--budget.billing-group-daily-vnd="+g+"="+amount,
			"--budget.billing-group-monthly-vnd="+g+"="+amount)
	}
	return flags
}

var (
	forRE  = regexp.MustCompile(`^(\s+for:\s*)\S+\s*$`)
	ruleRE = regexp.MustCompile(`^\s*-\s*(alert|record):\s*(\S+)`)
)

// shortenFor writes copies of the rule files with the "for:" of each alert
// in names set to 1s; every other line is kept as shipped. Each of names
// must have had its "for:" shortened.
func shortenFor(t *testing.T, dir string, names []string) []string {
	t.Helper()
	var out []string
	shortened := map[string]bool{}
	for _, name := range ruleFiles {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		lines := strings.Split(string(data), "\n")
		current := "" // the alert whose lines these are; "" for a recording rule
		for i, line := range lines {
			if m := ruleRE.FindStringSubmatch(line); m != nil {
				current = ""
				if m[1] == "alert" {
					current = m[2]
				}
				continue
			}
			if current != "" && slices.Contains(names, current) && forRE.MatchString(line) {
				lines[i] = forRE.ReplaceAllString(line, "${1}1s")
				shortened[current] = true
			}
		}
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644))
		out = append(out, path)
	}
	for _, n := range names {
		require.Truef(t, shortened[n], "alert %s: no for: to shorten in the rule files", n)
	}
	return out
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func lookAlertmanager(t *testing.T) string {
	t.Helper()
	// Debian names it prometheus-alertmanager; upstream, alertmanager.
	if path, err := exec.LookPath("prometheus-alertmanager"); err == nil {
		return path
	}
	return testhelp.LookDebian(t, "alertmanager", "prometheus-alertmanager")
}

func buildExporter(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "go not on PATH")
	bin := filepath.Join(dir, "fptcloud_exporter")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, ".")
	cmd.Dir = ".." // the module root, where main.go is
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the exporter:\n%s", out)
	return bin
}

// demoBillingGroups starts the demo once, reads its billing groups and stops
// it, so that the real runs can set a budget for each group.
func demoBillingGroups(ctx context.Context, t *testing.T, bin, dir string) []string {
	t.Helper()
	addr, stop := testhelp.StartServer(t, dir, "exporter-discovery", testhelp.ListeningOn, bin,
		"--demo", "--web.listen-address=127.0.0.1:0", "--collector.refresh-interval=1s")
	defer stop()
	waitReady(ctx, t, "exporter", "http://"+addr+"/-/ready")
	// Ready serves today; month-to-date follows once the closed days are in.
	var mf *dto.MetricFamily
	poll(ctx, t, "month-to-date in the demo", func() error {
		var ok bool
		if mf, ok = scrape(ctx, t, addr)["fptcloud_billing_month_to_date_cost_vnd"]; !ok {
			return errors.New("no fptcloud_billing_month_to_date_cost_vnd yet")
		}
		return nil
	})
	var groups []string
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "billing_group" && l.GetValue() != "" && !slices.Contains(groups, l.GetValue()) {
				groups = append(groups, l.GetValue())
			}
		}
	}
	slices.Sort(groups)
	return groups
}

func startExporter(ctx context.Context, t *testing.T, bin, dir, name string, flags []string) string {
	t.Helper()
	args := append([]string{"--demo", "--web.listen-address=127.0.0.1:0", "--collector.refresh-interval=1s"}, flags...)
	addr, _ := testhelp.StartServer(t, dir, "exporter-"+name, testhelp.ListeningOn, bin, args...)
	waitReady(ctx, t, "exporter "+name, "http://"+addr+"/-/ready")
	return addr
}

func waitReady(ctx context.Context, t *testing.T, what, u string) {
	t.Helper()
	poll(ctx, t, what+" ready", func() error {
		body, code, err := get(ctx, u)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d %s", u, code, testhelp.Tail(body, 200))
		}
		return nil
	})
}

// poll calls f every 500ms until it returns nil; at ctx's deadline or after
// 90s, whichever comes first, the test fails with f's last error.
func poll(ctx context.Context, t *testing.T, what string, f func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			require.FailNow(t, "timed out waiting for "+what, "%v", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func get(ctx context.Context, u string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return body, resp.StatusCode, err
}

func scrape(ctx context.Context, t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	body, code, err := get(ctx, "http://"+addr+"/metrics")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(t, err)
	return fams
}

type promClient struct{ base string }

type promResponse struct {
	Status    string `json:"status"`
	Error     string `json:"error"`
	ErrorType string `json:"errorType"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
		Alerts     []promAlert     `json:"alerts"`
	} `json:"data"`
}

type promAlert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (p promClient) call(ctx context.Context, path string, params url.Values) (*promResponse, error) {
	u := p.base + path
	if params != nil {
		u += "?" + params.Encode()
	}
	body, code, err := get(ctx, u)
	if err != nil {
		return nil, err
	}
	var r promResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d, decoding: %w", path, code, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	return &r, nil
}

// count runs an instant query and returns how many series (or 1 for a
// scalar) it gave.
func (p promClient) count(ctx context.Context, query string) (int, error) {
	r, err := p.call(ctx, "/api/v1/query", url.Values{"query": {query}})
	if err != nil {
		return 0, err
	}
	switch r.Data.ResultType {
	case "vector", "matrix":
		var rows []json.RawMessage
		if err := json.Unmarshal(r.Data.Result, &rows); err != nil {
			return 0, fmt.Errorf("decoding %s result: %w", r.Data.ResultType, err)
		}
		return len(rows), nil
	default:
		return 1, nil
	}
}

// value runs an instant query that must give one series and returns its value.
func (p promClient) value(ctx context.Context, query string) (float64, error) {
	r, err := p.call(ctx, "/api/v1/query", url.Values{"query": {query}})
	if err != nil {
		return 0, err
	}
	var rows []promSample
	if err := json.Unmarshal(r.Data.Result, &rows); err != nil {
		return 0, fmt.Errorf("decoding %s: %w", query, err)
	}
	if len(rows) != 1 {
		return 0, fmt.Errorf("%s: %d series, want 1", query, len(rows))
	}
	s, ok := rows[0].Value[1].(string)
	if !ok {
		return 0, fmt.Errorf("%s: value %v", query, rows[0].Value)
	}
	return strconv.ParseFloat(s, 64)
}

func (p promClient) alerts(ctx context.Context) ([]promAlert, error) {
	r, err := p.call(ctx, "/api/v1/alerts", nil)
	if err != nil {
		return nil, err
	}
	return r.Data.Alerts, nil
}

type amClient struct{ base string }

type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Status      struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// key identifies an alert by name and billing group (empty for totals).
func (a amAlert) key() string {
	return a.Labels["alertname"] + "/" + a.Labels["billing_group"]
}

func (a amClient) alerts(ctx context.Context) ([]amAlert, error) {
	body, code, err := get(ctx, a.base+"/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("alertmanager: HTTP %d %s", code, testhelp.Tail(body, 200))
	}
	var out []amAlert
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decoding alertmanager alerts: %w", err)
	}
	return out, nil
}
