package main

import (
	"errors"
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// Limits on user input.
const (
	minRefreshInterval = time.Second
	// maxRefreshInterval: today's bills must be read at least once a day.
	maxRefreshInterval = 24 * time.Hour
	// minRateLimit: slower than one request in about 17 minutes cannot
	// page through even one day per refresh.
	minRateLimit = 0.001
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

// groupedNumber is a decimal number with "_" or "," between groups of three
// digits (5_000_000, 5,000,000.50). Separators anywhere else are refused:
// "1,5" and "1.500" mean different things in different locales.
var groupedNumber = regexp.MustCompile(`^[0-9]{1,3}([_,][0-9]{3})+(\.[0-9]+)?$`)

// parseVND parses a budget amount in VND: a plain or scientific decimal
// number, or one with thousands separators (see groupedNumber).
func parseVND(s string) (float64, error) {
	clean := strings.TrimSpace(s)
	if groupedNumber.MatchString(clean) {
		clean = strings.NewReplacer("_", "", ",", "").Replace(clean)
	}
	v, err := strconv.ParseFloat(clean, 64)
	if err != nil || strings.ContainsAny(clean, "_xXpP") {
		return 0, fmt.Errorf("%q is not an amount in VND", s)
	}
	// 0 is refused, not taken as "no budget": leave the flag out for that.
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, fmt.Errorf("%q is not a finite, positive amount in VND", s)
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

// checkTelemetryPath refuses a metrics path that the mux cannot route, or
// that would shadow the health endpoints.
func checkTelemetryPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("--web.telemetry-path: %q must start with /", p)
	case p == "/-/healthy" || p == "/-/ready":
		return fmt.Errorf("--web.telemetry-path: %q is taken by a health endpoint", p)
	case strings.ContainsAny(p, "{}?#%") || strings.ContainsFunc(p, isSpaceOrControl):
		// Braces would be mux wildcards and the mux unescapes %XX in
		// patterns: the request path would never match.
		return fmt.Errorf("--web.telemetry-path: %q must be a plain path", p)
	case !isCleanPath(p):
		// The mux redirects such a request to the cleaned path, where
		// nothing is served.
		return fmt.Errorf("--web.telemetry-path: %q is not a clean path (no //, . or ..)", p)
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// isCleanPath reports whether p is its own path.Clean, but for a trailing
// slash (a subtree, which the mux serves as is).
func isCleanPath(p string) bool {
	c := path.Clean(p)
	return p == c || (c != "/" && p == c+"/")
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
	// Repeated values make repeated filters: the refresher drops those.
	var filters []fptapi.Filter
	for _, s := range serviceTypes {
		for _, g := range billingGroups {
			filters = append(filters, fptapi.Filter{ServiceType: s, BillingGroupName: g})
		}
	}
	if len(filters) == 1 && filters[0] == (fptapi.Filter{}) {
		return nil, nil
	}
	return filters, nil
}
