package alerts

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// An exporter serving several accounts (--config.file) labels every billing,
// budget and per-account self-metric with account. The promtool tests of
// tests/account_test.yml show the rules working with two and three
// accounts; these checks keep rules added later from dropping the label.

var (
	// A label list of by or on, with what follows it on its line.
	labelListRE = regexp.MustCompile(`\b(by|on)\s*\(([^)]*)\)([^\n]*)`)
	// A selector built in an annotation's query: its metric and matchers.
	annotationQueryRE = regexp.MustCompile(`printf "([^"]*)\{([^}]*)\}`)
	// Prometheus' up or the build info, as a metric of its own.
	exporterMetricRE = regexp.MustCompile(`(?:^|[^:\w])(?:up|fptcloud_exporter_build_info)\b`)
)

func TestRulesKeepTheAccount(t *testing.T) {
	for _, r := range loadRules(t) {
		name := r.Record + r.Alert
		// Prometheus' up and the build info belong to the exporter, not to
		// an account: the exporter-down alert has no account to keep.
		if exporterMetricRE.MatchString(r.Expr) {
			continue
		}
		for _, m := range labelListRE.FindAllStringSubmatch(r.Expr, -1) {
			labels := strings.Split(strings.ReplaceAll(m[2], " ", ""), ",")
			if !slices.Contains(labels, "instance") {
				continue
			}
			// The refresh interval and max-age are flags of the whole
			// process: they are joined to every account of the exporter,
			// with group_left, or asked about the exporter itself.
			rest := m[3]
			if strings.HasPrefix(strings.TrimSpace(rest), "group_left") ||
				strings.Contains(rest, "fptcloud_exporter_refresh_interval_seconds") {
				continue
			}
			assert.Contains(t, labels, "account", "%s: %s drops the account", name, strings.TrimSpace(m[0]))
		}
	}
}

// TestAnnotationQueriesSelectTheAccount: a value looked up for an alert's
// text is that of the alert's own account, or, for a flag of the whole
// process, the same for all of them (max).
func TestAnnotationQueriesSelectTheAccount(t *testing.T) {
	for _, r := range loadRules(t) {
		for key, text := range r.Annotations {
			for _, m := range annotationQueryRE.FindAllStringSubmatch(text, -1) {
				query, matchers := m[1], m[2]
				if !strings.Contains(matchers, "instance=%q") || strings.HasPrefix(query, "max(") {
					continue
				}
				assert.Contains(t, matchers, "account=%q", "%s %s: %s{%s} may answer for another account", r.Alert, key, query, matchers)
			}
		}
	}
}
