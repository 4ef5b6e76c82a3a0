package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// The check command's bounds: it reads at most checkMaxBillsRequests pages of
// today's bills and one bill/info answer, without retries, so that it ends
// in seconds and its requests can be counted. Enough rows to see the data's
// shape; the exporter itself reads every page.
const (
	checkMaxBillsRequests = 3
	// checkMaxValues bounds the label values printed per label.
	checkMaxValues = 10
)

// errCheckBudget stops paging once the check has made its requests.
var errCheckBudget = errors.New("the check's request limit was reached")

// checkReport is what the check found; --output=json prints it as is.
type checkReport struct {
	OK          bool   `json:"ok"`
	Reason      string `json:"reason,omitempty"` // the failure's class, e.g. "token rejected"
	Error       string `json:"error,omitempty"`
	APIURL      string `json:"api_url"`
	TokenSource string `json:"token_source"`
	BillingDay  string `json:"billing_day"`
	TimeZone    string `json:"time_zone"`

	BillsRequests    int  `json:"bills_requests"`
	BillInfoRequests int  `json:"bill_info_requests"`
	LastHTTPStatus   int  `json:"last_http_status,omitempty"` // of the last answer, 0 when none came
	Pages            int  `json:"pages"`
	Rows             int  `json:"rows"`
	AllPagesRead     bool `json:"all_pages_read"` // false: today has more rows than the check reads

	CostVND            float64             `json:"cost_vnd"`
	CostByService      map[string]float64  `json:"cost_by_service_vnd"`
	CostByBillingGroup map[string]float64  `json:"cost_by_billing_group_vnd"`
	LabelValues        map[string][]string `json:"label_values"` // per API field the exporter labels by, the first values seen
	BillingGroups      []checkBillingGroup `json:"billing_groups"`
	Warnings           []string            `json:"warnings"`
}

type checkBillingGroup struct {
	Name    string   `json:"billing_group_name"`
	Configs []string `json:"billing_config_names"`
}

// runCheck runs the check command and returns its exit code: 0 when a
// deployment with these settings would work, 1 when not.
func runCheck(ctx context.Context, f *flags, s *settings, stdout, stderr io.Writer) int {
	if *f.demo {
		stop, err := startDemoAPI(s, f.rateLimitSet)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
			return 1
		}
		defer stop()
	}
	r := check(ctx, s, time.Now())
	var err error
	if *f.checkOutput == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	} else {
		err = writeCheckText(stdout, r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: writing the report: %v\n", exporterName, err)
		return 1
	}
	if !r.OK {
		return 1
	}
	return 0
}

// check talks to the API as the exporter would, within the check's bounds.
// It decides on the bills, which is all the exporter reads: their failure
// fails the check. bill/info only lists the account's billing groups and
// configs, to verify the names the flags give, so its failure (any status,
// a timeout, an answer that is not JSON) is a warning, and the names are
// then verified against the rows read: a --fpt.billing-group or
// --fpt.billing-config that today's rows carry exists, and one that none
// carries cannot be verified either way and fails the check.
func check(ctx context.Context, s *settings, now time.Time) *checkReport {
	day := now.In(s.location)
	r := &checkReport{
		APIURL:             s.apiURL,
		TokenSource:        s.tokenSource,
		BillingDay:         day.Format(time.DateOnly),
		TimeZone:           s.location.String(),
		CostByService:      map[string]float64{},
		CostByBillingGroup: map[string]float64{},
		LabelValues:        map[string][]string{},
		BillingGroups:      []checkBillingGroup{},
		Warnings:           append([]string{}, s.warnings...), // [] in JSON, never null
	}
	var billsRequests, billInfoRequests, lastStatus atomic.Int64
	client, err := newAPIClient(s,
		fptapi.WithRetryPolicy(fptapi.RetryPolicy{}), // one attempt each: a failure is reported, not retried
		fptapi.WithObserver(func(info fptapi.RequestInfo) {
			if info.Endpoint == fptapi.EndpointBillInfo {
				billInfoRequests.Add(1)
			} else {
				billsRequests.Add(1)
			}
			if code, err := strconv.Atoi(info.Code); err == nil {
				lastStatus.Store(int64(code))
			}
		}))
	defer func() {
		r.BillsRequests = int(billsRequests.Load())
		r.BillInfoRequests = int(billInfoRequests.Load())
		r.LastHTTPStatus = int(lastStatus.Load())
	}()
	if err != nil {
		r.fail(err)
		return r
	}

	seen := newLabelValues()
	r.AllPagesRead = true
	for _, filter := range collector.QueryFilters(s.filters) {
		if billsRequests.Load() >= checkMaxBillsRequests {
			r.AllPagesRead = false
			break
		}
		err := client.Bills(ctx, day, filter, func(page []fptapi.Bill) error {
			r.Pages++
			for i := range page {
				r.add(&page[i], seen)
			}
			if billsRequests.Load() >= checkMaxBillsRequests {
				return errCheckBudget
			}
			return nil
		})
		if errors.Is(err, errCheckBudget) {
			r.AllPagesRead = false
			break
		}
		if err != nil {
			r.fail(err)
			return r
		}
	}
	r.LabelValues = seen.values()
	r.noteDataIssues(seen)

	// bill/info's path is inferred from an undocumented page, and roles
	// without billing-group permission are refused there.
	groups, infoErr := client.BillInfo(ctx)
	for _, g := range groups {
		r.BillingGroups = append(r.BillingGroups, checkBillingGroup{Name: g.Name, Configs: g.ConfigNames})
	}
	switch {
	case infoErr != nil:
		r.Warnings = append(r.Warnings, billInfoWarning(infoErr))
		if err := r.checkNames(s, nil, infoErr, seen); err != nil {
			r.fail(err)
			return r
		}
	case len(groups) == 0:
		r.Warnings = append(r.Warnings, "bill/info lists no billing groups: does the token's role have billing permission?")
	default:
		if err := r.checkNames(s, groups, nil, seen); err != nil {
			r.fail(err)
			return r
		}
	}
	r.OK = true
	return r
}

