package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// An exporter serving several accounts (--config.file) labels every billing,
// budget and per-account self-metric with account; the build info is the
// process's own and never has it. These tests hold the dashboard to working
// with and without the label.

const accountMatcher = `account=~"$account"`

var accountSelectorRE = regexp.MustCompile(`([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}`)

func TestAccountVariable(t *testing.T) {
	for name, d := range loadAll(t) {
		t.Run(name, func(t *testing.T) {
			var names []string
			var acc *Variable
			for i, v := range d.Templating.List {
				names = append(names, v.Name)
				if v.Name == "account" {
					acc = &d.Templating.List[i]
				}
			}
			require.NotNil(t, acc, "no account variable")
			assert.Equal(t, "query", acc.Type)
			// With no account label the list of values is empty: All must
			// still send ".*", which matches the missing label, and never
			// an alternation of the values seen, which would match nothing.
			assert.True(t, acc.IncludeAll)
			assert.True(t, acc.Multi)
			assert.Equal(t, ".*", acc.AllValue)
			assert.Equal(t, `label_values(fptcloud_billing_month_elapsed_ratio{job=~"$job"}, account)`, acc.QueryText(),
				"the calendar gauge is served for every account from the first scrape, even one without spend")
			// The filters below it list the values of the selected accounts.
			assert.Equal(t, []string{"datasource", "job", "account"}, names[:3])

			raw, err := Files()
			require.NoError(t, err)
			var doc struct {
				Templating struct {
					List []struct {
						Name    string `json:"name"`
						Current struct {
							Value []string `json:"value"`
						} `json:"current"`
					} `json:"list"`
				} `json:"templating"`
			}
			require.NoError(t, json.Unmarshal(raw[name], &doc))
			for _, v := range doc.Templating.List {
				if v.Name == "account" {
					assert.Equal(t, []string{"$__all"}, v.Current.Value, "All by default")
				}
			}
			for _, v := range d.Templating.List {
				if v.Type == "query" && v.Name != "job" && v.Name != "account" {
					assert.Contains(t, v.QueryText(), accountMatcher, "variable %s lists values of every account", v.Name)
				}
			}
		})
	}
}

// TestEveryPanelFiltersOnAccount: every selector of an exporter metric but
// the build info applies $account, so every panel does.
func TestEveryPanelFiltersOnAccount(t *testing.T) {
	for name, d := range loadAll(t) {
		for _, p := range d.AllPanels() {
			if p.Type == "row" {
				continue
			}
			var filtered bool
			for _, tg := range p.Targets {
				for _, sel := range accountSelectorRE.FindAllStringSubmatch(tg.Expr, -1) {
					metric, matchers := sel[1], sel[2]
					if !strings.HasPrefix(metric, "fptcloud_") || metric == "fptcloud_exporter_build_info" {
						continue
					}
					filtered = true
					assert.Contains(t, matchers, accountMatcher, "%s panel %q: %s ignores $account", name, p.Title, metric)
				}
			}
			assert.True(t, filtered, "%s panel %q does not filter on $account", name, p.Title)

			for _, tg := range p.Targets {
				exporterLevel := strings.Contains(tg.Expr, "up{") || strings.Contains(tg.Expr, "fptcloud_exporter_build_info")
				for _, m := range accountLabelListRE.FindAllStringSubmatch(tg.Expr, -1) {
					op, labels := m[1], strings.Split(strings.ReplaceAll(m[2], " ", ""), ",")
					switch {
					// A join of one account's series with another's
					// budget or calendar would be wrong: joins that name
					// the exporter name the account too, except those
					// with up and the build info, which are the exporter's.
					case op == "on" && slices.Contains(labels, "instance") && !exporterLevel:
						assert.Contains(t, labels, "account", "%s panel %q: %s", name, p.Title, m[0])
					// A table shows a label as a column, which is simply
					// absent without the label: its rows stay per account.
					// (Graphs and bars add the selected accounts up: a
					// legend naming an account would print the label's
					// name where there is none.)
					case op == "by" && p.Type == "table" && !exporterLevel:
						assert.Contains(t, labels, "account", "%s table %q: %s", name, p.Title, m[0])
					}
				}
			}
		}
	}
}

var accountLabelListRE = regexp.MustCompile(`\b(by|on)\s*\(([^)]*)\)`)

// The evaluation below runs every panel query with promtool on the series
// of two exporters:
//   - job "single": one account, no account label (no --config.file);
//   - job "multi": accounts hn-prod, the very same series as "single" with
//     account="hn-prod", and hcm-prod, other amounts and another calendar.
//
// It shows that every query returns data for each account; that a query
// with hn-prod selected gives what the same query gives on "single" with
// All, so one account reads as without the label; that the money panels
// with All are the sum of their accounts (each forecast in its own
// calendar); and that tables keep one row per account.

