package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// contractMetrics are the metrics the exporter exposes, plus Prometheus' own
// up and the build info that main registers. Rules may use no other.
var contractMetrics = append([]string{"up", "fptcloud_exporter_build_info"}, collector.MetricNames()...)

// ruleFiles are the rule files users load into Prometheus, in the order
// given in the README.
var ruleFiles = []string{"fptcloud-rules.yml", "fptcloud-alerts.yml"}

// ruleFile is the part of Prometheus' rule file format the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// unitTestFile is the part of promtool's unit test format the tests read.
type unitTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTests []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var rules []rule
	for _, name := range ruleFiles {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		var f ruleFile
		require.NoError(t, yaml.Unmarshal(data, &f), name)
		for _, g := range f.Groups {
			rules = append(rules, g.Rules...)
		}
	}
	require.NotEmpty(t, rules)
	return rules
}

func unitTestFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("tests", "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no promtool unit tests under alerts/tests")
	return files
}

func runPromtool(t *testing.T, promtool string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), promtool, args...).CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

func TestPromtoolCheckRules(t *testing.T) {
	t.Parallel()
	testhelp.ForEachPrometheus(t, func(t *testing.T, look func(string) string) {
		t.Parallel()
		promtool := look("promtool")
		t.Log(promtoolVersion(t, promtool))
		out := runPromtool(t, promtool, append([]string{"check", "rules"}, ruleFiles...)...)
		assert.NotContains(t, out, "FAILED")
		assert.Equal(t, len(ruleFiles), strings.Count(out, "SUCCESS"), out)
	})
}

// alertmanagerExample is the example Alertmanager configuration shipped
// beside the rules; the end-to-end test runs Alertmanager with it.
const alertmanagerExample = "alertmanager.example.yml"

func TestAlertmanagerExampleConfig(t *testing.T) {
	t.Parallel()
	amtool := testhelp.LookDebian(t, "amtool", "prometheus-alertmanager")
	out, err := exec.CommandContext(t.Context(), amtool, "check-config", alertmanagerExample).CombinedOutput()
	require.NoError(t, err, "amtool check-config:\n%s", out)
	assert.Contains(t, string(out), "SUCCESS")

	// Every alert name its inhibit rules mention exists.
	data, err := os.ReadFile(alertmanagerExample)
	require.NoError(t, err)
	var names []string
	for _, r := range loadRules(t) {
		names = append(names, r.Alert)
	}
	for _, m := range regexp.MustCompile(`FPTCloud\w+`).FindAllString(string(data), -1) {
		assert.Contains(t, names, m, "%s names an unknown alert", alertmanagerExample)
	}
}

func TestPromtoolUnitTests(t *testing.T) {
	t.Parallel()
	testhelp.ForEachPrometheus(t, func(t *testing.T, look func(string) string) {
		t.Parallel()
		promtool := look("promtool")
		t.Log(promtoolVersion(t, promtool))
		for _, file := range unitTestFiles(t) {
			t.Run(filepath.Base(file), func(t *testing.T) {
				t.Parallel()
				out := runPromtool(t, promtool, "test", "rules", file)
				assert.Contains(t, out, "SUCCESS")
			})
		}
	})
}

// TestEveryAlertIsUnitTested checks that promtool's tests show every alert
// both firing and silent, and that they load exactly the shipped files.
func TestEveryAlertIsUnitTested(t *testing.T) {
	t.Parallel()
	fires := map[string]bool{}
	silent := map[string]bool{}
	for _, file := range unitTestFiles(t) {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var f unitTestFile
		require.NoError(t, yaml.Unmarshal(data, &f), file)
		var loaded []string
		for _, rf := range f.RuleFiles {
			loaded = append(loaded, filepath.Base(rf))
		}
		assert.ElementsMatch(t, ruleFiles, loaded, "%s must load the shipped rule files", file)
		for _, tc := range f.Tests {
			for _, at := range tc.AlertRuleTests {
				if len(at.ExpAlerts) > 0 {
					fires[at.Alertname] = true
				} else {
					silent[at.Alertname] = true
				}
			}
		}
	}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		assert.True(t, fires[r.Alert], "no promtool test shows %s firing", r.Alert)
		assert.True(t, silent[r.Alert], "no promtool test shows %s silent", r.Alert)
	}
}

var (
	// A raw metric name: not part of a recorded name (level:metric:op).
	rawMetricRE = regexp.MustCompile(`(?:^|[^:\w])((?:fptcloud_|up\b)\w*)`)
	recordRE    = regexp.MustCompile(`^[a-z_]+:fptcloud_[a-z0-9_]+:[a-z0-9_]+$`)
)

func TestRuleConventions(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range loadRules(t) {
		name := r.Record + r.Alert
		require.False(t, seen[name], "duplicate rule %s", name)
		seen[name] = true

		for _, m := range rawMetricRE.FindAllStringSubmatch(r.Expr, -1) {
			assert.Contains(t, contractMetrics, m[1], "%s uses a metric the exporter does not expose", name)
		}
		if r.Record != "" {
			assert.Regexp(t, recordRE, r.Record, "recording rule names follow level:metric:operations")
			continue
		}

		assert.True(t, strings.HasPrefix(r.Alert, "FPTCloud"), "alert %s must be named FPTCloud...", r.Alert)
		assert.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], "%s severity", r.Alert)
		for _, key := range []string{"summary", "description", "action"} {
			assert.NotEmpty(t, strings.TrimSpace(r.Annotations[key]), "%s has no %s annotation", r.Alert, key)
		}
		desc := r.Annotations["description"]
		if strings.Contains(desc, "$value") {
			assert.NotRegexp(t, `\$value\s*}}`, desc, "%s: humanise the value", r.Alert)
		}
		if strings.Contains(r.Expr, "_vnd") {
			assert.Contains(t, desc, "{{ $value | humanize }} VND", "%s: give the amount humanised, in VND", r.Alert)
		}
		if strings.Contains(r.Expr, "fptcloud_budget_") {
			// With no budget the gauge is absent: the comparison must be
			// with the gauge itself, never with a default such as "or vector(0)".
			assert.NotContains(t, r.Expr, "vector(", "%s must stay silent without a budget", r.Alert)
		}
	}
}

func TestContractListHasNoDuplicates(t *testing.T) {
	t.Parallel()
	sorted := slices.Clone(contractMetrics)
	slices.Sort(sorted)
	assert.Len(t, slices.Compact(slices.Clone(sorted)), len(sorted))
}

// promtoolVersion is the first line of promtool --version, for messages.
func promtoolVersion(t *testing.T, promtool string) string {
	t.Helper()
	out, _ := exec.CommandContext(t.Context(), promtool, "--version").CombinedOutput()
	first, _, _ := strings.Cut(string(out), "\n")
	return first
}
