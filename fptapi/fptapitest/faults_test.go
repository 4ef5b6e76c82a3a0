package fptapitest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	const day = "2025-03-03"
	first := query(day, 10, fptapi.Filter{})
	for _, tc := range []struct {
		name  string
		fault Fault
		check func(t *testing.T, r response)
	}{
		{"503 with Retry-After", Fault{Code: 503, RetryAfter: "2"}, func(t *testing.T, r response) {
			assert.Equal(t, 503, r.code)
			assert.Equal(t, "2", r.header.Get("Retry-After"))
			assert.JSONEq(t, `{"status":503,"message":"Service Unavailable"}`, string(r.body))
		}},
		{"429 with a date", Fault{Code: 429, RetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT", Message: "slow down"}, func(t *testing.T, r response) {
			assert.Equal(t, 429, r.code)
			assert.Equal(t, "Wed, 21 Oct 2015 07:28:00 GMT", r.header.Get("Retry-After"))
			assert.JSONEq(t, `{"status":429,"message":"slow down"}`, string(r.body))
		}},
		{"500 without Retry-After", Fault{Code: 500}, func(t *testing.T, r response) {
			assert.Equal(t, 500, r.code)
			_, ok := r.header["Retry-After"]
			assert.False(t, ok)
		}},
		{"status 1", Fault{Status: 1, Message: "Hệ thống bận"}, func(t *testing.T, r response) {
			assert.Equal(t, 200, r.code)
			assert.JSONEq(t, `{"status":1,"message":"Hệ thống bận","last_sort_value":[],"count":0,"data":[]}`, string(r.body))
		}},
		{"status false", Fault{Status: false, Code: 200}, func(t *testing.T, r response) {
			assert.Equal(t, 200, r.code)
			assert.Contains(t, string(r.body), `"status":false`)
		}},
		{"truncated", Fault{Truncate: true}, func(t *testing.T, r response) {
			assert.Equal(t, 200, r.code)
			assert.NotEmpty(t, r.body)
			assert.True(t, strings.HasPrefix(string(r.body), `{"status":0`))
			assert.False(t, json.Valid(r.body))
		}},
		{"HTML 502", Fault{HTML: true, Code: 502}, func(t *testing.T, r response) {
			assert.Equal(t, 502, r.code)
			assert.Equal(t, "text/html", r.header.Get("Content-Type"))
			assert.True(t, strings.HasPrefix(string(r.body), "<html>"))
			assert.Contains(t, string(r.body), "502 Bad Gateway")
		}},
		{"null data", Fault{NullData: true}, func(t *testing.T, r response) {
			var p map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(r.body, &p))
			assert.Equal(t, "null", string(p["data"]))
			assert.Equal(t, "0", string(p["status"]))
		}},
		{"oversize", Fault{Oversize: 1 << 20}, func(t *testing.T, r response) {
			assert.GreaterOrEqual(t, len(r.body), 1<<20)
			require.True(t, json.Valid(r.body))
			var p page
			require.NoError(t, json.Unmarshal(r.body, &p))
			assert.Len(t, p.Data, 10, "still a valid page, with a long message")
			assert.Greater(t, len(p.Message), 1<<19)
		}},
		{"oversize error", Fault{Code: 500, Oversize: 100000}, func(t *testing.T, r response) {
			assert.Equal(t, 500, r.code)
			assert.GreaterOrEqual(t, len(r.body), 100000)
			assert.True(t, json.Valid(r.body))
		}},
		{"numbers as strings", Fault{NumbersAsStrings: true}, func(t *testing.T, r response) {
			var p struct{ Data []map[string]any }
			require.NoError(t, json.Unmarshal(r.body, &p))
			require.Len(t, p.Data, 10)
			assert.IsType(t, "", p.Data[0]["total_price"])
			assert.IsType(t, "", p.Data[0]["vcpu"])
		}},
		{"null numbers", Fault{NullNumbers: true}, func(t *testing.T, r response) {
			var p struct{ Data []map[string]any }
			require.NoError(t, json.Unmarshal(r.body, &p))
			require.Len(t, p.Data, 10)
			assert.Nil(t, p.Data[0]["total_price"])
			assert.Contains(t, p.Data[0], "total_price")
		}},
		{"delay", Fault{Delay: 30 * time.Millisecond}, func(t *testing.T, r response) {
			assert.Equal(t, 200, r.code)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, Config{})
			s.InjectFault(tc.fault)
			start := time.Now()
			r := do(t, http.MethodPost, s.URL+"/v1/billing/bills", DefaultToken, first)
			assert.GreaterOrEqual(t, time.Since(start), tc.fault.Delay)
			tc.check(t, r)
			assert.Equal(t, 1, s.Requests(fptapi.EndpointBills))

			// Times 0: it keeps firing until cleared.
			r2 := do(t, http.MethodPost, s.URL+"/v1/billing/bills", DefaultToken, first)
			assert.Equal(t, r.code, r2.code)
			s.ClearFaults()
			_, p := postBills(t, s, first)
			assert.Len(t, p.Data, 10)
			assert.Equal(t, 3, s.Requests(fptapi.EndpointBills))
		})
	}
}

