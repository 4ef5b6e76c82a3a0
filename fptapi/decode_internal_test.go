package fptapi

// Internal tests: the fuzz target and the decode-only benchmark drive the
// page decoder directly; through HTTP they would be a hundred times slower.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
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
// that what it accepts keeps its promises: valid JSON (json.Valid),
// finite numbers, valid UTF-8, a cursor that is a non-empty JSON array, a
// stable result, and the same rows, cursor and null data as a reference
// decode with encoding/json (see checkAgainstEncodingJSON).
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
		`{"status":0,"data":[{"total_price":-0.000123456789012345,"ram":"\u0031\u0032","disk":"\u00a01.5e3"}]}`,
		`{"status":0,"data":[{"name":"\u0048\u00e9\ud83d\ude00\n\"q\""}]}`,
		`{"status":0,"data":[{"name":"\ud800"}]}`,
		`{"status":0,"last_sort_value":[1736899200000, "a", null],"data":[{}]}`,
		`{"status":0,"data":[{"name":"x"}]`,
		`{"status":0,"data":[{"name":"x"},]}`,
		`{"st\u0061tus":1}`,
		`{"status":1,"data":[{"name":"a"}],"status":0}`,
		`{"d\u0061ta":[{"n\u0061me":"a","name":"b","tag":1.50E+2}],"data":null}`,
		`[]`,
		``,
		`null`,
		`{"status":0,"data":[null]}`,
		"{\"status\":0,\"data\":[{\"name\":\"\xff\xfe\"}]}",
		"{\"status\":0,\"data\":[{\"name\":\"\\t\xed\xa0\x80\"}]}",
		"{\"status\":0,\"data\":[]}\x00junk",
		"{\"status\":0,\"data\":[{\"name\":\"a\x00\"}]}",
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
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON")
		}
		if !p.ok && (len(p.rows) > 0 || p.nullData) {
			t.Fatalf("rows or null data from a failed answer")
		}
		if p.nullData && len(p.rows) > 0 {
			t.Fatalf("rows with null data")
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
		if p.ok {
			checkAgainstEncodingJSON(t, body, p)
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

// checkAgainstEncodingJSON decodes an accepted, successful body again with
// encoding/json, into maps (keys match exactly, the last duplicate wins, as
// in the scanner) with json.Number (numbers keep their text), and checks
// that both agree: row count, every string field (a JSON string, or the
// text of a number or boolean, null as ""), every numeric field (a JSON
// number as strconv.ParseFloat reads it, null as 0, a numeric string
// trimmed), null data and the cursor.
func checkAgainstEncodingJSON(t *testing.T, body []byte, p page) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		t.Fatalf("encoding/json rejects what the decoder accepted: %v", err)
	}
	data, present := top["data"]
	if null := present && data == nil; null != p.nullData {
		t.Fatalf("null data: decoder %v, encoding/json %v", p.nullData, null)
	}
	refRows, _ := data.([]any)
	if len(refRows) != len(p.rows) {
		t.Fatalf("rows: decoder %d, encoding/json %d", len(p.rows), len(refRows))
	}
	for i, r := range refRows {
		m, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("row %d: decoder accepted %T", i, r)
		}
		v := reflect.ValueOf(p.rows[i])
		for j := range v.NumField() {
			name := v.Type().Field(j).Tag.Get("json")
			got := v.Field(j)
			ref, ok := m[name]
			if !ok {
				if !got.IsZero() {
					t.Fatalf("row %d: %s absent but decoded as %v", i, name, got)
				}
				continue
			}
			if got.Kind() == reflect.String {
				if want, ok := refString(ref); !ok || got.String() != want {
					t.Fatalf("row %d: %s: decoder %q, encoding/json %#v", i, name, got.String(), ref)
				}
				continue
			}
			if want, ok := refNumber(ref); !ok || got.Float() != want {
				t.Fatalf("row %d: %s: decoder %v, encoding/json %#v", i, name, got.Float(), ref)
			}
		}
	}
	wantCursor := top["last_sort_value"]
	if a, ok := wantCursor.([]any); ok && len(a) == 0 {
		wantCursor = nil
	}
	var gotCursor any
	if p.cursor != nil {
		dec := json.NewDecoder(bytes.NewReader(p.cursor))
		dec.UseNumber()
		if err := dec.Decode(&gotCursor); err != nil {
			t.Fatalf("cursor %q: %v", p.cursor, err)
		}
	}
	if !reflect.DeepEqual(gotCursor, wantCursor) {
		t.Fatalf("cursor: decoder %#v, encoding/json %#v", gotCursor, wantCursor)
	}
}

