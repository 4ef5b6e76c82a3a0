package fptapi

// Internal tests: the fuzz target and the decode-only benchmark drive the
// page decoder directly; through HTTP they would be a hundred times slower.

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// realPage renders n rows shaped like FPT's: all 34 fields, ~650 bytes each.
func realPage(n int, cursor string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"status":0,"message":"Thành công","count":100000,"last_sort_value":%s,"data":[`, cursor)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"org_id":"6f1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d","org_name":"Công ty TNHH Ví dụ",`+
			`"tenant_iaas_id":"a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6","tenant_iaas_name":"Chi nhánh Hồ Chí Minh",`+
			`"vpc_id":"b2c3d4e5-f6a7-b8c9-d0e1-f2a3b4c5d6e%d","vpc_name":"Sản xuất \"HCM\" %d","vdi_site":"HCM01",`+
			`"pool_name":"pool-ssd-01","day":"2025-01-15","start_time":"2025-01-15 %02d:00:00","service":"instance",`+
			`"name":"web-%06d","infra_id":"c3d4e5f6-a7b8-c9d0-e1f2-%012d","attach_vm":"","storage_policy":"Premium-SSD",`+
			`"tag":"env:prod","disk":%d,"disk_total":"%d.5","vcpu":4,"vcpu_total":4,"ram":8,"ram_total":8,"running_time":24,`+
			`"total_price":%d.25,"disk_quantity":1200.5,"cpu_quantity":96,"ram_quantity":null,`+
			`"billing_config_name":"config-prod","billing_group_name":"Nhóm Sản xuất","invoice_group_name":"invoice-main"}`,
			i%5, i%5, i%24, i, i, 40+i%7, 40+i%7, 123456+i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func TestRealPageShape(t *testing.T) {
	body := realPage(100, `["1736899200000","x"]`)
	var d pageDecoder
	p, err := d.decode(body)
	require.NoError(t, err)
	require.Len(t, p.rows, 100)
	require.Equal(t, `Sản xuất "HCM" 3`, p.rows[3].VPCName)
	require.InDelta(t, 43.5, p.rows[3].DiskTotal, 0)
	require.Equal(t, `["1736899200000","x"]`, string(p.cursor))
	perRow := float64(len(body)) / 100
	require.InDelta(t, 700, perRow, 200, "rows should be realistically sized")
}

// BenchmarkDecodePage measures the decoder alone on 100-row pages.
func BenchmarkDecodePage(b *testing.B) {
	body := realPage(100, `["1736899200000","x"]`)
	var d pageDecoder
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.decode(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "rows/s")
}

// FuzzDecodePage checks that no input makes the page decoder panic, and
// that what it accepts keeps its promises: finite numbers, valid UTF-8,
// a cursor that is a non-empty JSON array, and a stable result.
func FuzzDecodePage(f *testing.F) {
	seeds := []string{
		string(realPage(3, `["1736899200000","x"]`)),
		`{"status":0,"message":"ok","count":0,"last_sort_value":[],"data":[]}`,
		`{"status":0,"data":null,"last_sort_value":null}`,
		`{"status":true,"data":[{"total_price":"12.5","vcpu":"","ram":null,"disk":" 7 "}]}`,
		`{"status":false,"message":"denied"}`,
		`{"status":"0","data":[{"name":123,"tag":true,"vpc_id":null}]}`,
		`{"status":0,"extra":{"a":[1,2,{"b":null}]},"data":[{"unknown":[{}],"total_price":1e308}]}`,
		`{"status":0,"data":[{"total_price":1e999}]}`,
		`{"status":0,"data":[{"total_price":"NaN"}]}`,
		`{"status":0,"data":[{"total_price":"-Inf"}]}`,
		`{"status":0,"data":[{"total_price":"0x1p3"}]}`,
		`{"status":0,"data":[{"total_price":123456789012345678901234567890}]}`,
		`{"status":0,"data":[{"name":"\u0048\u00e9\ud83d\ude00\n\"q\""}]}`,
		`{"status":0,"data":[{"name":"\ud800"}]}`,
		`{"status":0,"last_sort_value":[1736899200000, "a", null],"data":[{}]}`,
		`{"status":0,"data":[{"name":"x"}]`,
		`{"status":0,"data":[{"name":"x"},]}`,
		`{"st\u0061tus":1}`,
		`[]`,
		``,
		`null`,
		`{"status":0,"data":[null]}`,
		"{\"status\":0,\"data\":[{\"name\":\"\xff\xfe\"}]}",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var d pageDecoder
		p, err := d.decode(body)
		if err != nil {
			return
		}
		if !p.ok && len(p.rows) > 0 {
			t.Fatalf("rows from a failed answer")
		}
		if p.cursor != nil {
			var s scanner
			s.reset(p.cursor)
			if s.peek() != '[' || s.skip(0) != nil || s.end() != nil || bytes.Equal(bytes.TrimSpace(p.cursor[1:len(p.cursor)-1]), nil) {
				t.Fatalf("bad cursor %q", p.cursor)
			}
		}
		for i := range p.rows {
			checkBill(t, &p.rows[i])
		}
		// The same body decodes the same way with a fresh or reused decoder.
		first := append([]Bill(nil), p.rows...)
		var fresh pageDecoder
		p2, err := fresh.decode(body)
		if err != nil || !reflect.DeepEqual(first, append([]Bill(nil), p2.rows...)) {
			t.Fatalf("unstable decode: %v", err)
		}
		p3, err := d.decode(body)
		if err != nil || !reflect.DeepEqual(first, append([]Bill(nil), p3.rows...)) {
			t.Fatalf("reused decoder differs: %v", err)
		}
	})
}

func checkBill(t *testing.T, b *Bill) {
	v := reflect.ValueOf(b).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.Float64:
			if math.IsNaN(f.Float()) || math.IsInf(f.Float(), 0) {
				t.Fatalf("%s is not finite: %v", v.Type().Field(i).Name, f.Float())
			}
		case reflect.String:
			if !utf8.ValidString(f.String()) {
				t.Fatalf("%s is not UTF-8: %q", v.Type().Field(i).Name, f.String())
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := mustTime("Wed, 15 Jan 2025 10:00:00 GMT")
	tests := []struct {
		in   string
		want string
	}{
		{"", "0s"},
		{"0", "0s"},
		{"-5", "0s"},
		{"7", "7s"},
		{" 120 ", "2m0s"},
		{"Wed, 15 Jan 2025 10:00:30 GMT", "30s"},
		{"Wednesday, 15-Jan-25 10:01:00 GMT", "1m0s"},
		{"Wed, 15 Jan 2025 09:00:00 GMT", "0s"},
		{"soon", "0s"},
		{"1.5", "0s"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, parseRetryAfter(tt.in, now).String(), "Retry-After %q", tt.in)
	}
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{MaxRetries: 10, BaseDelay: 100, MaxDelay: 1000}
	for retry := range 40 {
		for range 50 {
			d := p.backoff(retry, 0)
			ceil := min(int64(100)<<min(retry, 20), 1000)
			require.True(t, d >= 0 && int64(d) <= ceil, "retry %d: %v", retry, d)
		}
	}
	require.Equal(t, int64(1000), int64(p.backoff(0, 5000)), "Retry-After is capped by MaxDelay")
	require.GreaterOrEqual(t, int64(p.backoff(0, 700)), int64(700), "Retry-After is a floor")
	require.Zero(t, RetryPolicy{}.backoff(3, 0))
}

func TestCleanMessage(t *testing.T) {
	long := strings.Repeat("é", 600)
	got := cleanMessage(long, "")
	require.True(t, utf8.ValidString(got))
	require.LessOrEqual(t, len(got), maxMessageLen+len("…"))
	require.Equal(t, "a b", cleanMessage("  a\n\t b ", ""))
	require.Equal(t, "Bad Gateway", cleanMessage("<html><head><TITLE> Bad Gateway </TITLE></head></html>", ""))
	require.Equal(t, "hello world", cleanMessage("<p>hello</p><p>world</p>", ""))
	require.Equal(t, "key [REDACTED] here", cleanMessage("key secret-token here", "secret-token"))
}

func mustTime(s string) (t time.Time) {
	t, err := http.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t
}
