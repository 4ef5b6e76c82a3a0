package dashboards

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
)

// contractMetrics are the metrics the exporter exposes, plus Prometheus' own
// up and the build info that main registers. Dashboards may use no other.
var contractMetrics = append([]string{"up", "fptcloud_exporter_build_info"}, collector.MetricNames()...)

// billingMetrics carry the billing labels: every selector of one must apply
// all the filter variables, so that no panel ignores a filter.
var billingFilters = map[string]string{
	"job":           "job",
	"vpc":           "vpc_name",
	"service":       "service",
	"billing_group": "billing_group",
	"tag":           "tag",
}

const dsRef = "${datasource}"

var (
	// PromQL function and keyword names that look like metric names.
	promqlWords = regexp.MustCompile(`^(sum|min|max|avg|count|topk|bottomk|by|without|on|ignoring|group_left|group_right|and|or|unless|rate|irate|increase|delta|label_replace|last_over_time|sum_over_time|offset|bool|vector|scalar|time|round|clamp_min|clamp_max|absent|label_values|inf|nan)$`)
	identRE     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	selectorRE  = regexp.MustCompile(`(\w+)\{([^}]*)\}`)
	stringRE    = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	labelListRE = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	rangeRE     = regexp.MustCompile(`\[[^\]]*\]|\boffset\s+-?[0-9a-z]+`)
	numberRE    = regexp.MustCompile(`\b\d+(\.\d+)?(e\d+)?\b`)
)

