package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

const checkToken = "check-test-token-7f3a9c"

// runCommand runs the command line as the binary does: a value the
// configuration refuses exits 2 with one line.
func runCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.NewApp().Resolve(args, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", config.Name, err)
		return 2
	}
	return Run(ctx, cfg, stdout, stderr)
}

// runCheckCommand runs `fptcloud_exporter check` with args and the token in
// the environment, and returns the exit code, stdout and stderr.
func runCheckCommand(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	getenv := func(k string) string {
		if k == config.TokenEnv {
			return checkToken
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := runCommand(ctx, append([]string{"check"}, args...), getenv, &stdout, &stderr)
	out := stdout.String() + stderr.String()
	assert.NotContains(t, out, checkToken, "the check never prints the token")
	return code, stdout.String(), stderr.String()
}

func decodeReport(t *testing.T, out string) Report {
	t.Helper()
	var r Report
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	return r
}

func TestCheckSucceeds(t *testing.T) {
	t.Parallel()
	// A stopped clock: today's partial costs stay what the check read.
	now := time.Now()
	fake := fptapitest.NewServer(fptapitest.Config{Token: checkToken, RowsPerDay: 40, LabelSets: 8,
		Now: func() time.Time { return now }})
	defer fake.Close()

	code, out, errOut := runCheckCommand(t, "--fpt.api-url="+fake.URL)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	for _, want := range []string{
		"API URL:         " + fake.URL,
		"from environment $" + config.TokenEnv,
		"(Asia/Ho_Chi_Minh)",
		"last answer: HTTP 200 OK",
		"rows read:       40 in 1 pages (all of today's pages)",
		"by service:",
		"by billing group:",
		"OK: a deployment with these settings would work",
	} {
		assert.Contains(t, out, want)
	}
	for _, g := range fake.BillingGroups() {
		assert.Contains(t, out, `"`+g.Name+`"`, "billing groups from bill/info are printed")
	}
	assert.Equal(t, 1, fake.Requests(fptapi.EndpointBills))
	assert.Equal(t, 1, fake.Requests(fptapi.EndpointBillInfo))

	fake.ResetRequests()
	code, out, _ = runCheckCommand(t, "--fpt.api-url="+fake.URL, "--output=json")
	require.Equal(t, 0, code, out)
	r := decodeReport(t, out)
	assert.True(t, r.OK)
	assert.Equal(t, 40, r.Rows)
	assert.True(t, r.AllPagesRead)
	assert.Equal(t, 1, r.BillsRequests)
	assert.Equal(t, 1, r.BillInfoRequests)
	assert.Equal(t, 200, r.LastHTTPStatus)
	assert.Len(t, r.BillingGroups, len(fake.BillingGroups()))
	assert.NotEmpty(t, r.LabelValues["service"])

	// The sums are those of the rows the fake serves for the day.
	var total float64
	day, err := time.Parse(time.DateOnly, r.BillingDay)
	require.NoError(t, err)
	require.NoError(t, fake.EachBill(day.Format(time.DateOnly), fptapi.Filter{}, func(b *fptapi.Bill) bool {
		total += b.TotalPrice
		return true
	}))
	assert.InEpsilon(t, total, r.CostVND, 1e-9)
}

// TestCheckBoundsItsRequests: a day with more pages than the check reads
// stops at the stated limit, filters included, and still passes.
func TestCheckBoundsItsRequests(t *testing.T) {
	t.Parallel()
	fake := fptapitest.NewServer(fptapitest.Config{Token: checkToken, RowsPerDay: 1000, LabelSets: 20})
	defer fake.Close()

	code, out, _ := runCheckCommand(t, "--fpt.api-url="+fake.URL, "--fpt.page-size=100",
		"--fpt.service-type=storage", "--fpt.service-type=instance", "--output=json")
	require.Equal(t, 0, code, out)
	r := decodeReport(t, out)
	assert.False(t, r.AllPagesRead)
	assert.Equal(t, config.CheckMaxBillsRequests, fake.Requests(fptapi.EndpointBills))
	assert.Equal(t, config.CheckMaxBillsRequests, r.BillsRequests)
	assert.Equal(t, 1, fake.Requests(fptapi.EndpointBillInfo))
	assert.Equal(t, config.CheckMaxBillsRequests, r.Pages)
}

func TestCheckFailures(t *testing.T) {
	t.Parallel()
	fake := fptapitest.NewServer(fptapitest.Config{Token: checkToken, RowsPerDay: 40})
	defer fake.Close()
	tlsAPI := httptest.NewTLSServer(fake.Handler())
	defer tlsAPI.Close()

	tests := []struct {
		name         string
		args         []string
		fault        *fptapitest.Fault
		token        string
		reason       string
		errContains  string
		billsAsked   int
		billInfoAsks int
	}{
		{name: "token rejected", token: "another-token", reason: "token rejected", billsAsked: 1},
		{name: "wrong URL", args: []string{"--fpt.api-url=" + fake.URL + "/v1"}, reason: "URL wrong",
			errContains: "requested " + fake.URL + "/v1/v1/billing/bills", billsAsked: 0},
		{name: "TLS", args: []string{"--fpt.api-url=" + tlsAPI.URL + "/api"}, reason: "TLS", billsAsked: 0},
		{name: "timeout", args: []string{"--fpt.timeout=200ms"}, fault: &fptapitest.Fault{Delay: 5 * time.Second, Times: 1},
			reason: "timeout", billsAsked: 1},
		{name: "not JSON", fault: &fptapitest.Fault{Truncate: true, Times: 1}, reason: "not JSON", billsAsked: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token != "" {
				fake.SetToken(tt.token)
				defer fake.SetToken(checkToken)
			}
			args := tt.args
			if !strings.Contains(strings.Join(args, " "), "--fpt.api-url=") {
				args = append(args, "--fpt.api-url="+fake.URL)
			}
			for _, output := range []string{"text", "json"} {
				fake.ResetRequests()
				fake.ClearFaults()
				if tt.fault != nil {
					fake.InjectFault(*tt.fault)
				}
				code, out, errOut := runCheckCommand(t, append(args, "--output="+output)...)
				assert.Equal(t, 1, code, "%s%s", out, errOut)
				if output == "text" {
					assert.Contains(t, out, "FAILED: "+tt.reason)
					assert.Contains(t, out, tt.errContains)
					assert.Equal(t, 1, strings.Count(out, "FAILED"), "one reason: %s", out)
				} else {
					r := decodeReport(t, out)
					assert.False(t, r.OK)
					assert.True(t, strings.HasPrefix(r.Reason, tt.reason), r.Reason)
					assert.Contains(t, r.Error, tt.errContains)
				}
				// No retries: one request per endpoint at most.
				assert.Equal(t, tt.billsAsked, fake.Requests(fptapi.EndpointBills), output)
				assert.Equal(t, tt.billInfoAsks, fake.Requests(fptapi.EndpointBillInfo), output)
			}
		})
	}
}

// TestCheckReportsOddData: rows for another day and empty labels are
// warnings, not failures.
func TestCheckReportsOddData(t *testing.T) {
	t.Parallel()
	fake := fptapitest.NewServer(fptapitest.Config{Token: checkToken})
	defer fake.Close()
	loc, err := time.LoadLocation(config.BillingTimezone)
	require.NoError(t, err)
	today := time.Now().In(loc).Format(time.DateOnly)
	fake.SetBills(today, []fptapi.Bill{
		{Day: today, VPCID: "v1", VPCName: "prod", Service: "storage", BillingGroupName: "g", BillingConfigName: "c", TotalPrice: 1500.5},
		{Day: "2001-01-01", VPCID: "v1", VPCName: "prod", Service: "", BillingGroupName: "g", BillingConfigName: "c", TotalPrice: 1000000},
	})

	code, out, _ := runCheckCommand(t, "--fpt.api-url="+fake.URL)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "warning: 1 rows have a day other than "+today+" (2001-01-01)")
	assert.Contains(t, out, "warning: 1 of 2 rows have an empty service")
	assert.Contains(t, out, "1,001,501 VND", "the total, with thousands separators")
}

