package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// Limits on user input. The API's own maximum page size is undocumented;
// 1000 keeps one page's body well under the client's response cap.
const (
	minPageSize        = 1
	maxPageSize        = 1000
	minRefreshInterval = time.Second
	// maxRefreshInterval: today's bills must be read at least once a day.
	maxRefreshInterval = 24 * time.Hour
)

// parseTimezone loads an IANA time zone name. The empty string and "Local"
// are refused: the billing day must not silently follow the machine's zone.
func parseTimezone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("--fpt.timezone: %q is not an IANA time zone name such as Asia/Ho_Chi_Minh", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--fpt.timezone: unknown time zone %q", name)
	}
	return loc, nil
}

// parseVND parses a budget amount in VND: a plain or scientific decimal
// number, optionally with "_" or "," as thousands separators (5_000_000).
func parseVND(s string) (float64, error) {
	clean := strings.NewReplacer("_", "", ",", "").Replace(strings.TrimSpace(s))
	v, err := strconv.ParseFloat(clean, 64)
	if err != nil || clean == "" {
		return 0, fmt.Errorf("%q is not an amount in VND", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("%q is not a finite, non-negative amount in VND", s)
	}
	return v, nil
}

// parseGroupBudgets parses repeated GROUP=AMOUNT values. The amount follows
// the last "=", so billing group names may themselves contain "=".
func parseGroupBudgets(flag string, values []string) (map[string]float64, error) {
	budgets := make(map[string]float64, len(values))
	for _, v := range values {
		i := strings.LastIndex(v, "=")
		if i <= 0 {
			return nil, fmt.Errorf("--%s: %q is not BILLING_GROUP=AMOUNT", flag, v)
		}
		group := v[:i]
		amount, err := parseVND(v[i+1:])
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		if _, dup := budgets[group]; dup {
			return nil, fmt.Errorf("--%s: billing group %q given twice", flag, group)
		}
		budgets[group] = amount
	}
	return budgets, nil
}

// buildFilters turns the repeatable filter flags into one query filter per
// (service type, billing group) pair; no flags means one unfiltered query.
func buildFilters(serviceTypes, billingGroups []string) ([]fptapi.Filter, error) {
	for _, s := range append(append([]string{}, serviceTypes...), billingGroups...) {
		if strings.TrimSpace(s) == "" {
			return nil, errors.New("--fpt.service-type and --fpt.billing-group values must not be empty")
		}
	}
	if len(serviceTypes) == 0 {
		serviceTypes = []string{""}
	}
	if len(billingGroups) == 0 {
		billingGroups = []string{""}
	}
	seen := make(map[fptapi.Filter]bool)
	var filters []fptapi.Filter
	for _, s := range serviceTypes {
		for _, g := range billingGroups {
			f := fptapi.Filter{ServiceType: s, BillingGroupName: g}
			if !seen[f] {
				seen[f] = true
				filters = append(filters, f)
			}
		}
	}
	if len(filters) == 1 && filters[0] == (fptapi.Filter{}) {
		return nil, nil
	}
	return filters, nil
}
