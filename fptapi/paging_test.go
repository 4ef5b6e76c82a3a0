package fptapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// TestPagingTerminationRawJSON covers the ways a bills query ends with
// raw pages the fake does not produce (count that lies, cursors with
// numbers, missing cursors), page size 3. TestFakePagingTermination and
// TestFakeFaults cover the rest against the fake.
func TestPagingTerminationRawJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		pages     []string
		maxPages  int
		wantNames int
		wantReqs  int
		wantErr   error
		wantSent  []string // last_sort_value of each request, as JSON
	}{
		{
			name:     "empty first page",
			pages:    []string{pageBody(`[]`, "")},
			wantReqs: 1, wantSent: []string{`[]`},
		},
		{
			name:      "short first page",
			pages:     []string{pageBody(`["c1"]`, rows("a", 2))},
			wantNames: 2, wantReqs: 1,
		},
		{
			name:      "full pages then a short one",
			pages:     []string{pageBody(`["c1"]`, rows("a", 3)), pageBody(`["c2", 7]`, rows("b", 3)), pageBody(`["c3"]`, rows("c", 1))},
			wantNames: 7, wantReqs: 3, wantSent: []string{`[]`, `["c1"]`, `["c2",7]`},
		},
		{
			name:      "full pages then an empty one",
			pages:     []string{pageBody(`["c1"]`, rows("a", 3)), pageBody(`["c2"]`, rows("b", 3)), pageBody(`[]`, "")},
			wantNames: 6, wantReqs: 3,
		},
		{
			name:      "full pages then data null",
			pages:     []string{pageBody(`["c1"]`, rows("a", 3)), `{"status":0,"data":null,"last_sort_value":null}`},
			wantNames: 3, wantReqs: 2,
		},
		{
			name:      "count is never a reason to stop",
			pages:     []string{`{"status":0,"count":3,"last_sort_value":["c1"],"data":[` + rows("a", 3) + `]}`, `{"status":0,"count":0,"last_sort_value":["c2"],"data":[` + rows("b", 3) + `]}`, pageBody(`[]`, rows("c", 2))},
			wantNames: 8, wantReqs: 3,
		},
		{
			name:      "count larger than the rows does not keep paging",
			pages:     []string{`{"status":0,"count":1000000,"last_sort_value":["c1"],"data":[` + rows("a", 2) + `]}`},
			wantNames: 2, wantReqs: 1,
		},
		{
			name:      "cursor repeated",
			pages:     []string{pageBody(`["c1"]`, rows("a", 3)), pageBody(`["c2"]`, rows("b", 3)), pageBody(`["c1"]`, rows("a", 3))},
			wantNames: 6, wantReqs: 3, wantErr: fptapi.ErrCursorRepeated,
		},
		{
			name:      "cursor missing on a full page",
			pages:     []string{pageBody(`["c1"]`, rows("a", 3)), `{"status":0,"data":[` + rows("b", 3) + `]}`},
			wantNames: 3, wantReqs: 2, wantErr: fptapi.ErrMissingCursor,
		},
		{
			name:     "empty cursor on a full page",
			pages:    []string{pageBody(`[]`, rows("a", 3))},
			wantReqs: 1, wantErr: fptapi.ErrMissingCursor,
		},
		{
			name:      "more pages than allowed",
			pages:     []string{pageBody(`["c1"]`, rows("a", 3)), pageBody(`["c2"]`, rows("b", 3)), pageBody(`["c3"]`, rows("c", 3))},
			maxPages:  2,
			wantNames: 6, wantReqs: 2, wantErr: fptapi.ErrTooManyPages,
		},
		{
			name:      "max pages reached exactly by a short page",
			pages:     []string{pageBody(`["c1"]`, rows("a", 3)), pageBody(`["c2"]`, rows("b", 1))},
			maxPages:  2,
			wantNames: 4, wantReqs: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resps := make([]response, len(tt.pages))
			for i, p := range tt.pages {
				resps[i] = response{body: p}
			}
			s := newScript(t, resps...)
			opts := []fptapi.Option{fptapi.WithPageSize(3)}
			if tt.maxPages > 0 {
				opts = append(opts, fptapi.WithMaxPages(tt.maxPages))
			}
			names, err := collect(context.Background(), t, newClient(t, s.URL(), opts...))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Len(t, names, tt.wantNames)
			reqs := s.requests()
			assert.Len(t, reqs, tt.wantReqs)
			for i, want := range tt.wantSent {
				got, _ := jsonString(reqs[i].Body["last_sort_value"])
				assert.JSONEq(t, want, got, "request %d", i)
			}
		})
	}
}