func TestCheckTokenFromFileAndWarnings(t *testing.T) {
	t.Parallel()
	fake := fptapitest.NewServer(fptapitest.Config{Token: checkToken, RowsPerDay: 10})
	defer fake.Close()
	path := filepath.Join(t.TempDir(), "token")
	// As Notepad saves it: a byte order mark and CRLF.
	require.NoError(t, os.WriteFile(path, []byte("\ufeff"+checkToken+"\r\n"), 0o600))

	code, out, _ := runCheckCommand(t, "--fpt.api-url="+fake.URL, "--fpt.token-file="+path, "--fpt.timezone=UTC")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "from file "+path)
	assert.Contains(t, out, "both --fpt.token-file and $FPTCLOUD_TOKEN are set: the token comes from the file")
	assert.Contains(t, out, "--fpt.timezone=UTC is not FPT Cloud's billing zone")
}

func TestCheckDemo(t *testing.T) {
	t.Parallel()
	code, out, _ := runCheckCommand(t, "--demo")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "from the demo's fake API")
	assert.Contains(t, out, "OK: a deployment with these settings would work")
}

func TestCheckBadFlagsExit2(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCheckCommand(t, "--output=xml")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--output")
	assert.Equal(t, 1, strings.Count(errOut, "\n"), errOut)
}

