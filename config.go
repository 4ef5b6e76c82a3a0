package main

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
	"regexp"
	"slices"
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

// billingTimezone is the zone of FPT Cloud's billing days.
const billingTimezone = "Asia/Ho_Chi_Minh"

// timezoneWarning is a warning for a --fpt.timezone whose days do not start
// when FPT Cloud's billing days do: valid, but the sums are then not FPT's
// days.
func timezoneWarning(loc *time.Location, now time.Time) string {
	at, billing, differs := offsetDiffers(loc, now)
	if !differs {
		return ""
	}
	return fmt.Sprintf("--fpt.timezone=%s is not FPT Cloud's billing zone %s: billing days and months will start at another hour than FPT's (UTC%s, not UTC%s)",
		loc, billingTimezone, at.In(loc).Format("-07:00"), at.In(billing).Format("-07:00"))
}

// storeTimeZone is the zone a stored day is valid for: the billing zone for
// any zone whose days are FPT's (Asia/Saigon, the old name, or Asia/Bangkok),
// so that moving between such names keeps the month cache.
func storeTimeZone(loc *time.Location, now time.Time) string {
	if _, _, differs := offsetDiffers(loc, now); differs {
		return loc.String()
	}
	return billingTimezone
}

// offsetDiffers reports the first instant, of now and the same time in each
// month of the year after (for summer time), when loc's UTC offset is not
// that of billing, the billing zone.
func offsetDiffers(loc *time.Location, now time.Time) (at time.Time, billing *time.Location, differs bool) {
	billing, err := time.LoadLocation(billingTimezone)
	if err != nil { // embedded through time/tzdata: cannot happen
		return now, time.UTC, loc.String() != billingTimezone
	}
	for m := range 13 {
		t := now.AddDate(0, m, 0)
		if offsetOf(t.In(loc)) != offsetOf(t.In(billing)) {
			return t, billing, true
		}
	}
	return time.Time{}, billing, false
}

func offsetOf(t time.Time) int {
	_, off := t.Zone()
	return off
}

// checkAPIURL refuses a --fpt.api-url the client could not use, before
// anything starts.
func checkAPIURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--fpt.api-url: %q is not an absolute http(s) URL; FPT Cloud's is %s", raw, fptapi.DefaultBaseURL)
	}
	if u.User != nil {
		return fmt.Errorf("--fpt.api-url: %q must not carry a user or password; the token authenticates", u.Redacted())
	}
	return nil
}

// apiURLWarning is a warning for a --fpt.api-url whose path is not the API's
// base (.../api): the requests would go to the wrong paths and get 404.
func apiURLWarning(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/api") {
		return ""
	}
	return fmt.Sprintf("--fpt.api-url=%s does not end in /api: the base URL has the form %s; requests may answer 404", raw, fptapi.DefaultBaseURL)
}

// parseTimezone loads an IANA time zone name. The empty string and "Local"
// are refused: the billing day must not silently follow the machine's zone.
func parseTimezone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("--fpt.timezone: %q is not an IANA time zone name such as Asia/Ho_Chi_Minh", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--fpt.timezone: unknown time zone %q; FPT Cloud bills in %s (IANA names are Region/City)", name, billingTimezone)
	}
	return loc, nil
}

// vndSuffixes are the multipliers people in Vietnam write after an amount,
// matched case-insensitively: k and nghìn (thousand), M, tr and triệu
// (million), B, tỷ and tỉ (billion), with or without diacritics.
var vndSuffixes = map[string]int{
	"k": 3, "nghìn": 3, "nghin": 3, "ngàn": 3, "ngan": 3,
	"m": 6, "tr": 6, "triệu": 6, "trieu": 6,
	"b": 9, "tỷ": 9, "tỉ": 9, "ty": 9, "ti": 9,
}

// vndForms is what every amount error lists.
const vndForms = "accepted forms: 5000000, 5.000.000, 5,000,000, 5_000_000, 5e6, " +
	"decimals as 1.5 or 1,5, and a suffix k/nghìn (thousand), M/tr/triệu (million) or B/tỷ/ty (billion) such as 5tr, 1,5 triệu, 2ty"

// parseVND parses a budget amount in VND as people write it. Dots and
// commas are read by their position, never by locale:
//   - a separator that occurs more than once separates groups of three
//     digits (5.000.000, 5,000,000); "_" always does (5_000_000);
//   - with both "." and ",", the last one is the decimal mark
//     (5.000.000,50 or 5,000,000.50);
//   - a single "." or "," is a decimal mark (1.5, 1,5), except before
//     exactly three digits: 5.000 is five thousand to one reader and five
//     to another, so it is refused rather than guessed.
//
// A suffix (see vndSuffixes) multiplies; scientific notation (5e6) takes
// none. The amount must be finite and positive.
func parseVND(s string) (float64, error) {
	fail := func(why string) (float64, error) {
		return 0, fmt.Errorf("%q %s; %s", s, why, vndForms)
	}
	number, exp, ok := cutVNDSuffix(strings.TrimSpace(s))
	switch {
	case number == "":
		return fail("is not an amount in VND")
	case !ok:
		return fail("has an unknown suffix")
	}
	var decimal string
	if strings.ContainsAny(number, "eE") {
		if exp != 0 || !scientific.MatchString(number) {
			return fail("is not an amount in VND")
		}
		decimal = number
	} else {
		intPart, frac, why := splitGrouped(number)
		if why == whyAmbiguous {
			if msg := ambiguity(number, strings.TrimSpace(s)[len(number):]); msg != "" {
				return 0, fmt.Errorf("%q %s", s, msg)
			}
			return fail("is not a finite, positive amount in VND")
		}
		if why != "" {
			return fail(why)
		}
		decimal = intPart + "." + frac + "e" + strconv.Itoa(exp)
	}
	// ParseFloat rounds the exact decimal once: the suffix moves the
	// exponent rather than multiplying a rounded value.
	v, err := strconv.ParseFloat(decimal, 64)
	// 0 is refused, not taken as "no budget": leave the flag out for that.
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || v <= 0 {
		return fail("is not a finite, positive amount in VND")
	}
	return v, nil
}