// billInfoWarning says what a failed bill/info leaves unverified, and why.
func billInfoWarning(err error) string {
	return "bill/info failed: " + billInfoFailure(err) + "; the billing groups and configs could not be listed, so the names given to " +
		"--fpt.billing-group, --fpt.billing-config and --budget.billing-group-* are verified against today's bills only " +
		"(the exporter does not use bill/info)"
}

// billInfoFailure describes a bill/info error as what it means when the
// bills, from the same base URL and token, were read: a 404 says nothing
// about --fpt.api-url then, and a 401 or 403 nothing about the token.
func billInfoFailure(err error) string {
	var apiErr *fptapi.APIError
	switch {
	case errors.As(err, &apiErr) && (apiErr.HTTPStatus == http.StatusNotFound || apiErr.HTTPStatus == http.StatusMethodNotAllowed):
		return fmt.Sprintf("HTTP %d %s from %s (bill/info's path is inferred from an undocumented page, and this API may serve it elsewhere)",
			apiErr.HTTPStatus, http.StatusText(apiErr.HTTPStatus), apiErr.URL)
	case errors.Is(err, fptapi.ErrUnauthorized):
		return fmt.Sprintf("%v (the token, accepted for the bills, is refused here: its role may lack billing-group permission)", err)
	}
	return err.Error()
}

// errUnknownName is a filter that names no billing group or config of the
// account: it selects no bill, and a typo there looks like a quiet account.
var errUnknownName = errors.New("names no billing group or config of the account")

// errUnverifiedName is a filter that neither bill/info (which failed) nor
// today's bills confirm: it may be a typo, which the check exists to catch.
var errUnverifiedName = errors.New("cannot verify")

// checkNames compares the billing groups and configs the flags name with
// the account's: those bill/info lists and those today's rows carry. An
// unknown filter fails the check; an unknown budget group is a warning, as
// its alert can never fire. With infoErr, bill/info failed and the rows
// alone vouch for a name: a filter whose rows were read exists, one
// without any cannot be verified either way and fails the check.
func (r *checkReport) checkNames(s *settings, groups []fptapi.BillingGroup, infoErr error, seen *labelValues) error {
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
	var unknown []string
	for _, f := range s.filters {
		for _, n := range []struct {
			flag, name string
			known      map[string]struct{}
		}{
			{"--fpt.billing-group", f.BillingGroupName, knownGroups},
			{"--fpt.billing-config", f.BillingConfigName, knownConfigs},
		} {
			if _, ok := n.known[n.name]; n.name == "" || ok {
				continue
			}
			if msg := fmt.Sprintf("%s=%q%s", n.flag, n.name, didYouMean(n.name, n.known)); !slices.Contains(unknown, msg) {
				unknown = append(unknown, msg)
			}
		}
	}
	for _, b := range []struct {
		flag   string
		groups map[string]float64
	}{{"--budget.billing-group-daily-vnd", s.budgets.GroupDaily}, {"--budget.billing-group-monthly-vnd", s.budgets.GroupMonthly}} {
		for _, g := range slices.Sorted(maps.Keys(b.groups)) {
			if _, ok := knownGroups[g]; ok {
				continue
			}
			switch {
			case g == "":
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s: \"\" is the rows without a billing group, and no bill read today is one: "+
					"its budget alert can fire only once such rows appear", b.flag))
			case infoErr != nil:
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %q is not verified: no bill read today carries it%s, and bill/info failed",
					b.flag, g, didYouMean(g, knownGroups)))
			default:
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %q is not a billing group of the account%s: its budget alert can never fire",
					b.flag, g, didYouMean(g, knownGroups)))
			}
		}
	}
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
	stripped, _, err := transform.String(transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn))), s)
	if err != nil {
		stripped = s
	}
	stripped = strings.NewReplacer("đ", "d", "Đ", "D").Replace(stripped)
	return strings.ToLower(strings.Join(strings.Fields(stripped), ""))
}