// status of one bills request (0 when the connection failed).
func statusOf(t *testing.T, s *Server, q billsReq) int {
	t.Helper()
	js, err := json.Marshal(q)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/billing/bills", strings.NewReader(string(js)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestFaultPageAndTimes(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 100})
	// Queue order matters: the first matching fault fires.
	s.InjectFault(Fault{Page: 3, Times: 2, Code: 500})
	s.InjectFault(Fault{Page: 2, Times: 1, Code: 502, HTML: true})
	s.InjectFault(Fault{Endpoint: fptapi.EndpointBillInfo, Code: 503})

	q := query("2025-03-03", 10, fptapi.Filter{})
	assert.Equal(t, 200, statusOf(t, s, q), "page 1")
	_, p1 := postBills(t, s, query("2025-03-03", 10, fptapi.Filter{})) // not faulted either
	q.LastSortValue = p1.LastSortValue
	assert.Equal(t, 502, statusOf(t, s, q), "page 2, first time")
	_, p2 := postBills(t, s, q) // retry of page 2 passes
	q.LastSortValue = p2.LastSortValue
	assert.Equal(t, 500, statusOf(t, s, q), "page 3, first time")
	assert.Equal(t, 500, statusOf(t, s, q), "page 3, second time")
	_, p3 := postBills(t, s, q)
	assert.Len(t, p3.Data, 10)
	assert.Equal(t, 7, s.Requests(fptapi.EndpointBills))

	// The bill_info fault is still queued and only hits bill_info.
	assert.Equal(t, 503, do(t, http.MethodGet, s.URL+"/v1/billing/bill/info", DefaultToken, nil).code)
	assert.Equal(t, 1, s.Requests(fptapi.EndpointBillInfo))
	s.ClearFaults()
	assert.Equal(t, 200, do(t, http.MethodGet, s.URL+"/v1/billing/bill/info", DefaultToken, nil).code)
}

func TestFaultAnswersBeforeAuth(t *testing.T) {
	t.Parallel()
	// A proxy in front of the API fails whatever the token; modifier faults
	// still go through the token check.
	s := newTestServer(t, Config{})
	s.InjectFault(Fault{Code: 503, Times: 1})
	s.InjectFault(Fault{Truncate: true, Times: 1})
	q := query("2025-03-03", 10, fptapi.Filter{})
	assert.Equal(t, 503, do(t, http.MethodPost, s.URL+"/v1/billing/bills", "wrong", q).code)
	assert.Equal(t, 401, do(t, http.MethodPost, s.URL+"/v1/billing/bills", "wrong", q).code)
}

