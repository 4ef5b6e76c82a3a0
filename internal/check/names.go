package check

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

// errUnknownName is a filter that names no billing group or config of the
// account: it selects no bill, and a typo there looks like a quiet account.
var errUnknownName = errors.New("names no billing group or config of the account")

// errUnverifiedName is a filter that neither bill/info (which failed) nor
// today's bills confirm: it may be a typo, which the check exists to catch.
var errUnverifiedName = errors.New("cannot verify")

// checkNames compares the billing groups and configs the flags name with
// the account's: those bill/info lists and those today's rows carry (alone
// with infoErr, when bill/info failed). An unknown filter fails the check;
// an unknown budget group is a warning, as its alert can never fire.
func (r *Report) checkNames(s *config.Source, groups []fptapi.BillingGroup, infoErr error, seen *labelValues) error {
	knownGroups, knownConfigs := map[string]struct{}{}, map[string]struct{}{}
	// Rows with an empty billing group make "" a group a budget may name.
	maps.Copy(knownGroups, seen.sets["billing_group_name"])
	maps.Copy(knownConfigs, seen.sets["billing_config_name"])
	for _, g := range groups {
		knownGroups[g.Name] = struct{}{}
		for _, c := range g.ConfigNames {
			knownConfigs[c] = struct{}{}
		}
	}
	keys := flagSettings
	if s.Name != "" {
		keys = fileSettings
	}
	unknown := unknownFilters(s.Filters, knownGroups, knownConfigs, keys)
	r.warnBudgetGroups(s.Budgets, knownGroups, infoErr, keys)
	switch {
	case len(unknown) == 0:
		return nil
	case infoErr != nil:
		it := "it"
		if len(unknown) > 1 {
			it = "them"
		}
		return fmt.Errorf("%w %s: bill/info failed (%s) and no bill read today carries %s; the exporter would still query %s, and a wrong name reads no bills",
			errUnverifiedName, strings.Join(unknown, ", "), billInfoFailure(infoErr), it, it)
	}
	return fmt.Errorf("%s %w: it selects no bills (the account's are listed above)", strings.Join(unknown, ", "), errUnknownName)
}

// settings are the names a report gives the settings it verifies: the
// flags, or the keys of the account's entry in the accounts file.
type settings struct{ group, config, groupDaily, groupMonthly string }

var (
	flagSettings = settings{"--fpt.billing-group", "--fpt.billing-config", "--budget.billing-group-daily-vnd", "--budget.billing-group-monthly-vnd"}
	fileSettings = settings{"billing_groups", "billing_configs", "budgets.billing_group_daily_vnd", "budgets.billing_group_monthly_vnd"}
)

// unknownFilters lists the filters that name a group or config not known.
func unknownFilters(filters []fptapi.Filter, knownGroups, knownConfigs map[string]struct{}, keys settings) []string {
	var unknown []string
	note := func(flag, name string, known map[string]struct{}) {
		if _, ok := known[name]; name == "" || ok {
			return
		}
		if msg := fmt.Sprintf("%s=%q%s", flag, name, didYouMean(name, known)); !slices.Contains(unknown, msg) {
			unknown = append(unknown, msg)
		}
	}
	for _, f := range filters {
		note(keys.group, f.BillingGroupName, knownGroups)
		note(keys.config, f.BillingConfigName, knownConfigs)
	}
	return unknown
}

// warnBudgetGroups warns about a budget of a group not known: its alert
// can never fire.
func (r *Report) warnBudgetGroups(budgets collector.Budgets, knownGroups map[string]struct{}, infoErr error, keys settings) {
	for _, b := range []struct {
		flag   string
		groups map[string]float64
	}{{keys.groupDaily, budgets.GroupDaily}, {keys.groupMonthly, budgets.GroupMonthly}} {
		for _, g := range slices.Sorted(maps.Keys(b.groups)) {
			if _, ok := knownGroups[g]; ok {
				continue
			}
			var msg string
			switch {
			case g == "":
				msg = `"" is the rows without a billing group, and no bill read today is one: its budget alert can fire only once such rows appear`
			case infoErr != nil:
				msg = fmt.Sprintf("%q is not verified: no bill read today carries it%s, and bill/info failed", g, didYouMean(g, knownGroups))
			default:
				msg = fmt.Sprintf("%q is not a billing group of the account%s: its budget alert can never fire", g, didYouMean(g, knownGroups))
			}
			r.Warnings = append(r.Warnings, b.flag+": "+msg)
		}
	}
}

// didYouMean suggests the known name that differs from name only in case,
// spaces or Vietnamese diacritics ("Khoi Cong nghe" for "Khối Công nghệ").
func didYouMean(name string, known map[string]struct{}) string {
	folded := foldName(name)
	for _, k := range slices.Sorted(maps.Keys(known)) {
		if foldName(k) == folded {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	return ""
}

// foldName drops case, spaces and diacritics: đ is a letter of its own, not
// d with a mark, so it is mapped by hand.
func foldName(s string) string {
	stripped, _, _ := transform.String(transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn))), s) // NFD and Remove never fail
	stripped = strings.NewReplacer("đ", "d", "Đ", "D").Replace(stripped)
	return strings.ToLower(strings.Join(strings.Fields(stripped), ""))
}
