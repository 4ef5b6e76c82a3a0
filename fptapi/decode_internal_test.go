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

// realPage renders n rows shaped like FPT's: every documented field, about
// 750 bytes a row.
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
			`"total_price":%d.25,"disk_quantity":1200.5,"cpu_quantity":"96","ram_quantity":null,`+
			`"billing_config_name":"config-prod","billing_group_name":"Nhóm Sản xuất","invoice_group_name":"invoice-main"}`,
			i%5, i%5, i%24, i, i, 40+i%7, 40+i%7, 123456+i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func TestRealPageShape(t *testing.T) {
	t.Parallel()
	body := realPage(100, `["1736899200000","x"]`)
	resp, rows, err := decodeBills(body, nil)
	require.NoError(t, err)
	require.Len(t, rows, 100)
	require.Equal(t, Bill{
		OrgID: "6f1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", TenantIaasID: "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
		VPCID: "b2c3d4e5-f6a7-b8c9-d0e1-f2a3b4c5d6e3", VPCName: `Sản xuất "HCM" 3`, Service: "instance",
		BillingGroupName: "Nhóm Sản xuất", Tag: "env:prod", BillingConfigName: "config-prod",
		Name: "web-000003", InfraID: "c3d4e5f6-a7b8-c9d0-e1f2-000000000003", Day: "2025-01-15",
		VCPU: 4, RAM: 8, Disk: 43, CPUQuantity: 96, DiskQuantity: 1200.5, TotalPrice: 123459.25,
	}, rows[3])
	require.Equal(t, `["1736899200000","x"]`, string(resp.LastSortValue))
	perRow := float64(len(body)) / 100
	require.InDelta(t, 750, perRow, 100, "rows should be realistically sized")
}

// BenchmarkDecodePage measures the decoder alone on 100-row pages (the
// default page size), reusing the row slice as Client.Bills does. Its
// ns/op divided by 200 ms (a page at the default 5 requests a second) is
// the share of one core decoding takes; docs/performance.md has the method.
func BenchmarkDecodePage(b *testing.B) {
	body := realPage(100, `["1736899200000","x"]`)
	var rows []Bill
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if _, rows, err = decodeBills(body, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "rows/s")
}

// FuzzDecodePage checks that no input makes the page decoder panic, and
// that what it accepts keeps its promises: valid JSON, finite numbers,
// valid UTF-8, no rows from a failed answer, a cursor that is a non-empty
// JSON array, a stable result, and the same status, rows and cursor as a
// reference decode into maps (see checkAgainstMaps).
func FuzzDecodePage(f *testing.F) {
	seeds := []string{
		string(realPage(3, `["1736899200000","x"]`)),
		`{"status":0,"message":"ok","count":0,"last_sort_value":[],"data":[]}`,
		`{"status":0,"data":null,"last_sort_value":null}`,
		`{"status":true,"data":[{"total_price":"12.5","vcpu":"","ram":null,"disk":" 7 "}]}`,
		`{"status":false,"message":"denied"}`,
		`{"status":1,"message":"busy","data":"oops"}`,
		`{"status":"0","data":[{"name":123,"tag":true,"vpc_id":null}]}`,
		`{"status":0,"extra":{"a":[1,2,{"b":null}]},"data":[{"unknown":[{}],"total_price":1e308}]}`,
		`{"status":0,"data":[{"total_price":1e999}]}`,
		`{"status":0,"data":[{"total_price":"NaN"}]}`,
		`{"status":0,"data":[{"total_price":"-Inf"}]}`,
		`{"status":0,"data":[{"total_price":"0x1p3"}]}`,
		`{"status":0,"data":[{"total_price":"1_000"}]}`,
		`{"status":0,"data":[{"total_price":123456789012345678901234567890}]}`,
		`{"status":0,"data":[{"total_price":-0.000123456789012345,"ram":"\u0031\u0032","disk":"\u00a01.5e3"}]}`,
		`{"status":0,"data":[{"name":"\u0048\u00e9\ud83d\ude00\n\"q\""}]}`,
		`{"status":0,"data":[{"name":"\ud800"}]}`,
		`{"status":0,"last_sort_value":[1736899200000, "a", null],"data":[{}]}`,
		`{"status":0,"data":[{"name":"x"}]`,
		`{"status":0,"data":[{"name":"x"},]}`,
		`{"st\u0061tus":1}`,
		`{"Status":1,"status":0}`,
		`{"status":0,"data":[{"NAME":"a","name":"b","Total_Price":2}]}`,
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
		resp, rows, err := decodeBills(body, nil)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON")
		}
		if resp.Status.failed && len(rows) > 0 {
			t.Fatalf("rows from a failed answer")
		}
		if c := resp.LastSortValue; c != nil {
			var a []any
			if json.Unmarshal(c, &a) != nil || len(a) == 0 {
				t.Fatalf("bad cursor %q", c)
			}
		}
		for i := range rows {
			checkBill(t, &rows[i])
		}
		checkAgainstMaps(t, body, resp, rows)
		// The same body decodes the same way into a fresh or a reused slice.
		again, rows2, err := decodeBills(body, rows)
		if err != nil || !reflect.DeepEqual(resp, again) || !reflect.DeepEqual(rows, rows2) {
			t.Fatalf("unstable decode: %v", err)
		}
	})
}

