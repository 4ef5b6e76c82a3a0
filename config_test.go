package main

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

func TestParseVND(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"5000000", 5e6, false},
		{"5e6", 5e6, false},
		{"5_000_000", 5e6, false},
		{"5,000,000.50", 5000000.5, false},
		{"1,5", 0, true},
		{"1.500", 1.5, false},
		{"12,34,567", 0, true},
		{"5__000", 0, true},
		{"0x10", 0, true},
		{"1_000e3", 0, true},
		{" 12.5 ", 12.5, false},
		{"0", 0, true},
		{"0.5", 0.5, false},
		{"", 0, true},
		{"_", 0, true},
		{"-1", 0, true},
		{"NaN", 0, true},
		{"Inf", 0, true},
		{"1e400", 0, true},
		{"5 triệu", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseVND(tt.in)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
}

func TestParseGroupBudgets(t *testing.T) {
	got, err := parseGroupBudgets("f", []string{"team-a=100", "a=b=2e3", "Phòng Kỹ thuật=1_000"})
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"team-a": 100, "a=b": 2000, "Phòng Kỹ thuật": 1000}, got)

	for _, bad := range [][]string{{"=5"}, {"noamount"}, {"g="}, {"g=-1"}, {"g=0"}, {"g=1", "g=2"}} {
		_, err := parseGroupBudgets("f", bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestParseTimezone(t *testing.T) {
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
	f, err := buildFilters(nil, nil)
	require.NoError(t, err)
	assert.Nil(t, f, "no flags: one unfiltered query")

	f, err = buildFilters([]string{"storage", "instance"}, []string{"g1", "g2"})
	require.NoError(t, err)
	assert.Equal(t, []fptapi.Filter{
		{ServiceType: "storage", BillingGroupName: "g1"},
		{ServiceType: "storage", BillingGroupName: "g2"},
		{ServiceType: "instance", BillingGroupName: "g1"},
		{ServiceType: "instance", BillingGroupName: "g2"},
	}, f)

	_, err = buildFilters([]string{" "}, nil)
	assert.Error(t, err)
}

func FuzzParseVND(f *testing.F) {
	for _, s := range []string{"5000000", "5e6", "1_000,5", "-0", "NaN", "+Inf", "0x1p10", "1e309", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseVND(s)
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0) || v <= 0) {
			t.Fatalf("parseVND(%q) = %v: accepted a non-finite or non-positive amount", s, v)
		}
	})
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
			if group == "" || !strings.HasPrefix(s, group+"=") {
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
// number, a time zone or a budget, through kingpin and validation: any
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
		app, fl := newApp()
		if _, err := app.Parse([]string{"--demo", "--" + names[int(which)%len(names)] + "=" + value}); err != nil {
			return
		}
		s, err := fl.validate(func(string) string { return "" })
		if err != nil {
			return
		}
		if *fl.refreshInterval < minRefreshInterval || *fl.refreshInterval > maxRefreshInterval ||
			(s.maxAge != 0 && s.maxAge < *fl.refreshInterval) || *fl.timeout <= 0 ||
			*fl.pageSize < 1 || *fl.pageSize > fptapi.MaxPageSize || !(*fl.rateLimit >= minRateLimit) ||
			math.IsInf(*fl.rateLimit, 0) || *fl.maxSeries < 1 || *fl.maxRequests < 0 {
			t.Fatalf("--%s=%q was accepted but is out of bounds", names[int(which)%len(names)], value)
		}
	})
}
