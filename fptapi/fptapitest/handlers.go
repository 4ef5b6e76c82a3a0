package fptapitest

// The two endpoints' handlers, the requests they decode and the JSON
// answers they write.

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// The fake's JSON answers.
type (
	errorAnswer struct {
		Status  any    `json:"status"`
		Message string `json:"message"`
	}
	billsAnswer struct {
		Status        any      `json:"status"`
		Message       string   `json:"message"`
		LastSortValue []string `json:"last_sort_value"`
		Count         int      `json:"count"`
		Data          any      `json:"data"` // nil for "data": null
	}
	billInfoAnswer struct {
		Status  any    `json:"status"`
		Message string `json:"message"`
		Data    any    `json:"data"` // nil for "data": null
	}
)

// billsRequest is the body of POST /v1/billing/bills.
type billsRequest struct {
	LastSortValue     []string `json:"last_sort_value"`
	Size              *int     `json:"size"`
	SearchDate        string   `json:"search_date"`
	BillingGroupName  string   `json:"billing_group_name"`
	BillingConfigName string   `json:"billing_config_name"`
	ServiceType       string   `json:"service_type"`
}

// pageRequest is a bills request resolved to the page it asks for.
type pageRequest struct {
	q      dayQuery
	size   int
	start  int // first row index to consider
	page   int // page number of this request
	flt    fptapi.Filter
	fault  Fault
	cursor []string // the request's cursor
}

func (s *Server) handleBillInfo(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.receive(w, r, fptapi.EndpointBillInfo, http.MethodGet); !ok {
		return
	}
	f, faulted := s.takeFault(fptapi.EndpointBillInfo, 1)
	if (faulted && !s.beforeAnswer(w, r, &f)) || !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	groups := s.groups
	s.mu.Unlock()
	if groups == nil {
		groups = generatedGroups()
	}
	a := billInfoAnswer{Status: 0, Message: "success", Data: groups}
	if f.NullData {
		a.Data = nil
	}
	writeJSON(w, http.StatusOK, marshalPadded(&a, &a.Message, f.Oversize), f.Truncate)
}

func (s *Server) handleBills(w http.ResponseWriter, r *http.Request) {
	body, ok := s.receive(w, r, fptapi.EndpointBills, http.MethodPost)
	if !ok {
		return
	}
	var req billsRequest
	decErr := json.Unmarshal(body, &req)
	page := 0
	if decErr == nil {
		page = pageOf(req.LastSortValue)
	}
	f, faulted := s.takeFault(fptapi.EndpointBills, page)
	if (faulted && !s.beforeAnswer(w, r, &f)) || !s.authorized(w, r) {
		return
	}
	if decErr != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+decErr.Error())
		return
	}
	p, msg := s.parsePage(&req, page)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	p.fault = f
	writeJSON(w, http.StatusOK, s.renderPage(&p), f.Truncate)
}

// pageOf returns the page number a cursor asks for: 1 for none, 0 when the
// cursor is not one of ours.
func pageOf(cursor []string) int {
	if len(cursor) == 0 {
		return 1
	}
	if len(cursor) != 3 {
		return 0
	}
	n, err := strconv.Atoi(cursor[2])
	if err != nil || n < 2 {
		return 0
	}
	return n
}

// parsePage resolves a decoded bills request, page number page, to the
// page it asks for, or returns the message of a 400 answer.
func (s *Server) parsePage(req *billsRequest, page int) (pageRequest, string) {
	if req.Size == nil || *req.Size <= 0 {
		return pageRequest{}, "invalid size: want a positive integer"
	}
	q, err := s.resolveDay(req.SearchDate)
	if err != nil {
		return pageRequest{}, err.Error()
	}
	start, ok := startAfter(req, &q, page)
	if !ok {
		return pageRequest{}, "unknown last_sort_value"
	}
	return pageRequest{
		q:     q,
		size:  min(*req.Size, s.maxPageSize),
		start: start,
		page:  page,
		flt: fptapi.Filter{
			ServiceType:       req.ServiceType,
			BillingGroupName:  req.BillingGroupName,
			BillingConfigName: req.BillingConfigName,
		},
		cursor: req.LastSortValue,
	}, ""
}

// startAfter returns the first row index of q after the request's cursor,
// false when the cursor is not one the fake gave for this day.
func startAfter(req *billsRequest, q *dayQuery, page int) (int, bool) {
	c := req.LastSortValue
	if len(c) == 0 {
		return 0, true
	}
	if page < 2 || c[0] != req.SearchDate { // page >= 2: a cursor of three
		return 0, false
	}
	limit := q.n
	if q.explicit != nil {
		limit = len(*q.explicit)
	}
	last, err := strconv.Atoi(c[1])
	if err != nil || last < 0 || last >= limit {
		return 0, false
	}
	return last + 1, true
}

// renderPage is a bills page answer.
func (s *Server) renderPage(p *pageRequest) []byte {
	var rows []wireBill
	last := -1 // the row index of the page's last row: the next cursor
	s.walk(&p.q, p.flt, p.start, func(i int, w wireBill) bool {
		rows, last = append(rows, w), i
		return len(rows) < p.size
	})
	return s.pageAnswer(p, rows, last, s.count(&p.q, p.flt))
}

// pageAnswer marshals a page of rows whose last row index is last (-1 for
// an empty page), out of count rows matching the query.
func (s *Server) pageAnswer(p *pageRequest, rows []wireBill, last, count int) []byte {
	a := billsAnswer{Status: 0, Message: "success", LastSortValue: []string{}, Count: count}
	switch {
	case p.fault.RepeatCursor:
		a.LastSortValue = append(a.LastSortValue, p.cursor...)
	case len(rows) > 0 && !p.fault.NullData:
		a.LastSortValue = []string{p.q.day, strconv.Itoa(last), strconv.Itoa(max(p.page, 1) + 1)}
	}
	if !p.fault.NullData {
		if rows == nil {
			rows = []wireBill{}
		}
		a.Data = rowsJSON(rows, p.fault.numMode())
	}
	return marshalPadded(&a, &a.Message, p.fault.Oversize)
}

// marshalPadded marshals v, growing its message *msg until the body is at
// least size bytes.
func marshalPadded(v any, msg *string, size int64) []byte {
	b := mustMarshal(v)
	if n := size - int64(len(b)); n > 0 {
		*msg += strings.Repeat(".", int(n))
		b = mustMarshal(v)
	}
	return b
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fptapitest: " + err.Error()) // answers hold only marshalable values
	}
	return b
}

func write(w http.ResponseWriter, code int, contentType string, body []byte, truncate bool) {
	if truncate {
		body = body[:len(body)/2]
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, code int, body []byte, truncate bool) {
	write(w, code, "application/json; charset=utf-8", body, truncate)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, mustMarshal(errorAnswer{Status: code, Message: msg}), false)
}