type promSeries struct {
	labels string // without job, instance and account
	values string
}

// accountData is what each account's exporter serves: the values of
// hcm-prod differ from those of hn-prod. Counters and month-to-date grow so
// that rate, increase and delta have something to show.
func accountData(hcm bool) map[string][]promSeries {
	k := 1.0
	ratio := "0.5"
	if hcm {
		k, ratio = 3, "0.25"
	}
	billing := func(base, step float64) []promSeries {
		return []promSeries{
			{`vpc_id="v1",vpc_name="Hanoi",service="instance",billing_group="prod",tag="web"`, fmt.Sprintf("%g+%gx120", base*k, step*k)},
			{`vpc_id="v2",vpc_name="Saigon",service="storage",billing_group="dev",tag=""`, fmt.Sprintf("%g+%gx120", base*k/2, step*k/2)},
		}
	}
	gauge := func(v float64) []promSeries { return []promSeries{{"", fmt.Sprintf("%gx120", v)}} }
	resource := func(base float64) []promSeries {
		return []promSeries{{`vpc_id="v1",vpc_name="Hanoi",service="instance",billing_group="prod",tag="web",resource_id="r1",resource_name="vm-1"`,
			fmt.Sprintf("%g+1000x120", base*k)}}
	}
	return map[string][]promSeries{
		"fptcloud_billing_cost_vnd":                        billing(0, 10000),
		"fptcloud_billing_month_to_date_cost_vnd":          billing(50e6, 10000),
		"fptcloud_billing_yesterday_cost_vnd":              billing(2e6, 0),
		"fptcloud_billing_previous_month_cost_vnd":         billing(90e6, 0),
		"fptcloud_billing_vcpus":                           billing(8, 0),
		"fptcloud_billing_ram_bytes":                       billing(32*(1<<30), 0),
		"fptcloud_billing_disk_bytes":                      billing(500*(1<<30), 0),
		"fptcloud_billing_cpu_quantity":                    billing(4, 0),
		"fptcloud_billing_ram_quantity":                    billing(16, 0),
		"fptcloud_billing_disk_quantity":                   billing(250, 0),
		"fptcloud_billing_resource_cost_vnd":               resource(100000),
		"fptcloud_billing_resource_month_to_date_cost_vnd": resource(3e6),
		"fptcloud_billing_month_elapsed_ratio":             {{"", ratio + "x120"}},
		"fptcloud_billing_month_length_seconds":            gauge(2592000),
		"fptcloud_budget_daily_vnd":                        gauge(1e6 * k),
		"fptcloud_budget_monthly_vnd":                      gauge(100e6 * k),
		"fptcloud_budget_billing_group_daily_vnd":          {{`billing_group="prod"`, fmt.Sprintf("%gx120", 5e5*k)}},
		"fptcloud_budget_billing_group_monthly_vnd":        {{`billing_group="prod"`, fmt.Sprintf("%gx120", 60e6*k)}},
		"fptcloud_exporter_refresh_success":                gauge(1),
		"fptcloud_exporter_token_rejected":                 gauge(0),
		"fptcloud_exporter_data_age_seconds":               gauge(60 * k),
		"fptcloud_exporter_last_success_timestamp_seconds": {{"", fmt.Sprintf("%g+60x120", 1000*k)}},
		"fptcloud_exporter_label_sets":                     gauge(150 * k),
		"fptcloud_exporter_folded_label_sets":              gauge(k),
		"fptcloud_exporter_refresh_duration_seconds":       gauge(2 * k),
		"fptcloud_exporter_last_refresh_rows":              gauge(2000 * k),
		"fptcloud_exporter_last_refresh_pages":             gauge(20 * k),
		"fptcloud_exporter_refresh_failures_total":         {{"", fmt.Sprintf("0+%gx120", k)}},
		"fptcloud_exporter_api_requests_total": {
			{`endpoint="bills",code="200"`, fmt.Sprintf("0+%gx120", 5*k)},
			{`endpoint="bills",code="503"`, fmt.Sprintf("0+%gx120", k)},
		},
	}
}

