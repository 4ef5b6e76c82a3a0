package config

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// parseVNDTests are amounts as people write them, and what parseVND
// reads them as.
var parseVNDTests = []struct {
	in   string
	want float64 // 0: refused
}{
	{"5000000", 5e6},
	{"5.000.000", 5e6},
	{"5,000,000", 5e6},
	{"5_000_000", 5e6},
	{"5e6", 5e6},
	{"1.5E+6", 1.5e6},
	{"5,000,000.50", 5000000.5},
	{"5.000.000,50", 5000000.5},
	{"5.000,5", 5000.5},
	{"5,000.5", 5000.5},
	{"5_000.25", 5000.25},
	{"12.5", 12.5},
	{"1,5", 1.5},
	{"0.5", 0.5},
	{"1.2345", 1.2345},
	{" 12.5 ", 12.5},
	{"5k", 5e3},
	{"5 nghìn", 5e3},
	{"5M", 5e6},
	{"5tr", 5e6},
	{"1,5tr", 1.5e6},
	{"1.5 triệu", 1.5e6},
	{"5 Trieu", 5e6},
	{"2ty", 2e9},
	{"2 tỷ", 2e9},
	{"2B", 2e9},
	{"1.1tr", 1.1e6}, // the exact decimal, not 1.1 * 1e6 rounded twice
	{"5.000.000k", 5e9},

	// Ambiguous: a single separator before exactly three digits.
	{"5.000", 0},
	{"5,000", 0},
	{"1.500", 0},
	{"5.000tr", 0},
	// Malformed groups, signs, and what is not an amount.
	{"12,34,567", 0},
	{"5.00.000", 0},
	{"5000.000.000", 0},
	{"5__000", 0},
	{"5_00", 0},
	{"5.000.000.50", 0},
	{"5,000,000,50", 0},
	{"1.5_000", 0},
	{"1,000.5,5", 0},
	{"0x10", 0},
	{"1_000e3", 0},
	{"5e6tr", 0},
	{"5 000 000", 0},
	{"5.", 0},
	{".5", 0},
	{"0", 0},
	{"0tr", 0},
	{"", 0},
	{"_", 0},
	{"-1", 0},
	{"+1", 0},
	{"NaN", 0},
	{"Inf", 0},
	{"1e400", 0},
	{"tr", 0},
	{"5 đồng", 0},
	{"5kk", 0},
	{"5 lots", 0},
}

func TestParseVND(t *testing.T) {
	t.Parallel()
	for _, tt := range parseVNDTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseVND(tt.in)
			if tt.want == 0 {
				require.Error(t, err)
				if !strings.Contains(err.Error(), "is ambiguous: write ") { // those suggest spellings instead
					assert.Contains(t, err.Error(), "accepted forms: 5000000, 5.000.000", "every other refusal lists the accepted forms")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

}

// TestParseVNDAmbiguous: a single separator before exactly three digits is
// refused in one sentence that spells the input both ways it may be meant,
// in forms parseVND reads one way only.
func TestParseVNDAmbiguous(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want               string
		thousands, decimal     []string // the suggested spellings and what they read as
		asThousands, asDecimal float64
	}{
		{`5.000`, `"5.000" is ambiguous: write 5000 or 5k if the "." separates thousands, or 5.0 if it is the decimal mark`,
			[]string{"5000", "5k"}, []string{"5.0"}, 5000, 5},
		{`5,000`, `"5,000" is ambiguous: write 5000 or 5k if the "," separates thousands, or 5.0 if it is the decimal mark`,
			[]string{"5000", "5k"}, []string{"5.0"}, 5000, 5},
		{`12,500`, `"12,500" is ambiguous: write 12500 or 12.5k if the "," separates thousands, or 12.5 if it is the decimal mark`,
			[]string{"12500", "12.5k"}, []string{"12.5"}, 12500, 12.5},
		{`1.250`, `"1.250" is ambiguous: write 1250 or 1.25k if the "." separates thousands, or 1.25 if it is the decimal mark`,
			[]string{"1250", "1.25k"}, []string{"1.25"}, 1250, 1.25},
		{`1.125`, `"1.125" is ambiguous: write 1125 if the "." separates thousands, or 1.1250 if it is the decimal mark`,
			[]string{"1125"}, []string{"1.1250"}, 1125, 1.125},
		{`0,500`, `"0,500" is ambiguous: write 500 or 0.5k if the "," separates thousands, or 0.5 if it is the decimal mark`,
			[]string{"500", "0.5k"}, []string{"0.5"}, 500, 0.5},
		{`5.000tr`, `"5.000tr" is ambiguous: write 5000tr if the "." separates thousands, or 5.0tr if it is the decimal mark`,
			[]string{"5000tr"}, []string{"5.0tr"}, 5e9, 5e6},
		{` 1,500 triệu `, `" 1,500 triệu " is ambiguous: write 1500 triệu if the "," separates thousands, or 1.5 triệu if it is the decimal mark`,
			[]string{"1500 triệu"}, []string{"1.5 triệu"}, 1.5e9, 1.5e6},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := parseVND(tt.in)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			for _, spellings := range []struct {
				in   []string
				want float64
			}{{tt.thousands, tt.asThousands}, {tt.decimal, tt.asDecimal}} {
				for _, s := range spellings.in {
					got, err := parseVND(s)
					require.NoError(t, err, "suggested %q", s)
					assert.InDelta(t, spellings.want, got, 1e-9, "suggested %q", s)
				}
			}
		})
	}

	for _, in := range []string{"0.000", "0,A00"} { // both readings zero; not digits
		_, err := parseVND(in)
		require.Error(t, err, in)
		assert.NotContains(t, err.Error(), "write", in)
		assert.Contains(t, err.Error(), "accepted forms: ", in)
	}
}