// refString is what a string field should decode to from an encoding/json value.
func refString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case nil:
		return "", true
	case json.Number:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// refNumber is what a numeric field should decode to from an encoding/json value.
func refNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case nil:
		return 0, true
	case string:
		x = strings.TrimSpace(x)
		if x == "" {
			return 0, true
		}
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
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

// TestScannerNULIsNotTheEnd: peek gives 0 both at the end of the input and
// at a NUL byte; the end of input must be told by the index, so that a NUL
// never passes for the end (and what follows it for nothing).
func TestScannerNULIsNotTheEnd(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // from skipping one value then end(); "" when valid
		kind    string // kind() at the start
	}{
		{in: `{}`, kind: "object"},
		{in: " {} \n", kind: "object"},
		{in: "{}\x00", wantErr: "data after the JSON value", kind: "object"},
		{in: "{}\x00junk", wantErr: "data after the JSON value", kind: "object"},
		{in: "{} \x00 ", wantErr: "data after the JSON value", kind: "object"},
		{in: "", wantErr: errEOF.Error(), kind: "nothing"},
		{in: "  ", wantErr: errEOF.Error(), kind: "nothing"},
		{in: "\x00", wantErr: `unexpected '\x00'`, kind: "invalid JSON"},
		{in: "[1,\x00]", wantErr: `unexpected '\x00'`, kind: "array"},
		{in: "[1\x00]", wantErr: `want ',' or ']', got '\x00'`, kind: "array"},
		{in: "{\x00}", wantErr: `want '"', got '\x00'`, kind: "object"},
		{in: "\"a\x00\"", wantErr: "control character in string", kind: "string"},
		{in: "\"a\\u0000\"", kind: "string"}, // escaped, as JSON requires
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			var s scanner
			s.reset([]byte(tt.in))
			require.Equal(t, tt.kind, s.kind())
			err := s.skip(0)
			if err == nil {
				err = s.end()
			}
			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.wantErr)
			}
			require.Equal(t, tt.wantErr == "", json.Valid([]byte(tt.in)), "agrees with encoding/json")
		})
	}
}

func TestDecodeErrorBodyTrailingNUL(t *testing.T) {
	status, message, err := decodeErrorBody([]byte(`{"status":"E1","message":"busy"}`))
	require.NoError(t, err)
	require.Equal(t, "E1", status)
	require.Equal(t, "busy", message)
	_, _, err = decodeErrorBody([]byte("{\"message\":\"busy\"}\x00<html>"))
	require.ErrorContains(t, err, "data after the JSON value")
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
	for range 50 {
		d := RetryPolicy{BaseDelay: time.Hour, MaxDelay: time.Second}.backoff(0, 0)
		require.LessOrEqual(t, d, time.Second, "without Retry-After the wait caps at MaxDelay")
	}
	require.GreaterOrEqual(t, int64(p.backoff(0, 700)), int64(700), "Retry-After is a floor")
	require.Equal(t, int64(1000), int64(p.backoff(0, 1000)), "a Retry-After of MaxDelay is waited for in full")
	require.Zero(t, RetryPolicy{}.backoff(3, 0))
}

func TestWaitsFor(t *testing.T) {
	tests := []struct {
		maxDelay, retryAfter time.Duration
		want                 bool
	}{
		{30 * time.Second, 0, true},
		{30 * time.Second, 30 * time.Second, true},
		{30 * time.Second, 31 * time.Second, false},
		{30 * time.Second, 2 * time.Minute, false},
		{0, 0, true},
		{0, time.Second, false},
	}
	for _, tt := range tests {
		got := RetryPolicy{MaxDelay: tt.maxDelay}.waitsFor(tt.retryAfter)
		require.Equal(t, tt.want, got, "MaxDelay %v, Retry-After %v", tt.maxDelay, tt.retryAfter)
	}
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