// checkAgainstMaps decodes an accepted body again with encoding/json into
// maps with json.Number (numbers keep their text), and checks that both
// agree: status, row count, every field (a string, or the text of a number
// or boolean, null as ""; a number as strconv.ParseFloat reads it, a
// numeric string trimmed, null as 0) and the cursor. Maps keep keys that
// differ only in case apart while the struct decoder folds them; a body
// with such keys is checked by the other properties only.
func checkAgainstMaps(t *testing.T, body []byte, resp billsResponse, rows []Bill) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		t.Fatalf("encoding/json into maps rejects what the decoder accepted: %v", err)
	}
	if foldedKeys(top, reflect.TypeFor[billsResponse]()) {
		return
	}
	if failed, ok := refStatus(top["status"]); !ok || failed != resp.Status.failed {
		t.Fatalf("status %#v: decoder failed=%v", top["status"], resp.Status.failed)
	}
	if resp.Status.failed {
		return
	}
	refRows, _ := top["data"].([]any)
	if len(refRows) != len(rows) {
		t.Fatalf("rows: decoder %d, maps %d", len(rows), len(refRows))
	}
	wire := reflect.TypeFor[billRow]()
	for i, r := range refRows {
		m, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("row %d: decoder accepted %T", i, r)
		}
		if foldedKeys(m, wire) {
			continue
		}
		got := reflect.ValueOf(rows[i])
		for j := range wire.NumField() {
			name := wire.Field(j).Tag.Get("json")
			v := got.FieldByName(wire.Field(j).Name)
			ref := m[name]
			if v.Kind() == reflect.String {
				if want, ok := refString(ref); !ok || v.String() != want {
					t.Fatalf("row %d: %s: decoder %q, maps %#v", i, name, v.String(), ref)
				}
				continue
			}
			if want, ok := refNumber(ref); !ok || v.Float() != want {
				t.Fatalf("row %d: %s: decoder %v, maps %#v", i, name, v.Float(), ref)
			}
		}
	}
	wantCursor := top["last_sort_value"]
	if a, ok := wantCursor.([]any); ok && len(a) == 0 {
		wantCursor = nil
	}
	var gotCursor any
	if resp.LastSortValue != nil {
		dec := json.NewDecoder(bytes.NewReader(resp.LastSortValue))
		dec.UseNumber()
		if err := dec.Decode(&gotCursor); err != nil {
			t.Fatalf("cursor %q: %v", resp.LastSortValue, err)
		}
	}
	if !reflect.DeepEqual(gotCursor, wantCursor) {
		t.Fatalf("cursor: decoder %#v, maps %#v", gotCursor, wantCursor)
	}
}

// foldedKeys reports whether m has a key that matches one of t's JSON field
// names only when case is folded.
func foldedKeys(m map[string]any, t reflect.Type) bool {
	var names []string
	for f := range t.Fields() {
		if f.Anonymous {
			for g := range f.Type.Fields() {
				names = append(names, g.Tag.Get("json"))
			}
			continue
		}
		names = append(names, f.Tag.Get("json"))
	}
	for k := range m {
		for _, name := range names {
			if k != name && strings.EqualFold(k, name) {
				return true
			}
		}
	}
	return false
}

// refStatus is whether a status value means failure, from a map value.
func refStatus(v any) (failed, ok bool) {
	switch x := v.(type) {
	case nil:
		return false, true
	case bool:
		return !x, true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return err != nil || f != 0, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "0", "true", "ok", "success":
			return false, true
		}
		return true, true
	}
	return false, false
}

// refString is what a string field should decode to from a map value.
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

// refNumber is what a numeric field should decode to from a map value.
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

func TestErrorFromBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, status, message string
	}{
		{`{"status":"E1","message":"busy"}`, "E1", "busy"},
		{`{"status":429,"msg":"slow down"}`, "429", "slow down"},
		{`{"error":"invalid_token","detail":"expired"}`, "", "invalid_token"},
		{`{"message":"","detail":"expired"}`, "", "expired"},
		{`{"message":{"vi":"lỗi"}}`, "", `{"vi":"lỗi"}`},
		{`{"status":{},"message":"x"}`, "", `{"status":{},"message":"x"}`},     // not an error body we know: its text
		{"{\"message\":\"busy\"}\x00<html>", "", "{\"message\":\"busy\"}\x00"}, // not JSON: its text, tags stripped
		{`<html><title>Bad Gateway</title></html>`, "", "Bad Gateway"},
		{`null`, "", "null"},
	}
	for _, tt := range tests {
		e := errorFromBody(EndpointBills, http.StatusServiceUnavailable, []byte(tt.body), "")
		require.Equal(t, tt.status, e.Status, "%s", tt.body)
		require.Equal(t, tt.message, e.Message, "%s", tt.body)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

func TestCleanMessage(t *testing.T) {
	t.Parallel()
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