func TestFaultRepeatCursor(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 100})
	s.InjectFault(Fault{Page: 2, RepeatCursor: true})
	q := query("2025-03-03", 10, fptapi.Filter{})
	_, p1 := postBills(t, s, q)
	q.LastSortValue = p1.LastSortValue
	_, p2 := postBills(t, s, q)
	assert.Equal(t, p1.LastSortValue, p2.LastSortValue, "page 2 answers page 1's cursor again")
	assert.Len(t, p2.Data, 10, "with a full page, so a naive client loops")
	assert.NotEqual(t, p1.Data[0], p2.Data[0])
}

func TestFaultReset(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	s.InjectFault(Fault{Reset: true, Times: 1})
	q := query("2025-03-03", 10, fptapi.Filter{})
	assert.Equal(t, 0, statusOf(t, s, q), "connection dropped")
	assert.Equal(t, 200, statusOf(t, s, q))
	assert.Equal(t, 2, s.Requests(fptapi.EndpointBills))
}

// TestFaultDelayEndsWithTheRequest: a delayed answer is abandoned as soon
// as its client gives up, and Close ends a pending delay rather than
// waiting for it. A delay that ran on, an hour here, would fail the test
// after testhelp.Patience.
func TestFaultDelayEndsWithTheRequest(t *testing.T) {
	t.Parallel()
	s := newServer(Config{Now: fixedNow})
	s.InjectFault(Fault{Delay: time.Hour})
	entered, returned := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		s.Handler().ServeHTTP(w, r)
		close(returned)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+BillsPath,
		strings.NewReader(`{"size":10,"search_date":"2025-03-03"}`))
	require.NoError(t, err)
	errs := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errs <- err
	}()
	testhelp.Await(t, entered, "the request to reach the fake")
	cancel()
	testhelp.Await(t, returned, "the delayed handler to return once its client gave up")
	require.ErrorIs(t, <-errs, context.Canceled)
}

// TestCloseEndsAPendingDelay: Close does not wait for a pending delay: the
// delayed request is ended by the fake, which still answers it, rather
// than cut off when Close's grace period runs out.
func TestCloseEndsAPendingDelay(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	s.InjectFault(Fault{Delay: time.Hour})
	answered := make(chan error, 1)
	go func() {
		resp, err := http.Post(s.URL+"/v1/billing/bills", "application/json", strings.NewReader(`{}`))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		answered <- err
	}()
	require.Eventually(t, func() bool { return s.Requests(fptapi.EndpointBills) == 1 }, testhelp.Patience, time.Millisecond)
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	testhelp.Await(t, closed, "Close with a delay pending")
	require.NoError(t, <-answered, "the delayed request was cut off, not ended by the fake")
}

func TestBillInfoFaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	url := s.URL + "/v1/billing/bill/info"
	s.InjectFault(Fault{Endpoint: fptapi.EndpointBillInfo, NullData: true, Times: 1})
	s.InjectFault(Fault{Endpoint: fptapi.EndpointBillInfo, Truncate: true, Times: 1})
	s.InjectFault(Fault{Endpoint: fptapi.EndpointBillInfo, Status: true, Message: "boolean status", Times: 1})
	s.InjectFault(Fault{Endpoint: fptapi.EndpointBillInfo, Oversize: 5000, Times: 1})

	r := do(t, http.MethodGet, url, DefaultToken, nil)
	assert.JSONEq(t, `{"status":0,"message":"success","data":null}`, string(r.body))
	r = do(t, http.MethodGet, url, DefaultToken, nil)
	assert.False(t, json.Valid(r.body))
	r = do(t, http.MethodGet, url, DefaultToken, nil)
	assert.Contains(t, string(r.body), `"status":true`)
	r = do(t, http.MethodGet, url, DefaultToken, nil)
	assert.GreaterOrEqual(t, len(r.body), 5000)
	assert.True(t, json.Valid(r.body))
	assert.Equal(t, 4, s.Requests(fptapi.EndpointBillInfo))
	assert.Zero(t, s.Requests(fptapi.EndpointBills))
}
