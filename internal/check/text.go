package check

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

// writeText prints the report for a person.
func (r *Report) writeText(b *strings.Builder) {
	line := func(key, format string, args ...any) {
		fmt.Fprintf(b, "%-16s %s\n", key+":", fmt.Sprintf(format, args...))
	}
	line("API URL", "%s", r.APIURL)
	line("token", "from %s", r.TokenSource)
	line("billing day", "%s (%s)", r.BillingDay, r.TimeZone)
	status := "none"
	if r.LastHTTPStatus != 0 {
		status = fmt.Sprintf("HTTP %d %s", r.LastHTTPStatus, http.StatusText(r.LastHTTPStatus))
	}
	line("requests", "%d bills, %d bill/info (at most %d and 1, no retries); last answer: %s",
		r.BillsRequests, r.BillInfoRequests, config.CheckMaxBillsRequests, status)
	if r.OK || r.Rows > 0 {
		read := "all of today's pages"
		if !r.AllPagesRead {
			read = "stopped at the check's limit: today has more rows, the exporter reads them all"
		}
		line("rows read", "%d in %d pages (%s)", r.Rows, r.Pages, read)
		line("cost so far", "%s VND (before VAT, rows read only)", formatVND(r.CostVND))
		writeCosts(b, "by service", r.CostByService)
		writeCosts(b, "by billing group", r.CostByBillingGroup)
		for _, label := range checkLabels {
			if v := r.LabelValues[label.name]; len(v) > 0 {
				line("  "+label.name, "%s", strings.Join(quoteAll(v), ", "))
			}
		}
	}
	if len(r.BillingGroups) > 0 {
		b.WriteString("billing groups (for --fpt.billing-group, --fpt.billing-config, --budget.billing-group-*):\n")
		for _, g := range r.BillingGroups {
			fmt.Fprintf(b, "  %q: configs %s\n", g.Name, strings.Join(quoteAll(g.Configs), ", "))
		}
	}
	for _, warning := range r.Warnings {
		fmt.Fprintf(b, "warning: %s\n", warning)
	}
	if r.OK {
		b.WriteString("OK: a deployment with these settings would work\n")
	} else {
		fmt.Fprintf(b, "FAILED: %s\n  %s\n", r.Reason, r.Error)
	}
}

func writeCosts(b *strings.Builder, title string, costs map[string]float64) {
	fmt.Fprintf(b, "  %s:\n", title)
	// Largest first: the lines a reader looks for.
	keys := slices.SortedFunc(maps.Keys(costs), func(x, y string) int {
		return cmp.Or(cmp.Compare(costs[y], costs[x]), strings.Compare(x, y))
	})
	for _, k := range keys {
		fmt.Fprintf(b, "    %-28q %18s VND\n", k, formatVND(costs[k]))
	}
}

func quoteAll(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strconv.Quote(v)
	}
	return out
}

// formatVND writes an amount rounded to whole dong with "," between
// thousands: 1234567.6 -> "1,234,568".
func formatVND(v float64) string {
	digits := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	var b strings.Builder
	if v <= -0.5 {
		b.WriteByte('-')
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}