// add sums one row the way the exporter labels it.
func (r *checkReport) add(b *fptapi.Bill, seen *labelValues) {
	r.Rows++
	// Rounded as the exporter publishes amounts, so sums of amounts with a
	// few decimals print as that exact decimal.
	r.CostVND = collector.RoundVND(r.CostVND + b.TotalPrice)
	r.CostByService[b.Service] = collector.RoundVND(r.CostByService[b.Service] + b.TotalPrice)
	r.CostByBillingGroup[b.BillingGroupName] = collector.RoundVND(r.CostByBillingGroup[b.BillingGroupName] + b.TotalPrice)
	seen.add(b, r.BillingDay)
}

// labelValues collects the values of the exporter's labels and counts the
// rows that look off.
type labelValues struct {
	sets       map[string]map[string]struct{}
	otherDay   int
	otherDays  map[string]struct{}
	emptyField map[string]int
	negative   int
}

// checkLabels are the API fields the exporter's billing labels come from,
// and billing_config_name (what --fpt.billing-config filters on), with the
// row field of each.
var checkLabels = []struct {
	name  string
	value func(*fptapi.Bill) string
}{
	{"vpc_id", func(b *fptapi.Bill) string { return b.VPCID }},
	{"vpc_name", func(b *fptapi.Bill) string { return b.VPCName }},
	{"service", func(b *fptapi.Bill) string { return b.Service }},
	{"billing_group_name", func(b *fptapi.Bill) string { return b.BillingGroupName }},
	{"billing_config_name", func(b *fptapi.Bill) string { return b.BillingConfigName }},
	{"tag", func(b *fptapi.Bill) string { return b.Tag }},
}

func newLabelValues() *labelValues {
	return &labelValues{sets: map[string]map[string]struct{}{}, otherDays: map[string]struct{}{}, emptyField: map[string]int{}}
}

func (l *labelValues) add(b *fptapi.Bill, day string) {
	for _, label := range checkLabels {
		v := label.value(b)
		if v == "" && label.name != "tag" { // an untagged resource is normal
			l.emptyField[label.name]++
		}
		if l.sets[label.name] == nil {
			l.sets[label.name] = map[string]struct{}{}
		}
		l.sets[label.name][v] = struct{}{}
	}
	// The API may send a date or a timestamp: the date must be the one asked for.
	if !strings.HasPrefix(b.Day, day) {
		l.otherDay++
		if len(l.otherDays) < checkMaxValues {
			l.otherDays[b.Day] = struct{}{}
		}
	}
	if b.TotalPrice < 0 {
		l.negative++
	}
}

// values lists each label's values, sorted and bounded.
func (l *labelValues) values() map[string][]string {
	out := make(map[string][]string, len(l.sets))
	for name, set := range l.sets {
		out[name] = slices.Sorted(maps.Keys(set))
		if len(out[name]) > checkMaxValues {
			out[name] = append(out[name][:checkMaxValues], fmt.Sprintf("… %d more", len(set)-checkMaxValues))
		}
	}
	return out
}

func (r *checkReport) noteDataIssues(l *labelValues) {
	if r.Rows == 0 {
		r.Warnings = append(r.Warnings, "no bill rows for "+r.BillingDay+" yet: normal just after billing midnight or for an account without resources; otherwise check the filters and --fpt.timezone")
	}
	if l.otherDay > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d rows have a day other than %s (%s): check --fpt.timezone",
			l.otherDay, r.BillingDay, strings.Join(slices.Sorted(maps.Keys(l.otherDays)), ", ")))
	}
	for _, label := range checkLabels {
		if n := l.emptyField[label.name]; n > 0 {
			hint := ""
			if label.name == "billing_group_name" {
				hint = " (a budget for them: --budget.billing-group-daily-vnd==AMOUNT, the group left empty)"
			}
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d of %d rows have an empty %s%s", n, r.Rows, label.name, hint))
		}
	}
	if l.negative > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d rows have a negative total_price", l.negative))
	}
}

