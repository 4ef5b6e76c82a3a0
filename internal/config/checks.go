package config

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/url"
	"path"
	"slices"
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

// BillingTimezone is the zone of FPT Cloud's billing days.
const BillingTimezone = "Asia/Ho_Chi_Minh"

// zoneWarning warns about a zone whose days do not start when FPT Cloud's
// billing days do: valid, but the sums are then not FPT's days. key names it.
func zoneWarning(key string, loc *time.Location, now time.Time) string {
	at, billing, differs := offsetDiffers(loc, now)
	if !differs {
		return ""
	}
	return fmt.Sprintf("%s=%s is not FPT Cloud's billing zone %s: billing days and months will start at another hour than FPT's (UTC%s, not UTC%s)",
		key, loc, BillingTimezone, at.In(loc).Format("-07:00"), at.In(billing).Format("-07:00"))
}

// storeTimeZone is the zone a stored day is valid for: the billing zone for
// any zone whose days are FPT's (Asia/Saigon, the old name, or Asia/Bangkok),
// so that moving between such names keeps the month cache.
func storeTimeZone(loc *time.Location, now time.Time) string {
	if _, _, differs := offsetDiffers(loc, now); differs {
		return loc.String()
	}
	return BillingTimezone
}

// offsetDiffers reports the first instant, of now and the same time in each
// month of the year after (for summer time), when loc's offset is not billing's.
func offsetDiffers(loc *time.Location, now time.Time) (at time.Time, billing *time.Location, differs bool) {
	billing, err := time.LoadLocation(BillingTimezone)
	if err != nil { // embedded through time/tzdata: cannot happen
		return now, time.UTC, loc.String() != BillingTimezone
	}
	for m := range 13 {
		t := now.AddDate(0, m, 0)
		if t.In(loc).Format("-07:00") != t.In(billing).Format("-07:00") {
			return t, billing, true
		}
	}
	return time.Time{}, billing, false
}

// checkAPIURL refuses a base URL the client could not use.
func checkAPIURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL; FPT Cloud's is %s", raw, fptapi.DefaultBaseURL)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not carry a user or password; the token authenticates", u.Redacted())
	}
	return nil
}

// urlWarning is a warning for a base URL whose path is not the API's
// (.../api): the requests would go to the wrong paths and get 404.
func urlWarning(key, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/api") {
		return ""
	}
	return fmt.Sprintf("%s=%s does not end in /api: the base URL has the form %s; requests may answer 404", key, raw, fptapi.DefaultBaseURL)
}

// plainHTTPWarning is a warning for a base URL that would send the token
// unencrypted to another machine; a loopback address (a local proxy, the
// demo's fake) stays on this one.
func plainHTTPWarning(key, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return ""
	}
	if host := u.Hostname(); host == "localhost" || net.ParseIP(host).IsLoopback() {
		return ""
	}
	return fmt.Sprintf("%s=%s is plain http: the API token is sent unencrypted", key, raw)
}

// parseTimezone loads an IANA time zone name. The empty string and "Local"
// are refused: the billing day must not silently follow the machine's zone.
func parseTimezone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not an IANA time zone name such as Asia/Ho_Chi_Minh", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q; FPT Cloud bills in %s (IANA names are Region/City)", name, BillingTimezone)
	}
	return loc, nil
}

// checkRateLimit refuses a rate the limiter cannot keep.
func checkRateLimit(perSecond float64) error {
	if !(perSecond >= minRateLimit) || math.IsInf(perSecond, 0) {
		return fmt.Errorf("%v is not a number of requests per second of at least %v", perSecond, minRateLimit)
	}
	return nil
}

// parseGroupBudgets parses repeated GROUP=AMOUNT values. The amount follows
// the last "=", as amounts never contain one, so billing group names may
// (a=b=5tr is group "a=b"). An empty GROUP (=5tr) is the rows without a
// billing group, which the API sends too.
func parseGroupBudgets(flag string, values []string) (map[string]float64, error) {
	budgets := make(map[string]float64, len(values))
	for _, v := range values {
		i := strings.LastIndex(v, "=")
		if i < 0 {
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
	clean := path.Clean(p)
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q must start with /", p)
	case p == "/-/healthy" || p == "/-/ready":
		return fmt.Errorf("%q is taken by a health endpoint", p)
	case strings.ContainsAny(p, "{}?#%") || strings.ContainsFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		// Braces would be mux wildcards and the mux unescapes %XX in
		// patterns: the request path would never match.
		return fmt.Errorf("%q must be a plain path", p)
	case p != clean && (clean == "/" || p != clean+"/"):
		// The mux redirects such a request to the cleaned path, where
		// nothing is served; a trailing slash is a subtree, served as is.
		return fmt.Errorf("%q is not a clean path (no //, . or ..)", p)
	}
	return nil
}

// buildFilters makes one query filter per combination of an account's service
// types, billing groups and billing configs; nil means one unfiltered query.
func buildFilters(serviceTypes, billingGroups, billingConfigs []string) []fptapi.Filter {
	orAll := func(values []string) []string {
		if len(values) == 0 {
			return []string{""}
		}
		return values
	}
	// A value given twice is one filter: the refresher, check and backfill
	// query it once, and the store's identity lists it once.
	var filters []fptapi.Filter
	for _, s := range orAll(serviceTypes) {
		for _, g := range orAll(billingGroups) {
			for _, c := range orAll(billingConfigs) {
				if f := (fptapi.Filter{ServiceType: s, BillingGroupName: g, BillingConfigName: c}); !slices.Contains(filters, f) {
					filters = append(filters, f)
				}
			}
		}
	}
	if len(filters) == 1 && filters[0] == (fptapi.Filter{}) {
		return nil
	}
	return filters
}

// isBlank is a filter value that names nothing.
func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// checkListenAddress refuses an address without a valid port, which the web
// server could not listen on; vsock:// addresses are the toolkit's to check.
func checkListenAddress(addr string) error {
	if strings.HasPrefix(addr, "vsock://") {
		return nil
	}
	example := fmt.Sprintf(`write HOST:PORT, such as ":%[1]s" (every interface) or "127.0.0.1:%[1]s"`, strings.TrimPrefix(DefaultAddress, ":"))
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not an address to listen on: %s", addr, example)
	}
	if _, err := net.DefaultResolver.LookupPort(context.Background(), "tcp", port); err != nil || port == "" {
		return fmt.Errorf("%q has no valid port (0-65535): %s", addr, example)
	}
	return nil
}