func seriesLines(job, account string, data map[string][]promSeries) []map[string]string {
	var names []string
	for n := range data {
		names = append(names, n)
	}
	sort.Strings(names)
	target := fmt.Sprintf(`job=%q,instance="exp:10117"`, job)
	if account != "" {
		target += fmt.Sprintf(`,account=%q`, account)
	}
	var out []map[string]string
	for _, n := range names {
		for _, s := range data[n] {
			labels := target
			if s.labels != "" {
				labels += "," + s.labels
			}
			out = append(out, map[string]string{"series": n + "{" + labels + "}", "values": s.values})
		}
	}
	// Prometheus' own series and the process-wide build info: no account.
	for _, s := range []string{`up{%s}`, `fptcloud_exporter_build_info{%s,version="0.3.0",revision="abc",goversion="go1.26"}`} {
		out = append(out, map[string]string{"series": fmt.Sprintf(s, fmt.Sprintf(`job=%q,instance="exp:10117"`, job)), "values": "1x120"})
	}
	return out
}

type exprTest struct {
	Expr       string      `yaml:"expr"`
	EvalTime   string      `yaml:"eval_time"`
	ExpSamples []expSample `yaml:"exp_samples"`
}

type expSample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

func TestQueriesPerAccount(t *testing.T) {
	var input []map[string]string
	input = append(input, seriesLines("single", "", accountData(false))...)
	input = append(input, seriesLines("multi", "hn-prod", accountData(false))...)
	// The build info and up are the exporter's: once for job "multi".
	hcm := seriesLines("multi", "hcm-prod", accountData(true))
	input = append(input, hcm[:len(hcm)-2]...)

	all, err := Files()
	require.NoError(t, err)
	var tests []exprTest
	const at = "100m"
	nonEmpty := func(q string) exprTest {
		return exprTest{Expr: "count(" + q + ") > bool 0", EvalTime: at, ExpSamples: []expSample{{Labels: "{}", Value: 1}}}
	}
	empty := func(q string) exprTest { return exprTest{Expr: q, EvalTime: at, ExpSamples: []expSample{}} }
	// Results compared without the labels that tell the exporters and
	// accounts apart.
	strip := func(q string) string { return "sum without (job, instance, account) (" + q + ")" }
	same := func(a, b string) []exprTest {
		a, b = strip(a), strip(b)
		return []exprTest{
			empty("(" + a + ") != (" + b + ")"),
			empty("((" + a + ") unless (" + b + ")) or ((" + b + ") unless (" + a + "))"),
		}
	}

	for name, data := range all {
		d, err := Parse(data)
		require.NoError(t, err)
		base := map[string]string{"__rate_interval": "5m", "__interval": "5m", "__range": "5m"}
		for _, v := range d.Templating.List {
			if v.IncludeAll {
				base[v.Name] = v.AllValue
			}
		}
		with := func(job, account string) map[string]string {
			m := map[string]string{"job": job, "account": account}
			for k, v := range base {
				if _, set := m[k]; !set {
					m[k] = v
				}
			}
			return m
		}
		for _, p := range d.AllPanels() {
			for _, tg := range p.Targets {
				q := func(job, account string) string {
					out, err := resolve(tg.Expr, with(job, account))
					require.NoError(t, err, "%s panel %q", name, p.Title)
					return out
				}
				single, hn, hcm, both := q("single", ".*"), q("multi", "hn-prod"), q("multi", "hcm-prod"), q("multi", ".*")
				tests = append(tests, nonEmpty(single), nonEmpty(hn), nonEmpty(hcm), nonEmpty(both))
				tests = append(tests, same(hn, single)...)
				if strings.Contains(p.FieldConfig.Defaults.Unit, "VND") && strings.HasPrefix(tg.Expr, "sum(") {
					tests = append(tests, empty("("+both+") != ("+hn+") + ("+hcm+")"))
				}
				if strings.Contains(tg.Expr, "by (account,") {
					tests = append(tests, exprTest{
						Expr: "count(count by (account) (" + both + "))", EvalTime: at,
						ExpSamples: []expSample{{Labels: "{}", Value: 2}},
					})
				}
			}
		}
	}

	file := map[string]any{
		"rule_files":          []string{},
		"evaluation_interval": "1m",
		"tests": []map[string]any{{
			"interval":         "1m",
			"input_series":     input,
			"promql_expr_test": tests,
		}},
	}
	out, err := yaml.Marshal(file)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "dashboard_accounts_test.yml")
	require.NoError(t, os.WriteFile(path, out, 0o644))
	t.Logf("%d checks of the dashboard queries", len(tests))

	testhelp.ForEachPrometheus(t, func(t *testing.T, look func(string) string) {
		promtool := look("promtool")
		res, err := exec.CommandContext(t.Context(), promtool, "test", "rules", path).CombinedOutput()
		require.NoError(t, err, "promtool test rules:\n%s", testhelp.Tail(res, 20000))
		assert.Contains(t, string(res), "SUCCESS")
	})
}