// scientific is a plain decimal with an exponent: 5e6, 1.5E+6.
var scientific = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+$`)

// cutVNDSuffix splits "5 triệu" into "5" and 6. ok is false for text after
// the number that is not a known suffix.
func cutVNDSuffix(s string) (number string, exp int, ok bool) {
	end := strings.LastIndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' }) + 1
	suffix := strings.ToLower(strings.TrimSpace(s[end:]))
	if suffix == "" {
		return s, 0, true
	}
	exp, ok = vndSuffixes[suffix]
	return s[:end], exp, ok
}

// splitGrouped reads digits with "." "," "_" separators (see parseVND) into
// the integer digits and the decimal digits; why says what is wrong.
func splitGrouped(s string) (intPart, frac, why string) {
	if s == "" || !isDigit(s[0]) || !isDigit(s[len(s)-1]) {
		return "", "", "is not an amount in VND"
	}
	group, mark := separators(s)
	if group == "?" || (mark != "" && strings.Count(s, mark) != 1) {
		return "", "", "is not an amount in VND"
	}
	intPart = s
	if mark != "" {
		intPart, frac, _ = strings.Cut(s, mark)
		if group == "" && len(frac) == 3 && !strings.ContainsFunc(intPart+frac, isNotDigit) {
			return intPart, frac, whyAmbiguous
		}
	}
	if group != "" {
		groups := strings.Split(intPart, group)
		for i, g := range groups {
			if len(g) != 3 && (i > 0 || len(g) == 0 || len(g) > 3) {
				return "", "", "has digits in groups other than three"
			}
		}
		intPart = strings.Join(groups, "")
	}
	if strings.ContainsFunc(intPart+frac, isNotDigit) {
		return "", "", "is not an amount in VND"
	}
	if frac == "" {
		frac = "0"
	}
	return intPart, frac, ""
}

// whyAmbiguous is splitGrouped's reason for a single "." or "," before
// exactly three digits, which parseVND turns into suggestions.
const whyAmbiguous = "is ambiguous"

// ambiguity says how to write number (a single "." or "," before exactly
// three digits, such as 12,500), followed by suffix as given, so that it
// reads one way: without the separator (or, with no suffix, in k) for the
// thousands reading, with a decimal mark that no three digits follow for
// the other. It is "" for 0.000, whose readings are both zero: no
// spelling makes that a budget.
func ambiguity(number, suffix string) string {
	i := strings.IndexAny(number, ".,")
	mark, intPart, frac := number[i:i+1], number[:i], number[i+1:]
	whole := strings.TrimLeft(intPart+frac, "0")
	if whole == "" {
		return ""
	}
	intPart = cmp.Or(strings.TrimLeft(intPart, "0"), "0")
	thousands := whole + suffix
	if trimmed := strings.TrimRight(frac, "0"); suffix == "" && len(trimmed) < 3 {
		thousands += " or " + intPart + strings.TrimSuffix("."+trimmed, ".") + "k"
	}
	decimal := strings.TrimRight(frac, "0")
	switch len(decimal) {
	case 0:
		decimal = "0"
	case 3: // 1.125 is as ambiguous as the input: a fourth digit settles it
		decimal += "0"
	}
	return fmt.Sprintf("is ambiguous: write %s if the %q separates thousands, or %s.%s%s if it is the decimal mark",
		thousands, mark, intPart, decimal, suffix)
}

// separators finds the thousands separator and the decimal mark of s, each
// "" when absent: "_" or a repeated "." or "," groups, a single one is the
// decimal mark, and with two kinds the last to appear is the decimal mark.
func separators(s string) (group, mark string) {
	var kinds []string
	for _, r := range s {
		if k := string(r); (r == '.' || r == '_' || r == ',') && !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		return "", ""
	case len(kinds) == 2 && kinds[1] != "_":
		return kinds[0], kinds[1]
	case len(kinds) == 1 && (kinds[0] == "_" || strings.Count(s, kinds[0]) > 1):
		return kinds[0], ""
	case len(kinds) == 1:
		return "", kinds[0]
	}
	return "?", "" // three kinds, or "_" after a decimal mark: refused by the caller
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isNotDigit(r rune) bool { return r < '0' || r > '9' }

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
// (service type, billing group, billing config) combination; no flags means
// one unfiltered query.
func buildFilters(serviceTypes, billingGroups, billingConfigs []string) ([]fptapi.Filter, error) {
	for _, s := range slices.Concat(serviceTypes, billingGroups, billingConfigs) {
		if strings.TrimSpace(s) == "" {
			return nil, errors.New("--fpt.service-type, --fpt.billing-group and --fpt.billing-config values must not be empty")
		}
	}
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
		return nil, nil
	}
	return filters, nil
}