// metricNames returns the metric names a PromQL expression refers to, by
// elimination: strings, label lists, ranges, numbers and PromQL words removed.
func metricNames(expr string) []string {
	e := stringRE.ReplaceAllString(expr, `""`)
	e = selectorRE.ReplaceAllString(e, "$1 ")
	e = labelListRE.ReplaceAllString(e, " ")
	e = rangeRE.ReplaceAllString(e, " ")
	e = numberRE.ReplaceAllString(e, " ")
	var out []string
	for _, id := range identRE.FindAllString(e, -1) {
		if !promqlWords.MatchString(id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Dashboard is the part of Grafana's dashboard model the tests read.
type Dashboard struct {
	UID           string          `json:"uid"`
	Title         string          `json:"title"`
	SchemaVersion int             `json:"schemaVersion"`
	Inputs        json.RawMessage `json:"__inputs"`
	Panels        []Panel         `json:"panels"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Panel is a dashboard panel; a row holds its panels only while collapsed.
type Panel struct {
	ID          int             `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Datasource  json.RawMessage `json:"datasource"`
	GridPos     *GridPos        `json:"gridPos"`
	Targets     []Target        `json:"targets"`
	Panels      []Panel         `json:"panels"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

// GridPos places a panel on Grafana's 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Target is one query of a panel.
type Target struct {
	RefID      string          `json:"refId"`
	Expr       string          `json:"expr"`
	Datasource json.RawMessage `json:"datasource"`
}

// Variable is a templating variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource json.RawMessage `json:"datasource"`
	IncludeAll bool            `json:"includeAll"`
	Multi      bool            `json:"multi"`
	AllValue   string          `json:"allValue"`
}

// QueryText is a query variable's PromQL, whether Grafana stored it as a
// string or as {"query": "..."}.
func (v Variable) QueryText() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var obj struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &obj) == nil && obj.Query != "" {
		return obj.Query
	}
	return v.Definition
}

// Parse decodes a dashboard.
func Parse(data []byte) (*Dashboard, error) {
	var d Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decoding dashboard: %w", err)
	}
	return &d, nil
}

// AllPanels returns every panel, including those inside collapsed rows.
func (d *Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func loadAll(t *testing.T) map[string]*Dashboard {
	t.Helper()
	all, err := Files()
	require.NoError(t, err)
	require.NotEmpty(t, all, "no dashboard JSON in dashboards/")
	out := map[string]*Dashboard{}
	for name, data := range all {
		require.True(t, json.Valid(data), "%s is not valid JSON", name)
		d, err := Parse(data)
		require.NoError(t, err, name)
		out[name] = d
	}
	return out
}

func TestDashboardModel(t *testing.T) {
	t.Parallel()
	for name, d := range loadAll(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assert.NotEmpty(t, d.UID)
			assert.NotEmpty(t, d.Title)
			// 38 is Grafana 10.0's schema; Grafana 11 migrates it forward on import.
			assert.GreaterOrEqual(t, d.SchemaVersion, 36)
			assert.LessOrEqual(t, d.SchemaVersion, 39)
			assert.Empty(t, d.Inputs, "no __inputs: the data source is a variable")

			ids := map[int]string{}
			for _, p := range d.AllPanels() {
				_, dup := ids[p.ID]
				assert.False(t, dup, "panel id %d used twice (%q, %q)", p.ID, ids[p.ID], p.Title)
				ids[p.ID] = p.Title
				assert.Positive(t, p.ID, "panel %q has no id", p.Title)
				if assert.NotNil(t, p.GridPos, "panel %q has no gridPos", p.Title) {
					assert.Positive(t, p.GridPos.W, p.Title)
					assert.Positive(t, p.GridPos.H, p.Title)
					assert.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, p.Title)
				}
				if p.Type == "row" {
					continue
				}
				assert.NotEmpty(t, p.Title, "panel %d has no title", p.ID)
				assert.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
				for _, tg := range p.Targets {
					assert.NotEmpty(t, strings.TrimSpace(tg.Expr), "panel %q query %s is empty", p.Title, tg.RefID)
				}
			}
		})
	}
}

// TestNoHardCodedDatasource walks the whole JSON: every datasource reference
// and every uid except the dashboard's own must be the ${datasource} variable.
func TestNoHardCodedDatasource(t *testing.T) {
	t.Parallel()
	all, err := Files()
	require.NoError(t, err)
	for name, data := range all {
		var root map[string]any
		require.NoError(t, json.Unmarshal(data, &root), name)
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, child := range v {
					p := path + "." + k
					switch {
					case k == "datasource":
						switch ds := child.(type) {
						case string:
							assert.Contains(t, []string{dsRef, "$datasource"}, ds, "%s %s", name, p)
						case map[string]any:
							assert.Equal(t, dsRef, ds["uid"], "%s %s.uid", name, p)
							assert.Equal(t, "prometheus", ds["type"], "%s %s.type", name, p)
						default:
							assert.Fail(t, "unexpected datasource value", "%s %s: %v", name, p, child)
						}
					case k == "uid" && path != "":
						assert.Equal(t, dsRef, child, "%s %s: hard-coded uid", name, p)
					}
					walk(p, child)
				}
			case []any:
				for _, child := range v {
					walk(path+"[]", child)
				}
			}
		}
		walk("", root)
	}
}

func TestPanelsUseTheDatasourceVariable(t *testing.T) {
	t.Parallel()
	for name, d := range loadAll(t) {
		for _, p := range d.AllPanels() {
			if p.Type == "row" {
				continue
			}
			assert.JSONEq(t, `{"type":"prometheus","uid":"${datasource}"}`, string(p.Datasource), "%s panel %q", name, p.Title)
			for _, tg := range p.Targets {
				assert.JSONEq(t, `{"type":"prometheus","uid":"${datasource}"}`, string(tg.Datasource), "%s panel %q %s", name, p.Title, tg.RefID)
			}
		}
	}
}

func TestVariables(t *testing.T) {
	t.Parallel()
	for name, d := range loadAll(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defined := map[string]Variable{}
			for _, v := range d.Templating.List {
				defined[v.Name] = v
			}
			ds, ok := defined["datasource"]
			if assert.True(t, ok, "no datasource variable") {
				assert.Equal(t, "datasource", ds.Type)
				assert.JSONEq(t, `"prometheus"`, string(ds.Query))
			}
			for want := range billingFilters {
				assert.Contains(t, defined, want, "missing variable %s", want)
			}
			for _, v := range d.Templating.List {
				if v.Type != "query" {
					continue
				}
				// Grafana's own "All" is an alternation of the values it has
				// seen, which never matches an empty label value: untagged
				// cost would vanish. ".*" matches it.
				assert.True(t, v.IncludeAll, "%s: includeAll", v.Name)
				assert.True(t, v.Multi, "%s: multi-select", v.Name)
				assert.Equal(t, ".*", v.AllValue, "%s: custom All value", v.Name)
				assert.JSONEq(t, `{"type":"prometheus","uid":"${datasource}"}`, string(v.Datasource), v.Name)
				assert.True(t, strings.HasPrefix(v.QueryText(), "label_values("), "%s: %s", v.Name, v.QueryText())
			}

			var exprs []string
			for _, v := range d.Templating.List {
				if v.Type == "query" {
					exprs = append(exprs, v.QueryText())
				}
			}
			for _, p := range d.AllPanels() {
				for _, tg := range p.Targets {
					exprs = append(exprs, tg.Expr)
				}
			}
			for _, expr := range exprs {
				for _, m := range VarRE.FindAllStringSubmatch(expr, -1) {
					n := VarName(m)
					if strings.HasPrefix(n, "__") {
						assert.Contains(t, []string{"__rate_interval", "__interval", "__range"}, n, expr)
						continue
					}
					assert.Contains(t, defined, n, "undefined variable $%s in %s", n, expr)
				}
				// A multi-value variable is a regex: only =~ (or !~) may use it.
				for _, m := range regexp.MustCompile(`(\w+)\s*(=~|!~|!=|=)\s*"([^"]*\$[^"]*)"`).FindAllStringSubmatch(expr, -1) {
					assert.Contains(t, []string{"=~", "!~"}, m[2], "%s: use =~ with a variable: %s", m[0], expr)
					assert.Regexp(t, `^\$\w+$|^\$\{\w+\}$`, m[3], "%s: the variable alone, anchored by Prometheus", m[0])
				}
			}
		})
	}
}

func TestQueriesUseContractMetricsAndFilters(t *testing.T) {
	t.Parallel()
	for name, d := range loadAll(t) {
		for _, p := range d.AllPanels() {
			for _, tg := range p.Targets {
				for _, m := range metricNames(tg.Expr) {
					assert.Contains(t, contractMetrics, m, "%s panel %q: unknown metric in %s", name, p.Title, tg.Expr)
				}
				for _, sel := range selectorRE.FindAllStringSubmatch(tg.Expr, -1) {
					metric, matchers := sel[1], sel[2]
					if !strings.HasPrefix(metric, "fptcloud_") {
						continue
					}
					assert.Contains(t, matchers, `job=~"$job"`, "%s panel %q: %s ignores $job", name, p.Title, metric)
					if !isBillingSeries(metric) {
						continue
					}
					for variable, label := range billingFilters {
						assert.Contains(t, matchers, label+`=~"$`+variable+`"`, "%s panel %q: %s ignores $%s", name, p.Title, metric, variable)
					}
				}
			}
		}
	}
}

// isBillingSeries tells the metrics with the billing labels from the
// calendar gauges, which have none.
func isBillingSeries(metric string) bool {
	return strings.HasPrefix(metric, "fptcloud_billing_") &&
		!strings.HasSuffix(metric, "_ratio") && metric != "fptcloud_billing_month_length_seconds"
}

func TestUnits(t *testing.T) {
	t.Parallel()
	for name, d := range loadAll(t) {
		for _, p := range d.AllPanels() {
			if p.Type == "row" || p.Type == "table" && p.FieldConfig.Defaults.Unit == "" {
				continue
			}
			unit := p.FieldConfig.Defaults.Unit
			var all []string
			for _, tg := range p.Targets {
				all = append(all, tg.Expr)
			}
			joined := strings.Join(all, " ")
			switch {
			case unit == "percentunit":
				// A ratio: the money cancels out.
			case strings.Contains(joined, "cost_vnd") || strings.Contains(joined, "budget_"):
				assert.Contains(t, unit, "VND", "%s panel %q: money is in VND", name, p.Title)
			case strings.Contains(joined, "_bytes"):
				assert.Equal(t, "bytes", unit, "%s panel %q", name, p.Title)
			}
		}
	}
}

// TestQueriesResolveForAll checks the helper the end-to-end test uses: every
// query resolves with "All", and no Grafana variable is left.
func TestQueriesResolveForAll(t *testing.T) {
	t.Parallel()
	qs, err := Queries("5m")
	require.NoError(t, err)
	require.NotEmpty(t, qs)
	for _, q := range qs {
		assert.NotContains(t, q.Expr, "$", "%s panel %q: %s", q.File, q.Panel, q.Expr)
		assert.NotContains(t, q.Expr, "[[", "%s panel %q", q.File, q.Panel)
		if strings.Contains(q.Raw, `tag=~"$tag"`) {
			assert.Contains(t, q.Expr, `tag=~".*"`, "All must match the empty tag")
		}
	}
}

func TestMetricNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (service) (fptcloud_billing_cost_vnd{tag=~"$tag"})`, []string{"fptcloud_billing_cost_vnd"}},
		{`min(up{job=~"$job"} and on (job, instance) last_over_time(fptcloud_exporter_build_info{job=~"$job"}[1d]))`,
			[]string{"up", "fptcloud_exporter_build_info"}},
		{`label_replace(sum by (tag) (x{a="b c"}), "tag", "(untagged)", "tag", "") / 1073741824 > 0`, []string{"x"}},
		{`topk(10, rate(bogus_total[5m])) * 3600`, []string{"bogus_total"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, metricNames(tt.expr), tt.expr)
	}
}
