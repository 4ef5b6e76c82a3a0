package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// backfillSettings resolves the backfill command's own flags for the one
// source of cfg.
func (a *App) backfillSettings(cfg *Config, now time.Time) error {
	b := &cfg.Backfill
	b.Output = a.backfillOutput
	var err error
	if b.From, b.To, err = parseRange(a.from, a.to, cfg.Sources[0].Location, now); err != nil {
		return err
	}
	if b.Labels, err = parseExtraLabels(a.labels); err != nil {
		return err
	}
	if cfg.ConfigFile != "" && slices.ContainsFunc(b.Labels, func(l Label) bool { return l.Name == AccountLabel }) {
		return fmt.Errorf("--label: %q is the account's name with --config.file, set by --account", AccountLabel)
	}
	return nil
}

// parseRange parses --from and --to as billing days in loc and refuses a
// range that is empty or reaches a day that is not final at now: today, the
// future, or yesterday while its late rows may still arrive. Once in a
// Prometheus block, a sample cannot be corrected by the next scrape.
func parseRange(fromArg, toArg string, loc *time.Location, now time.Time) (from, to billing.Date, err error) {
	if from, err = billing.ParseDate(fromArg); err != nil {
		return from, to, fmt.Errorf("--from: %q is not a date (YYYY-MM-DD)", fromArg)
	}
	if to, err = billing.ParseDate(toArg); err != nil {
		return from, to, fmt.Errorf("--to: %q is not a date (YYYY-MM-DD)", toArg)
	}
	if to.Before(from) {
		return from, to, fmt.Errorf("--from=%s is after --to=%s", fromArg, toArg)
	}
	if today := billing.DateOf(now.In(loc)); !to.Before(today) {
		return from, to, fmt.Errorf("--to=%s: the billing day is not closed (today in %s is %s): the last day must be before today",
			toArg, loc, today)
	}
	if final := to.End(loc).Add(collector.DefaultLateWindow); now.Before(final) {
		return from, to, fmt.Errorf("--to=%s: late bills of that day may still arrive until %s (%s after its end): wait until then, or end the range a day earlier",
			toArg, final.Format("2006-01-02 15:04 MST"), LateWindow())
	}
	return from, to, nil
}

// parseExtraLabels parses the --label values. A billing label cannot be
// overridden: the series would no longer be the exporter's.
func parseExtraLabels(args []string) ([]Label, error) {
	var out []Label
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("--label: %q is not NAME=VALUE", a)
		// The classic label name syntax, which every Prometheus release accepts.
		case !model.LegacyValidation.IsValidLabelName(name) || strings.HasPrefix(name, "__"):
			return nil, fmt.Errorf("--label: %q is not a label name (letters, digits and _, not starting with a digit or __)", name)
		case slices.Contains(collector.BillingLabels(), name):
			return nil, fmt.Errorf("--label: %q is a label of the billing series themselves", name)
		case slices.ContainsFunc(out, func(l Label) bool { return l.Name == name }):
			return nil, fmt.Errorf("--label: %q given twice", name)
		}
		out = append(out, Label{name, value})
	}
	return out, nil
}