// Reference forms for FuzzParseVND, written independently of parseVND: one
// regular expression per accepted shape, each naming its thousands
// separator and decimal mark.
var vndReference = []struct {
	re          *regexp.Regexp
	group, mark string
}{
	{regexp.MustCompile(`^[0-9]+$`), "", ""},
	{regexp.MustCompile(`^[0-9]+\.([0-9]{1,2}|[0-9]{4,})$`), "", "."},
	{regexp.MustCompile(`^[0-9]+,([0-9]{1,2}|[0-9]{4,})$`), "", ","},
	{regexp.MustCompile(`^[0-9]{1,3}(_[0-9]{3})+$`), "_", ""},
	{regexp.MustCompile(`^[0-9]{1,3}(_[0-9]{3})+\.[0-9]+$`), "_", "."},
	{regexp.MustCompile(`^[0-9]{1,3}(_[0-9]{3})+,[0-9]+$`), "_", ","},
	{regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{3}){2,}$`), ".", ""},
	{regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3}){2,}$`), ",", ""},
	{regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{3})+,[0-9]+$`), ".", ","},
	{regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3})+\.[0-9]+$`), ",", "."},
}

var (
	vndReferenceSuffix = regexp.MustCompile(`(?i)^(.*?[0-9])\s*(k|nghìn|nghin|ngàn|ngan|m|tr|triệu|trieu|b|tỷ|tỉ|ty|ti)$`)
	vndReferenceSci    = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)[eE]([+-]?[0-9]+)$`)
)

// referenceVND is what parseVND should read s as, computed exactly with
// big.Rat; known is false when the reference cannot say cheaply (a huge
// exponent).
func referenceVND(s string) (v float64, ok, known bool) {
	s = strings.TrimSpace(s)
	zeros := 0
	if m := vndReferenceSuffix.FindStringSubmatch(s); m != nil {
		s = m[1]
		zeros = map[string]int{"k": 3, "nghìn": 3, "nghin": 3, "ngàn": 3, "ngan": 3, "m": 6, "tr": 6, "triệu": 6,
			"trieu": 6, "b": 9, "tỷ": 9, "tỉ": 9, "ty": 9, "ti": 9}[strings.ToLower(m[2])]
	}
	r := new(big.Rat)
	if m := vndReferenceSci.FindStringSubmatch(s); m != nil && zeros == 0 {
		e, err := strconv.Atoi(m[2])
		if err != nil || e > 400 || e < -400 {
			return 0, false, false
		}
		r.SetString(m[1])
		r.Mul(r, new(big.Rat).SetFrac(pow10(max(e, 0)), pow10(max(-e, 0))))
	} else {
		matched := false
		for _, f := range vndReference {
			if !f.re.MatchString(s) {
				continue
			}
			plain := s
			if f.group != "" {
				plain = strings.ReplaceAll(plain, f.group, "")
			}
			if f.mark != "" {
				plain = strings.Replace(plain, f.mark, ".", 1)
			}
			r.SetString(plain)
			matched = true
			break
		}
		if !matched {
			return 0, false, true
		}
		r.Mul(r, new(big.Rat).SetInt(pow10(zeros)))
	}
	v, _ = r.Float64()
	return v, r.Sign() > 0 && v > 0 && !math.IsInf(v, 0), true
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

func FuzzParseVND(f *testing.F) {
	for _, s := range []string{
		"5000000", "5e6", "1_000,5", "-0", "NaN", "+Inf", "0x1p10", "1e309", "", "5.000", "5.000.000",
		"5,000,000.50", "1,5tr", "2 tỷ", "5M", "5.000,000", "1e-400", "0.0001e-320",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseVND(s)
		if err == nil && (math.IsNaN(got) || math.IsInf(got, 0) || got <= 0) {
			t.Fatalf("parseVND(%q) = %v: accepted a non-finite or non-positive amount", s, got)
		}
		if m := vndSuggestions.FindStringSubmatch(fmtErr(err)); m != nil {
			checkSuggestions(t, s, strings.Split(m[1], " or "), m[2])
		}
		want, ok, known := referenceVND(s)
		if !known {
			return
		}
		switch {
		case ok && err != nil:
			t.Fatalf("parseVND(%q) refused it (%v); the reference reads %v", s, err, want)
		case !ok && err == nil:
			t.Fatalf("parseVND(%q) = %v; the reference refuses it", s, got)
		case ok && got != want:
			t.Fatalf("parseVND(%q) = %v; the reference reads %v", s, got, want)
		}
	})
}

// vndSuggestions finds the spellings an ambiguity error suggests.
var vndSuggestions = regexp.MustCompile(`is ambiguous: write (.+) if the "[.,]" separates thousands, or (.+) if it is the decimal mark$`)

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkSuggestions: every suggested spelling is read, the thousands ones
// alike, and the decimal one a thousandth of them.
func checkSuggestions(t *testing.T, in string, thousands []string, decimal string) {
	t.Helper()
	read := func(s string) float64 {
		v, err := parseVND(s)
		if err != nil {
			t.Fatalf("parseVND(%q) suggests %q, which it refuses: %v", in, s, err)
		}
		return v
	}
	want := read(thousands[0])
	for _, s := range thousands[1:] {
		if got := read(s); math.Abs(got-want) > want*1e-12 {
			t.Fatalf("parseVND(%q) suggests %q = %v and %q = %v for the same reading", in, thousands[0], want, s, got)
		}
	}
	if got := read(decimal); math.Abs(got*1000-want) > want*1e-12 {
		t.Fatalf("parseVND(%q) suggests %q = %v for the decimal reading of %v", in, decimal, got, want)
	}
}

// The Helm chart's values schema checks a budget string at install, before
// the exporter reads it at start: it must take every form parseVND takes
// and refuse every form parseVND refuses for its shape, and zero. Only an
// amount too large for a float64 is left to the exporter.
func TestChartSchemaTakesTheBudgetForms(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../deploy/helm/fptcloud-exporter/values.schema.json")
	require.NoError(t, err)
	type patterned struct{ Pattern string }
	var schema struct {
		Definitions struct {
			VNDAmount struct {
				AnyOf []struct {
					Type  string
					AllOf []patterned `json:"allOf"`
				} `json:"anyOf"`
			} `json:"vndAmount"`
		} `json:"definitions"`
	}
	require.NoError(t, json.Unmarshal(data, &schema))
	var patterns []*regexp.Regexp
	for _, alt := range schema.Definitions.VNDAmount.AnyOf {
		if alt.Type != "string" {
			continue
		}
		for _, p := range alt.AllOf {
			// Helm's schema validator compiles patterns with Go's regexp.
			patterns = append(patterns, regexp.MustCompile(p.Pattern))
		}
	}
	require.NotEmpty(t, patterns, "no string patterns in the schema's vndAmount")
	matches := func(s string) bool {
		for _, p := range patterns {
			if !p.MatchString(s) {
				return false
			}
		}
		return true
	}
	for _, zero := range []string{"0", "0tr", "0,00", "0.000.000", "0e6"} {
		assert.False(t, matches(zero), "the schema takes %q, which the exporter refuses", zero)
	}

	var inputs []string
	for _, tt := range parseVNDTests {
		inputs = append(inputs, tt.in)
	}
	for suffix := range vndSuffixes {
		first, size := utf8.DecodeRuneInString(suffix)
		for _, s := range []string{suffix, strings.ToUpper(suffix), strings.ToUpper(string(first)) + suffix[size:]} {
			inputs = append(inputs, "5"+s, "1,5 "+s, "5.000.000"+s, "5e6"+s)
		}
	}
	for _, in := range inputs {
		_, err := parseVND(in)
		switch {
		case err == nil:
			assert.True(t, matches(in), "the schema refuses %q, which the exporter takes", in)
		case strings.Contains(err.Error(), "finite, positive"):
		default:
			assert.False(t, matches(in), "the schema takes %q, which the exporter refuses: %v", in, err)
		}
	}
}

func TestParseGroupBudgets(t *testing.T) {
	t.Parallel()
	// The amount follows the last "=": "=5tr" is the rows without a billing
	// group, "==5" a group called "=".
	got, err := parseGroupBudgets("f", []string{"team-a=100", "a=b=2e3", "Phòng Kỹ thuật=1_000", "=5tr", "==5"})
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"team-a": 100, "a=b": 2000, "Phòng Kỹ thuật": 1000, "": 5e6, "=": 5}, got)

	for _, bad := range [][]string{{"="}, {"noamount"}, {"g="}, {"g=-1"}, {"g=0"}, {"g=1", "g=2"}, {"=1", "=2"}, {"g=5=000"}} {
		_, err := parseGroupBudgets("f", bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestParseTimezone(t *testing.T) {
	t.Parallel()
	loc, err := parseTimezone("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	_, offset := time.Date(2026, 11, 25, 0, 0, 0, 0, loc).Zone()
	assert.Equal(t, 7*3600, offset)

	for _, bad := range []string{"", "Local", "Asia/Saigon_Nope", "../../etc/passwd"} {
		_, err := parseTimezone(bad)
		assert.Error(t, err, bad)
	}
}

func TestBuildFilters(t *testing.T) {
	t.Parallel()
	assert.Nil(t, buildFilters(nil, nil, nil), "no flags: one unfiltered query")

	assert.Equal(t, []fptapi.Filter{
		{ServiceType: "storage", BillingGroupName: "g1"},
		{ServiceType: "storage", BillingGroupName: "g2"},
		{ServiceType: "instance", BillingGroupName: "g1"},
		{ServiceType: "instance", BillingGroupName: "g2"},
	}, buildFilters([]string{"storage", "instance"}, []string{"g1", "g2"}, nil))

	assert.Equal(t, []fptapi.Filter{
		{BillingGroupName: "g1", BillingConfigName: "c1"},
		{BillingGroupName: "g1", BillingConfigName: "c2"},
	}, buildFilters(nil, []string{"g1"}, []string{"c1", "c2"}))

	assert.Equal(t, []fptapi.Filter{{BillingConfigName: "c1"}}, buildFilters(nil, nil, []string{"c1"}))

	for _, bad := range []string{"--fpt.service-type= ", "--fpt.billing-group=", "--fpt.billing-config=\t"} {
		_, err := NewApp().Resolve([]string{bad}, env(map[string]string{TokenEnv: "t"}))
		assert.ErrorContains(t, err, "values must not be empty", "%q", bad)
	}
}

func FuzzParseGroupBudgets(f *testing.F) {
	for _, s := range []string{"team=1", "a=b=2", "=1", "x=", "Phòng=1e3", "g=NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseGroupBudgets("f", []string{s})
		if err != nil {
			return
		}
		require.Len(t, got, 1)
		for group, amount := range got {
			// The amount never contains "=": the group is all before the last.
			if !strings.HasPrefix(s, group+"=") || strings.Contains(s[len(group)+1:], "=") {
				t.Fatalf("%q parsed into group %q", s, group)
			}
			if math.IsNaN(amount) || math.IsInf(amount, 0) || amount <= 0 {
				t.Fatalf("%q parsed into amount %v", s, amount)
			}
		}
	})
}

func FuzzParseTimezone(f *testing.F) {
	for _, s := range []string{"Asia/Ho_Chi_Minh", "UTC", "Local", "", "../etc", "Asia/Tokyo\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := parseTimezone(s)
		if err == nil && loc == nil {
			t.Fatalf("parseTimezone(%q) returned neither a location nor an error", s)
		}
	})
}

// FuzzFlags feeds arbitrary values to every flag that takes a duration, a
// number, a time zone or a budget, through kingpin and Resolve: any
// outcome but a panic, or an accepted value outside its limits, is fine.
func FuzzFlags(f *testing.F) {
	names := []string{
		"collector.refresh-interval", "collector.max-age", "fpt.timeout", "fpt.page-size",
		"fpt.rate-limit", "collector.max-series", "fpt.timezone", "budget.daily-vnd",
		"budget.monthly-vnd", "budget.billing-group-daily-vnd", "web.max-requests",
	}
	for i, v := range []string{"1s", "-1h", "1e3", "0", "NaN", "Asia/Ho_Chi_Minh", "9e18", "g=1", "99999999999999999999h", "1.5"} {
		f.Add(uint8(i), v)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		if !utf8.ValidString(value) {
			return
		}
		name := names[int(which)%len(names)]
		getenv := func(k string) string {
			if k == TokenEnv {
				return "fuzz-token"
			}
			return ""
		}
		cfg, err := NewApp().Resolve([]string{"--" + name + "=" + value}, getenv)
		if err != nil {
			return
		}
		c, src := cfg.Collector, cfg.Sources[0]
		if c.RefreshInterval < minRefreshInterval || c.RefreshInterval > maxRefreshInterval ||
			(c.MaxAge != 0 && c.MaxAge < c.RefreshInterval) || src.Timeout <= 0 ||
			src.PageSize < 1 || src.PageSize > fptapi.MaxPageSize || !(src.RateLimit >= minRateLimit) ||
			math.IsInf(src.RateLimit, 0) || c.MaxSeries < 1 || cfg.Server.MaxRequests < 0 {
			t.Fatalf("--%s=%q was accepted but is out of bounds", name, value)
		}
	})
}

func TestTimezoneWarning(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	warning := func(name string) string {
		loc, err := time.LoadLocation(name)
		require.NoError(t, err)
		return zoneWarning("--fpt.timezone", loc, now)
	}
	// Zones whose days start when FPT's do.
	for _, name := range []string{"Asia/Ho_Chi_Minh", "Asia/Saigon", "Asia/Bangkok", "Etc/GMT-7"} {
		assert.Empty(t, warning(name), name)
	}
	assert.Equal(t, "--fpt.timezone=UTC is not FPT Cloud's billing zone Asia/Ho_Chi_Minh: billing days and months will start at another hour than FPT's (UTC+00:00, not UTC+07:00)",
		warning("UTC"))
	assert.Contains(t, warning("Asia/Singapore"), "(UTC+08:00, not UTC+07:00)")
	// A zone with summer time (UTC+11 in November).
	assert.Contains(t, warning("Australia/Sydney"), "is not FPT Cloud's billing zone")
}

// TestHelpShowsOneMaxAgeDefault: the default of --collector.max-age follows
// the refresh interval, so --help states the rule and no fixed value.
func TestHelpShowsOneMaxAgeDefault(t *testing.T) {
	t.Parallel()
	app := NewApp()
	var help bytes.Buffer
	app.UsageWriter(&help)
	app.Terminate(nil)
	_, _ = app.Parse([]string{"--help"})
	text := strings.Join(strings.Fields(help.String()), " ")
	assert.Contains(t, text, "--collector.max-age=DURATION Billing series disappear")
	assert.Contains(t, text, "Default: 1h0m0s or 3 refresh intervals, whichever is longer")
	assert.NotContains(t, text, `--collector.max-age="1h0m0s"`)
	assert.Contains(t, text, "--fpt.billing-config=CONFIG")
	assert.Contains(t, text, "check")
}

func TestDefaultCommandIsTheExporter(t *testing.T) {
	t.Parallel()
	app := NewApp()
	command, err := app.Parse([]string{"--demo"})
	require.NoError(t, err)
	assert.Equal(t, CommandServe, command)
	command, err = app.Parse([]string{"check", "--demo"})
	require.NoError(t, err)
	assert.Equal(t, CommandCheck, command)
}

// TestParseRangeLateWindow: yesterday is refused until its late window has
// closed, in the billing time zone, and accepted from then on.
func TestParseRangeLateWindow(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	yesterday := "2026-03-31"
	for _, tt := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 4, 1, 0, 0, 1, 0, loc), "late bills of that day may still arrive until 2026-04-01 06:00"},
		{time.Date(2026, 4, 1, 5, 59, 59, 0, loc), "late bills"},
		{time.Date(2026, 4, 1, 6, 0, 0, 0, loc), ""},
		{time.Date(2026, 3, 31, 23, 0, 0, 0, loc), "not closed"},
		// 20:00 UTC on the 31st is already the 1st, 03:00, in Ho Chi Minh City.
		{time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC), "late bills"},
	} {
		_, _, err := parseRange("2026-03-01", yesterday, loc, tt.now)
		if tt.want == "" {
			assert.NoError(t, err, tt.now)
		} else {
			assert.ErrorContains(t, err, tt.want, tt.now)
		}
	}
}

func TestAPIURLWarning(t *testing.T) {
	t.Parallel()
	assert.Contains(t, urlWarning("--fpt.api-url", "https://console-api.fptcloud.com/api/v1"), "does not end in /api")
	assert.Contains(t, urlWarning("--fpt.api-url", "https://console-api.fptcloud.com"), "does not end in /api")
	assert.Empty(t, urlWarning("--fpt.api-url", "https://console-api.fptcloud.com/api/"))
	assert.Empty(t, urlWarning("--fpt.api-url", fptapi.DefaultBaseURL))
}

func TestStoreTimeZone(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "Asia/Ho_Chi_Minh", storeTimeZone(time.FixedZone("UTC+7", 7*3600), time.Now()))
	assert.Equal(t, "UTC", storeTimeZone(time.UTC, time.Now()))
}

// TestDemoResolvesToASimulatedSource: --demo is resolved once, here, into a
// simulated source with its token, an unlimited rate unless one is given,
// no month cache unless a path is given, and a landing page that says so.
func TestDemoResolvesToASimulatedSource(t *testing.T) {
	t.Parallel()
	noEnv := func(string) string { return "" }
	cfg, err := NewApp().Resolve([]string{"--demo"}, noEnv)
	require.NoError(t, err)
	require.Len(t, cfg.Sources, 1)
	src := cfg.Sources[0]
	require.NotNil(t, src.Simulated)
	assert.Equal(t, DemoAPI(src.Location), *src.Simulated)
	assert.True(t, math.IsInf(src.RateLimit, 1))
	assert.Equal(t, "the demo's fake API", src.TokenSource)
	assert.Equal(t, "demo", src.Identity.APIURL)
	assert.Empty(t, cfg.Store.Path)
	assert.Contains(t, cfg.Server.Description, "DEMO MODE")

	cfg, err = NewApp().Resolve([]string{"--demo", "--fpt.rate-limit=2", "--storage.path=/var/lib/x"}, noEnv)
	require.NoError(t, err)
	assert.Equal(t, 2.0, cfg.Sources[0].RateLimit)
	assert.Equal(t, "/var/lib/x", cfg.Store.Path)

	cfg, err = NewApp().Resolve([]string{"--fpt.service-type=storage"}, func(k string) string {
		if k == TokenEnv {
			return "a-token"
		}
		return ""
	})
	require.NoError(t, err)
	src = cfg.Sources[0]
	assert.Nil(t, src.Simulated)
	assert.Equal(t, fptapi.DefaultBaseURL, src.Identity.APIURL)
	assert.Equal(t, "environment $"+TokenEnv, src.TokenSource)
	assert.Equal(t, "data/", cfg.Store.Path)
	assert.Equal(t, []fptapi.Filter{{ServiceType: "storage"}}, src.Filters)
	assert.NotContains(t, cfg.Server.Description, "DEMO")
}
