// Package check is the check command: it reads the API as the exporter
// would, within small bounds, and says whether a deployment would work.
package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

// checkMaxValues bounds the label values printed per label.
const checkMaxValues = 10

// errCheckBudget stops paging once the check has made its requests.
var errCheckBudget = errors.New("the check's request limit was reached")

// Report is what the check found; --output=json prints it as is.
type Report struct {
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
	BillingGroups      []BillingGroup      `json:"billing_groups"`
	Warnings           []string            `json:"warnings"`
}

// BillingGroup is one billing group of the account and its configs.
type BillingGroup struct {
	Name    string   `json:"billing_group_name"`
	Configs []string `json:"billing_config_names"`
}

// Run runs the check command on the configuration's sources and returns
// its exit code: 0 when a deployment with these settings would work, 1
// when not. With --config.file, every account checked must work.
func Run(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) int {
	sources := slices.Clone(cfg.Sources)
	for i := range sources {
		stop, err := sources[i].StartSimulated()
		if err != nil {
			if cfg.ConfigFile != "" {
				err = fmt.Errorf("account %s: %w", sources[i].Name, err)
			}
			fmt.Fprintf(stderr, "%s: %v\n", config.Name, err)
			return 1
		}
		defer stop() //nolint:revive // each account's demo API runs until the end of the check
	}
	var r report
	if cfg.ConfigFile == "" {
		r = Check(ctx, &sources[0], time.Now())
	} else {
		r = Accounts(ctx, cfg.ConfigFile, sources, time.Now())
	}
	if err := write(stdout, cfg.Check.Output, r); err != nil {
		fmt.Fprintf(stderr, "%s: writing the report: %v\n", config.Name, err)
		return 1
	}
	if !r.passed() {
		return 1
	}
	return 0
}

// report is what Run prints: a Report, or an AccountsReport with
// --config.file.
type report interface {
	passed() bool
	writeText(b *strings.Builder)
}

func (r *Report) passed() bool { return r.OK }

// write prints a report as JSON or as text.
func write(w io.Writer, format string, r report) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	var b strings.Builder
	r.writeText(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// Check talks to the API as the exporter would, within the check's bounds.
// The bills decide, as they are all the exporter reads. bill/info only
// lists the billing groups and configs, to verify the names the flags give,
// so its failure (any status, a timeout, an answer that is not JSON) is a
// warning; a filter that no row read today carries then cannot be verified
// either way and fails the check.
func Check(ctx context.Context, s *config.Source, now time.Time) *Report {
	day := now.In(s.Location)
	r := &Report{
		APIURL:             s.APIURL,
		TokenSource:        s.TokenSource,
		BillingDay:         day.Format(time.DateOnly),
		TimeZone:           s.Location.String(),
		CostByService:      map[string]float64{},
		CostByBillingGroup: map[string]float64{},
		LabelValues:        map[string][]string{},
		BillingGroups:      []BillingGroup{},
		Warnings:           append([]string{}, s.Warnings...), // [] in JSON, never null
	}
	if err := r.check(ctx, s, day); err != nil {
		// Why a deployment would not work, in one line.
		r.AllPagesRead = false
		r.Reason = failureReason(err)
		r.Error = err.Error()
		return r
	}
	r.OK = true
	return r
}

// check reads today's bills and bill/info into the report; an error fails
// the check.
func (r *Report) check(ctx context.Context, s *config.Source, day time.Time) error {
	var billsRequests, billInfoRequests, lastStatus atomic.Int64
	client, err := s.NewClient(
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
		return err
	}
	seen := newLabelValues()
	if err := r.readBills(ctx, client, s.Filters, day, &billsRequests, seen); err != nil {
		return err
	}
	r.LabelValues = seen.values()
	r.noteDataIssues(seen)
	return r.verifyNames(ctx, client, s, seen)
}

// readBills reads today's pages under every filter, until the check's
// request budget is spent.
func (r *Report) readBills(ctx context.Context, client *fptapi.Client, filters []fptapi.Filter, day time.Time,
	billsRequests *atomic.Int64, seen *labelValues) error {
	for _, filter := range collector.QueryFilters(filters) {
		err := errCheckBudget
		if billsRequests.Load() < config.CheckMaxBillsRequests {
			err = client.Bills(ctx, day, filter, func(page []fptapi.Bill) error {
				r.Pages++
				for i := range page {
					r.add(&page[i], seen)
				}
				if billsRequests.Load() >= config.CheckMaxBillsRequests {
					return errCheckBudget
				}
				return nil
			})
		}
		if errors.Is(err, errCheckBudget) {
			return nil // not all pages read
		}
		if err != nil {
			return err
		}
	}
	r.AllPagesRead = true
	return nil
}

// verifyNames lists the account's billing groups from bill/info and checks
// the names the flags give against them. bill/info's path is inferred from
// an undocumented page, and roles without billing-group permission are
// refused there.
func (r *Report) verifyNames(ctx context.Context, client *fptapi.Client, s *config.Source, seen *labelValues) error {
	groups, infoErr := client.BillInfo(ctx)
	for _, g := range groups {
		r.BillingGroups = append(r.BillingGroups, BillingGroup{Name: g.Name, Configs: g.ConfigNames})
	}
	switch {
	case infoErr != nil:
		r.Warnings = append(r.Warnings, billInfoWarning(infoErr))
	case len(groups) == 0:
		r.Warnings = append(r.Warnings, "bill/info lists no billing groups: does the token's role have billing permission?")
		return nil
	}
	return r.checkNames(s, groups, infoErr, seen)
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

// add sums one row the way the exporter labels it.
func (r *Report) add(b *fptapi.Bill, seen *labelValues) {
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

func (r *Report) noteDataIssues(l *labelValues) {
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