// TestEmptyPages: a successful answer with "data" null, [] or absent is
// an empty page. On page 1 the day has no rows (fn is never called); on a
// later page the day ended with the page before. A failed answer stays an
// APIError whatever its data.
func TestEmptyPages(t *testing.T) {
	t.Parallel()
	full := func(cursor, prefix string) string { return pageBody(cursor, rows(prefix, 3)) }
	tests := []struct {
		name      string
		pages     []string
		wantNames int
		wantReqs  int
		wantAPI   bool // an APIError
	}{
		{name: "null on page 1", pages: []string{`{"status":0,"data":null}`}, wantReqs: 1},
		{name: "[] on page 1", pages: []string{`{"status":0,"last_sort_value":[],"data":[]}`}, wantReqs: 1},
		{name: "absent on page 1", pages: []string{`{"status":0,"message":"ok"}`}, wantReqs: 1},
		{name: "status true, null on page 1", pages: []string{`{"status":true,"data":null}`}, wantReqs: 1},
		{name: "null with spaces", pages: []string{"{\"status\":0,\"data\": \n null }"}, wantReqs: 1},
		{name: "null after the last page", pages: []string{full(`["c1"]`, "a"), full(`["c2"]`, "b"), `{"status":0,"last_sort_value":null,"data":null}`},
			wantNames: 6, wantReqs: 3},
		{name: "[] after the last page", pages: []string{full(`["c1"]`, "a"), pageBody(`[]`, "")}, wantNames: 3, wantReqs: 2},
		{name: "null before the status", pages: []string{full(`["c1"]`, "a"), `{"data":null,"status":0}`}, wantNames: 3, wantReqs: 2},
		{name: "null then an array: the last key wins", pages: []string{`{"status":0,"data":null,"data":[` + rows("a", 1) + `]}`},
			wantNames: 1, wantReqs: 1},
		{name: "an array then null: the last key wins", pages: []string{`{"status":0,"data":[` + rows("a", 1) + `],"data":null}`}, wantReqs: 1},
		{name: "null in a failed answer", pages: []string{`{"status":1,"message":"busy","data":null}`}, wantReqs: 1, wantAPI: true},
		{name: "data of any shape in a failed answer", pages: []string{`{"data":"oops","status":1,"message":"busy"}`}, wantReqs: 1, wantAPI: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resps := make([]response, len(tt.pages))
			for i, p := range tt.pages {
				resps[i] = response{body: p}
			}
			s := newScript(t, resps...)
			calls := 0
			var names []string
			err := newClient(t, s.URL(), fptapi.WithPageSize(3)).Bills(context.Background(), testDay, fptapi.Filter{},
				func(p []fptapi.Bill) error {
					calls++
					require.NotEmpty(t, p, "fn is never called with an empty page")
					for _, b := range p {
						names = append(names, b.Name)
					}
					return nil
				})
			assert.Len(t, names, tt.wantNames)
			assert.Equal(t, (tt.wantNames+2)/3, calls, "one call per non-empty page")
			assert.Len(t, s.requests(), tt.wantReqs)
			if tt.wantAPI {
				var apiErr *fptapi.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, "busy", apiErr.Message)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestPagingCallbackError(t *testing.T) {
	t.Parallel()
	s := newScript(t, response{body: pageBody(`["c1"]`, rows("a", 3))}, response{body: pageBody(`["c2"]`, rows("b", 1))})
	c := newClient(t, s.URL(), fptapi.WithPageSize(3))
	stop := errors.New("enough")
	calls := 0
	err := c.Bills(context.Background(), testDay, fptapi.Filter{}, func([]fptapi.Bill) error {
		calls++
		return stop
	})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 1, calls)
	assert.Len(t, s.requests(), 1)
}

func TestPagingReusesSlice(t *testing.T) {
	t.Parallel()
	s := newScript(t, response{body: pageBody(`["c1"]`, rows("a", 3))}, response{body: pageBody(`["c2"]`, rows("b", 3))}, response{body: pageBody(`[]`, "")})
	c := newClient(t, s.URL(), fptapi.WithPageSize(3))
	var first *fptapi.Bill
	var kept []string
	err := c.Bills(context.Background(), testDay, fptapi.Filter{}, func(p []fptapi.Bill) error {
		if first == nil {
			first = &p[0]
		} else {
			assert.Same(t, first, &p[0], "the page slice is reused")
		}
		kept = append(kept, p[0].Name) // strings may be kept
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"a0", "b0"}, kept)
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
