package alerts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/dashboards"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// TestDashboardPerAccount runs the demo on the shipped example accounts
// file, scraped by a real Prometheus (2 and 3), and checks that every
// dashboard query returns data for each account alone, as a user picking
// one account in the dashboard's variable would see it.
func TestDashboardPerAccount(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("end-to-end test: skipped with -short (it always runs when CI is set)")
	}
	example := filepath.Join("..", "deploy", "accounts.example.yml")
	file, err := config.LoadFile(example)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(file.Accounts), 2, "the example should show several accounts")
	queries, err := dashboards.Queries("1m")
	require.NoError(t, err)
	exporter := buildExporter(t, t.TempDir())

	testhelp.ForEachPrometheus(t, func(t *testing.T, look func(string) string) {
		t.Parallel()
		dir := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		addr := startExporter(ctx, t, exporter, dir, "accounts", []string{"--config.file=" + example})
		prom := promClient{base: "http://" + startScrapingPrometheus(ctx, t, dir, look("prometheus"), addr)}

		for _, account := range file.Accounts {
			unset := unsetBudgets(account.Budgets)
			var empty []string
			poll(ctx, t, "every dashboard query returns data for account "+account.Name, func() error {
				empty = empty[:0]
				// The previous month is read last, at the account's own
				// rate limit: its panel has data once the month is in.
				reading, err := prom.value(ctx, fmt.Sprintf("fptcloud_exporter_previous_month_day_reads_missing{account=%q}", account.Name))
				if err != nil {
					return err
				}
				for _, q := range queries {
					if beforeFirstLateWindow() && (strings.Contains(q.Expr, "previous_month") || strings.Contains(q.Expr, "yesterday")) {
						continue // see mayBeAbsent
					}
					if reading > 0 && strings.Contains(q.Expr, "previous_month") {
						continue
					}
					if slices.ContainsFunc(unset, func(m string) bool { return strings.Contains(q.Expr, m+"{") }) {
						continue // a budget the account does not set has no series
					}
					expr := strings.ReplaceAll(q.Expr, `account=~".*"`, fmt.Sprintf("account=~%q", account.Name))
					n, err := prom.count(ctx, expr)
					if err != nil {
						return fmt.Errorf("%s panel %q %s: %w", q.File, q.Panel, q.RefID, err)
					}
					if n == 0 {
						empty = append(empty, fmt.Sprintf("%s panel %q %s: %s", q.File, q.Panel, q.RefID, expr))
					}
				}
				if len(empty) > 0 {
					return fmt.Errorf("%d queries without data:\n%s", len(empty), strings.Join(empty, "\n"))
				}
				return nil
			})
		}
	})
}

// unsetBudgets are the budget metrics an account without those budgets
// does not expose.
func unsetBudgets(b config.FileBudgets) []string {
	var unset []string
	for metric, set := range map[string]bool{
		"fptcloud_budget_daily_vnd":                 b.DailyVND != "",
		"fptcloud_budget_monthly_vnd":               b.MonthlyVND != "",
		"fptcloud_budget_billing_group_daily_vnd":   len(b.BillingGroupDailyVND) > 0,
		"fptcloud_budget_billing_group_monthly_vnd": len(b.BillingGroupMonthlyVND) > 0,
	} {
		if !set {
			unset = append(unset, metric)
		}
	}
	return unset
}

// startScrapingPrometheus runs Prometheus scraping target, with no rules.
func startScrapingPrometheus(ctx context.Context, t *testing.T, dir, bin, target string) string {
	t.Helper()
	promDir := filepath.Join(dir, "prometheus")
	require.NoError(t, os.MkdirAll(promDir, 0o755))
	cfg := filepath.Join(promDir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `global:
  scrape_interval: %s
  scrape_timeout: %s
scrape_configs:
  - job_name: fptcloud-accounts
    static_configs:
      - targets: [%q]
`, model.Duration(scrapeInterval), model.Duration(scrapeInterval), target), 0o644))
	return runPrometheus(ctx, t, dir, bin, cfg)
}