// fail records why a deployment would not work, in one line.
func (r *checkReport) fail(err error) {
	r.OK = false
	r.AllPagesRead = false
	r.Reason = failureReason(err)
	r.Error = err.Error()
}

// failureReason sorts an error into the classes a user acts on differently.
func failureReason(err error) string {
	var (
		apiErr    *fptapi.APIError
		decodeErr *fptapi.DecodeError
		netErr    net.Error
	)
	switch {
	case errors.Is(err, errUnknownName):
		return "filter: a billing group or config name is not the account's"
	case errors.Is(err, errUnverifiedName):
		return "filter: a billing group or config name cannot be verified"
	case errors.Is(err, fptapi.ErrUnauthorized):
		return "token rejected: create a new token in FPT Cloud's console (Tokens) with billing permission"
	case errors.As(err, &apiErr) && (apiErr.HTTPStatus == http.StatusNotFound || apiErr.HTTPStatus == http.StatusMethodNotAllowed):
		return "URL wrong: --fpt.api-url must be the API's base URL, such as " + fptapi.DefaultBaseURL
	case isTLSError(err):
		return "TLS: the API's certificate could not be verified, or the URL is not https"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return "timeout: no answer within --fpt.timeout"
	case errors.As(err, &decodeErr):
		return "not JSON: the answer is not the billing API's JSON; is --fpt.api-url the API's base URL?"
	case errors.As(err, &apiErr):
		return "API error: HTTP " + strconv.Itoa(apiErr.HTTPStatus)
	case errors.Is(err, fptapi.ErrCursorRepeated) || errors.Is(err, fptapi.ErrMissingCursor):
		return "paging: the API's paging cursor did not advance"
	case errors.As(err, &netErr):
		return "connection: the API could not be reached"
	}
	return "error"
}

func isTLSError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		header           tls.RecordHeaderError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verification) || errors.As(err, &header)
}

// writeCheckText prints the report for a person.
func writeCheckText(w io.Writer, r *checkReport) error {
	var b strings.Builder
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "%-16s %s\n", key+":", fmt.Sprintf(format, args...))
	}
	line("API URL", "%s", r.APIURL)
	line("token", "from %s", r.TokenSource)
	line("billing day", "%s (%s)", r.BillingDay, r.TimeZone)
	status := "none"
	if r.LastHTTPStatus != 0 {
		status = fmt.Sprintf("HTTP %d %s", r.LastHTTPStatus, http.StatusText(r.LastHTTPStatus))
	}
	line("requests", "%d bills, %d bill/info (at most %d and 1, no retries); last answer: %s",
		r.BillsRequests, r.BillInfoRequests, checkMaxBillsRequests, status)
	if r.OK || r.Rows > 0 {
		read := "all of today's pages"
		if !r.AllPagesRead {
			read = "stopped at the check's limit: today has more rows, the exporter reads them all"
		}
		line("rows read", "%d in %d pages (%s)", r.Rows, r.Pages, read)
		line("cost so far", "%s VND (before VAT, rows read only)", formatVND(r.CostVND))
		writeCosts(&b, "by service", r.CostByService)
		writeCosts(&b, "by billing group", r.CostByBillingGroup)
		for _, label := range checkLabels {
			if v := r.LabelValues[label.name]; len(v) > 0 {
				line("  "+label.name, "%s", strings.Join(quoteAll(v), ", "))
			}
		}
	}
	if len(r.BillingGroups) > 0 {
		b.WriteString("billing groups (for --fpt.billing-group, --fpt.billing-config, --budget.billing-group-*):\n")
		for _, g := range r.BillingGroups {
			fmt.Fprintf(&b, "  %q: configs %s\n", g.Name, strings.Join(quoteAll(g.Configs), ", "))
		}
	}
	for _, warning := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", warning)
	}
	if r.OK {
		b.WriteString("OK: a deployment with these settings would work\n")
	} else {
		fmt.Fprintf(&b, "FAILED: %s\n  %s\n", r.Reason, r.Error)
	}
	_, err := io.WriteString(w, b.String())
	return err
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
