package fptapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
)

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	bigHTML := "<html><head><title>502 Bad Gateway</title></head><body>" + strings.Repeat("<p>nginx</p>", 100000) + "</body></html>"
	tests := []struct {
		name         string
		resp         response
		wantHTTP     int
		wantStatus   string
		wantMessage  string
		unauthorized bool
		wantInError  []string
	}{
		{
			name:     "401 JSON",
			resp:     response{code: 401, body: `{"status":401,"message":"Unauthorized"}`},
			wantHTTP: 401, wantStatus: "401", wantMessage: "Unauthorized", unauthorized: true,
			wantInError: []string{"bills", "401", "token invalid or expired", "Unauthorized"},
		},
		{
			name:     "403 without body",
			resp:     response{code: 403},
			wantHTTP: 403, unauthorized: true,
			wantInError: []string{"403", "token invalid or expired"},
		},
		{
			name:     "400 with boolean status",
			resp:     response{code: 400, body: `{"status":false,"message":"search_date is invalid"}`},
			wantHTTP: 400, wantStatus: "false", wantMessage: "search_date is invalid",
			wantInError: []string{"400", "search_date is invalid"},
		},
		{
			name:     "404 plain text",
			resp:     response{code: 404, body: "404 page not found\n"},
			wantHTTP: 404, wantMessage: "404 page not found",
		},
		{
			name:     "HTML error page, bounded",
			resp:     response{code: 404, body: bigHTML},
			wantHTTP: 404, wantMessage: "502 Bad Gateway",
		},
		{
			name:     "200 with status 1",
			resp:     response{body: `{"status":1,"message":"Hệ thống bận","data":[]}`},
			wantHTTP: 200, wantStatus: "1", wantMessage: "Hệ thống bận",
			wantInError: []string{"HTTP 200", `status "1"`, "Hệ thống bận", "page 1"},
		},
		{
			name:     "200 with status false",
			resp:     response{body: `{"status":false,"message":"denied","data":null}`},
			wantHTTP: 200, wantStatus: "false", wantMessage: "denied",
		},
		{
			name:     "200 with string status",
			resp:     response{body: `{"status":"ERR_QUOTA","message":"quota"}`},
			wantHTTP: 200, wantStatus: "ERR_QUOTA", wantMessage: "quota",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScript(t, tt.resp)
			_, err := collect(context.Background(), t, newClient(t, s.URL()))
			var apiErr *fptapi.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, fptapi.EndpointBills, apiErr.Endpoint)
			assert.Equal(t, tt.wantHTTP, apiErr.HTTPStatus)
			assert.Equal(t, tt.wantStatus, apiErr.Status)
			assert.Equal(t, tt.wantMessage, apiErr.Message)
			assert.Equal(t, tt.unauthorized, assert.ErrorIs(new(testing.T), err, fptapi.ErrUnauthorized))
			assert.LessOrEqual(t, len(err.Error()), 1024, "error strings stay bounded")
			for _, w := range tt.wantInError {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestDecodeErrorNamesPage(t *testing.T) {
	t.Parallel()
	s := newScript(t,
		response{body: pageBody(`["c1"]`, rows("a", 3))},
		response{body: `{"status":0,"last_sort_value":["c2"],"data":[{"name":"x","total_pri`},
	)
	_, err := collect(context.Background(), t, newClient(t, s.URL(), fptapi.WithPageSize(3)))
	var decErr *fptapi.DecodeError
	require.ErrorAs(t, err, &decErr)
	assert.Equal(t, fptapi.EndpointBills, decErr.Endpoint)
	assert.Equal(t, 2, decErr.Page)
	assert.Contains(t, err.Error(), "bills")
	assert.Contains(t, err.Error(), "page 2")
	assert.Len(t, s.requests(), 2, "decode errors are not retried")
}

func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	big := pageBody(`[]`, rows("a", 200))
	chunked := response{handler: func(w http.ResponseWriter, _ *http.Request) {
		// Written in pieces with flushes, so there is no Content-Length.
		for i := 0; i < len(big); i += 512 {
			_, _ = w.Write([]byte(big[i:min(i+512, len(big))]))
			w.(http.Flusher).Flush()
		}
	}}
	for _, tt := range []struct {
		name string
		resp response
	}{
		{"with Content-Length", response{body: big}},
		{"chunked", chunked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScript(t, tt.resp)
			_, err := collect(context.Background(), t, newClient(t, s.URL(), fptapi.WithMaxResponseBytes(4096)))
			require.ErrorIs(t, err, fptapi.ErrResponseTooLarge)
			assert.Contains(t, err.Error(), "4096 bytes")
			assert.Len(t, s.requests(), 1, "not retried")
		})
	}
}