func TestFormatVND(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{
		0: "0", 999: "999", 1000: "1,000", 1234567.5: "1,234,568", 344183.50000000006: "344,184",
		-1500: "-1,500", 100000000000: "100,000,000,000", 0.4: "0", -0.4: "0",
		1e20: "100,000,000,000,000,000,000", // beyond int64: an odd row must not print a wrong total
	} {
		assert.Equal(t, want, formatVND(in), "%v", in)
	}
}

// TestCheckRepeatedFilterCountedOnce: a filter given twice is one query,
// as in the exporter; the check's rows and "cost so far" are not doubled.
func TestCheckRepeatedFilterCountedOnce(t *testing.T) {
	t.Parallel()
	now := time.Now()
	fake := fptapitest.NewServer(fptapitest.Config{Token: checkToken, RowsPerDay: 40, LabelSets: 8,
		Now: func() time.Time { return now }})
	defer fake.Close()

	group := "--fpt.billing-group=" + fake.BillingGroups()[0].Name
	code, out, _ := runCheckCommand(t, "--fpt.api-url="+fake.URL, "--output=json", group)
	require.Equal(t, 0, code, out)
	once := decodeReport(t, out)

	fake.ResetRequests()
	code, out, _ = runCheckCommand(t, "--fpt.api-url="+fake.URL, "--output=json", group, group)
	require.Equal(t, 0, code, out)
	twice := decodeReport(t, out)
	assert.Equal(t, 1, fake.Requests(fptapi.EndpointBills), "the exporter queries a repeated filter once")
	assert.Equal(t, once.Rows, twice.Rows, "rows of one billing group counted more than once")
	assert.InDelta(t, once.CostVND, twice.CostVND, 1e-6)
}

// TestCheckNamesTheAccountLacks: a filter naming no billing group or config
// of the account fails the check, with the near miss when only case, spaces
// or diacritics differ; a budget for an unknown group is a warning.
func TestCheckNamesTheAccountLacks(t *testing.T) {
	t.Parallel()
	fake := fptapitest.NewServer(fptapitest.Config{Token: checkToken, RowsPerDay: 40, LabelSets: 8})
	defer fake.Close()
	group := fake.BillingGroups()[0]
	require.Equal(t, "Khối Công nghệ", group.Name, "the fake's first group, spelled below without its marks")

	tests := []struct {
		name    string
		args    []string
		code    int
		want    string // in the error (code 1) or a warning (code 0)
		notWant string
	}{
		{"group without diacritics", []string{"--fpt.billing-group=Khoi Cong nghe"}, 1,
			`--fpt.billing-group="Khoi Cong nghe" (did you mean "Khối Công nghệ"?) names no billing group or config of the account`, ""},
		{"unknown config", []string{"--fpt.billing-config=Nope"}, 1, `--fpt.billing-config="Nope" names no billing group`, "did you mean"},
		{"known group and config", []string{"--fpt.billing-group=" + group.Name, "--fpt.billing-config=" + group.ConfigNames[0]}, 0, "", "is not a billing group"},
		{"budget of an unknown group", []string{"--budget.billing-group-monthly-vnd=khối công NGHỆ=5tr"}, 0,
			`--budget.billing-group-monthly-vnd: "khối công NGHỆ" is not a billing group of the account (did you mean "Khối Công nghệ"?): its budget alert can never fire`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCheckCommand(t, append([]string{"--fpt.api-url=" + fake.URL, "--output=json"}, tt.args...)...)
			require.Equal(t, tt.code, code, "%s%s", out, errOut)
			r := decodeReport(t, out)
			got := strings.Join(append(r.Warnings, r.Error), "\n")
			if tt.code == 1 {
				assert.Equal(t, "filter: a billing group or config name is not the account's", r.Reason)
			}
			assert.Contains(t, got, tt.want)
			if tt.notWant != "" {
				assert.NotContains(t, got, tt.notWant)
			}
		})
	}
}