// TestTokenNeverInErrors makes a server echo the token everywhere it can
// and checks that no error string carries it.
func TestTokenNeverInErrors(t *testing.T) {
	t.Parallel()
	echo := func(code int, tmpl string) response {
		return response{handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			_, _ = w.Write([]byte(strings.ReplaceAll(tmpl, "AUTH", r.Header.Get("Authorization"))))
		}}
	}
	tests := []struct {
		name string
		resp response
	}{
		{"401 message", echo(401, `{"status":401,"message":"bad token AUTH"}`)},
		{"403 status", echo(403, `{"status":"AUTH","message":"x"}`)},
		{"500 HTML", echo(500, `<html><title>AUTH</title></html>`)},
		{"400 plain", echo(400, `invalid header AUTH`)},
		{"200 status failure", echo(200, `{"status":1,"message":"AUTH"}`)},
		{"200 truncated JSON", echo(200, `{"status":0,"data":[{"name":"AUTH`)},
		{"200 bad number", echo(200, `{"status":0,"data":[{"total_price":"AUTH"}]}`)},
		{"200 bad JSON after token", echo(200, `{"status":0,"message":"AUTH" "data":[]}`)},
		{"200 repeated cursor", echo(200, `{"status":0,"last_sort_value":["AUTH"],"data":[`+rows("a", 1)+`]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScript(t, tt.resp)
			c := newClient(t, s.URL(), fptapi.WithPageSize(1), fptapi.WithRetryPolicy(fptapi.RetryPolicy{}))
			_, err := collect(context.Background(), t, c)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), testToken)
			if _, err = c.BillInfo(context.Background()); err != nil { // some bodies are fine for bill/info
				assert.NotContains(t, err.Error(), testToken)
			}
		})
	}
}

func TestBillInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    []fptapi.BillingGroup
		wantErr string
	}{
		{
			name: "groups",
			body: `{"status":0,"message":"ok","extra":1,"data":[{"billing_group_name":"Nhóm A","billing_config_names":["c1","c2"]},{"billing_group_name":"B","billing_config_names":null}]}`,
			want: []fptapi.BillingGroup{{Name: "Nhóm A", ConfigNames: []string{"c1", "c2"}}, {Name: "B"}},
		},
		{
			name: "odd names", // escapes, a control character and an empty config list arrive as sent
			body: `{"status":0,"data":[{"billing_group_name":"Nh\u00f3m \"A\"\n","billing_config_names":["x\ty","C\u1ea5u h\u00ecnh"]},{"billing_group_name":"","billing_config_names":[]}]}`,
			want: []fptapi.BillingGroup{{Name: "Nhóm \"A\"\n", ConfigNames: []string{"x\ty", "Cấu hình"}}, {Name: "", ConfigNames: []string{}}},
		},
		{name: "boolean status", body: `{"status":true,"data":[{"billing_group_name":"A"}]}`, want: []fptapi.BillingGroup{{Name: "A"}}},
		{name: "data null", body: `{"status":0,"data":null}`},
		{name: "status failure", body: `{"status":2,"message":"no"}`, wantErr: `HTTP 200 OK: status "2": no`},
		{name: "not JSON", body: `<html>`, wantErr: "bill_info: decode"},
		{name: "data object", body: `{"status":0,"data":{}}`, wantErr: "cannot unmarshal object into Go struct field billInfoResponse.data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var obs observed
			s := newScript(t, response{body: tt.body})
			got, err := newClient(t, s.URL(), fptapi.WithObserver(obs.observe)).BillInfo(context.Background())
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			require.Len(t, obs.infos, 1)
			assert.Equal(t, fptapi.EndpointBillInfo, obs.infos[0].Endpoint)
		})
	}
}

// TestNotFoundShowsTheURL: a base URL without /api, or with /api/v1, gets
// 404; the error shows the URL asked for and the base URL's form, never the
// token.
func TestNotFoundShowsTheURL(t *testing.T) {
	t.Parallel()
	const token = "not-found-test-token"
	fake := fptapitest.NewServer(fptapitest.Config{Token: token})
	defer fake.Close()
	for _, base := range []string{fake.URL + "/v1", strings.TrimSuffix(fake.URL, "/api")} {
		c, err := fptapi.NewClient(token, fptapi.WithBaseURL(base), fptapi.WithRetryPolicy(fptapi.RetryPolicy{}))
		require.NoError(t, err)
		err = c.Bills(context.Background(), time.Now(), fptapi.Filter{}, func([]fptapi.Bill) error { return nil })
		require.Error(t, err)
		var apiErr *fptapi.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusNotFound, apiErr.HTTPStatus)
		assert.Contains(t, err.Error(), "requested "+base+"/v1/billing/bills")
		assert.Contains(t, err.Error(), "It has the form https://console-api.fptcloud.com/api")
		assert.NotContains(t, err.Error(), token)

		_, err = c.BillInfo(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "requested "+base+"/v1/billing/bill/info")
	}

	// Other statuses keep their short form.
	e := &fptapi.APIError{Endpoint: "bills", HTTPStatus: http.StatusInternalServerError, URL: "https://x/api/v1/billing/bills"}
	assert.NotContains(t, e.Error(), "requested")
}