// TestCheckBillInfoFailure: the exporter reads bills only, so a failed
// bill/info is a warning saying what it leaves unverified. It fails the
// check only for a filter that no row read vouches for either.
func TestCheckBillInfoFailure(t *testing.T) {
	t.Parallel()
	fake := fptapitest.NewServer(fptapitest.Config{Token: checkToken, RowsPerDay: 40, LabelSets: 8})
	defer fake.Close()
	group := fake.BillingGroups()[0].Name
	billInfo := func(f fptapitest.Fault) *fptapitest.Fault {
		f.Endpoint, f.Times = fptapi.EndpointBillInfo, 1
		return &f
	}

	tests := []struct {
		name    string
		fault   *fptapitest.Fault
		args    []string
		code    int
		warning string // in the warnings, text and JSON, on exit 0
		err     string // in the error on exit 1
	}{
		{name: "404", fault: billInfo(fptapitest.Fault{Code: 404}), code: 0,
			warning: "bill/info failed: HTTP 404 Not Found from " + fake.URL + "/v1/billing/bill/info (bill/info's path is inferred from an undocumented page, and this API may serve it elsewhere); " +
				"the billing groups and configs could not be listed"},
		{name: "403", fault: billInfo(fptapitest.Fault{Code: 403}), code: 0,
			warning: "bill/info failed: fptapi: bill_info: HTTP 403 Forbidden"},
		{name: "401", fault: billInfo(fptapitest.Fault{Code: 401}), code: 0,
			warning: `bill/info failed: fptapi: bill_info: HTTP 401 Unauthorized: token invalid or expired: status "401": Unauthorized ` +
				"(the token, accepted for the bills, is refused here: its role may lack billing-group permission); the billing groups"},
		{name: "500", fault: billInfo(fptapitest.Fault{Code: 500}), code: 0, warning: "bill/info failed: fptapi: bill_info: HTTP 500"},
		{name: "truncated JSON", fault: billInfo(fptapitest.Fault{Truncate: true}), code: 0, warning: "bill/info failed: "},
		{name: "HTML page", fault: billInfo(fptapitest.Fault{HTML: true}), code: 0, warning: "bill/info failed: "},
		{name: "timeout", fault: billInfo(fptapitest.Fault{Delay: 10 * time.Second}), args: []string{"--fpt.timeout=1s"}, code: 0,
			warning: "bill/info failed: "},
		{name: "filter with rows", fault: billInfo(fptapitest.Fault{Code: 404}), args: []string{"--fpt.billing-group=" + group}, code: 0,
			warning: "bill/info failed"},
		{name: "filter without rows", fault: billInfo(fptapitest.Fault{Code: 403}), args: []string{"--fpt.billing-group=Nope"}, code: 1,
			err: `cannot verify --fpt.billing-group="Nope": bill/info failed (fptapi: bill_info: HTTP 403 Forbidden`},
		{name: "filter without rows, 404", fault: billInfo(fptapitest.Fault{Code: 404}), args: []string{"--fpt.billing-group=Nope"}, code: 1,
			err: `cannot verify --fpt.billing-group="Nope": bill/info failed (HTTP 404 Not Found from ` + fake.URL + `/v1/billing/bill/info`},
		{name: "config filter without rows", fault: billInfo(fptapitest.Fault{Code: 500}), args: []string{"--fpt.billing-config=Nope"}, code: 1,
			err: `cannot verify --fpt.billing-config="Nope": bill/info failed (fptapi: bill_info: HTTP 500`},
		{name: "budget of a group without rows", fault: billInfo(fptapitest.Fault{Code: 404}), args: []string{"--budget.billing-group-daily-vnd=Nope=5tr"}, code: 0,
			warning: `--budget.billing-group-daily-vnd: "Nope" is not verified: no bill read today carries it, and bill/info failed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, output := range []string{"text", "json"} {
				fake.ResetRequests()
				fake.ClearFaults()
				fake.InjectFault(*tt.fault)
				args := append([]string{"--fpt.api-url=" + fake.URL, "--output=" + output}, tt.args...)
				code, out, errOut := runCheckCommand(t, args...)
				require.Equal(t, tt.code, code, "%s%s", out, errOut)
				assert.Equal(t, 1, fake.Requests(fptapi.EndpointBillInfo), "one bill/info request, no retry")
				if output == "text" {
					if tt.code == 0 {
						assert.Contains(t, out, "warning: "+tt.warning)
						assert.Contains(t, out, "OK: a deployment with these settings would work")
					} else {
						assert.Contains(t, out, "FAILED: filter: a billing group or config name cannot be verified\n")
						assert.Contains(t, out, tt.err)
						assert.Contains(t, out, "the exporter would still query it")
					}
					continue
				}
				r := decodeReport(t, out)
				assert.Equal(t, tt.code == 0, r.OK)
				assert.Positive(t, r.BillsRequests)
				assert.Equal(t, 1, r.BillInfoRequests)
				assert.Empty(t, r.BillingGroups)
				if tt.code == 0 {
					assert.Positive(t, r.Rows, "the filter's rows vouch for it")
					assert.Empty(t, r.Reason)
					assert.True(t, slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, tt.warning) }), "%q", r.Warnings)
					assert.True(t, slices.ContainsFunc(r.Warnings, func(w string) bool {
						return strings.Contains(w, "the names given to --fpt.billing-group, --fpt.billing-config and --budget.billing-group-* are verified against today's bills only")
					}), "%q", r.Warnings)
				} else {
					assert.Equal(t, "filter: a billing group or config name cannot be verified", r.Reason)
					assert.Contains(t, r.Error, tt.err)
				}
			}
		})
	}
}

// TestCheckEmptyBillingGroupBudget: a budget with an empty GROUP is that of
// the rows without a billing group, known to the check when such rows come.
func TestCheckEmptyBillingGroupBudget(t *testing.T) {
	t.Parallel()
	fake := fptapitest.NewServer(fptapitest.Config{Token: checkToken})
	defer fake.Close()
	loc, err := time.LoadLocation(config.BillingTimezone)
	require.NoError(t, err)
	today := time.Now().In(loc).Format(time.DateOnly)
	group := fake.BillingGroups()[0]
	row := fptapi.Bill{Day: today, VPCID: "v1", VPCName: "prod", Service: "storage", BillingConfigName: group.ConfigNames[0], TotalPrice: 1500}
	grouped := row
	grouped.BillingGroupName = group.Name

	tests := []struct {
		name    string
		rows    []fptapi.Bill
		warning string // "": no warning about the budget
	}{
		{"rows without a group", []fptapi.Bill{row, grouped}, ""},
		{"every row in a group", []fptapi.Bill{grouped}, `"" is the rows without a billing group, and no bill read today is one`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.SetBills(today, tt.rows)
			code, out, errOut := runCheckCommand(t, "--fpt.api-url="+fake.URL, "--output=json",
				"--budget.billing-group-daily-vnd==5tr", "--budget.billing-group-monthly-vnd==100tr")
			require.Equal(t, 0, code, "%s%s", out, errOut)
			budgetWarnings := slices.DeleteFunc(decodeReport(t, out).Warnings, func(w string) bool {
				return !strings.HasPrefix(w, "--budget.")
			})
			if tt.warning == "" {
				assert.Empty(t, budgetWarnings)
				return
			}
			assert.Len(t, budgetWarnings, 2, "the daily and the monthly budget")
			for _, w := range budgetWarnings {
				assert.Contains(t, w, tt.warning)
				assert.NotContains(t, w, "is not a billing group of the account")
			}
		})
	}
}
