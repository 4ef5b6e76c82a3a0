package fptapitest

// The two endpoints' handlers: the requests they count, record and decode,
// and the JSON answers they write, with the rows as sent.

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// Request is what the fake saw of a request (see LastRequest).
type Request struct {
	Method string
	Header http.Header
	Body   []byte
}

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

// receive counts and records a request to endpoint and returns its body,
// false when it has been answered 405 for not using method.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, endpoint, method string) ([]byte, bool) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req := Request{Method: r.Method, Header: r.Header.Clone(), Body: body}
	s.locked(func() {
		s.requests[endpoint]++
		s.last[endpoint] = req
	})
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return nil, false
	}
	return body, true
}

// authorized checks the bearer token, answering 401 when it is wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	var token string
	s.locked(func() { token = s.token })
	// The scheme is case-insensitive (RFC 9110); the token is not.
	h := r.Header.Get("Authorization")
	const scheme = "Bearer "
	if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) && h[len(scheme):] == token {
		return true
	}
	writeError(w, http.StatusUnauthorized, "unauthorized: invalid or expired token")
	return false
}

func (s *Server) handleBillInfo(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.receive(w, r, fptapi.EndpointBillInfo, http.MethodGet); !ok {
		return
	}
	f, ok := s.admit(w, r, fptapi.EndpointBillInfo, 1)
	if !ok {
		return
	}
	a := billInfoAnswer{Status: 0, Message: "success", Data: s.BillingGroups()}
	if f.NullData {
		a.Data = nil
	}
	write(w, http.StatusOK, jsonType, marshalPadded(&a, &a.Message, f.Oversize), f.Truncate)
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
	f, ok := s.admit(w, r, fptapi.EndpointBills, page)
	if !ok {
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
	write(w, http.StatusOK, jsonType, s.renderPage(&p), f.Truncate)
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
	p := pageRequest{q: q, size: min(*req.Size, s.cfg.MaxPageSize), page: page, cursor: req.LastSortValue, flt: fptapi.Filter{
		ServiceType: req.ServiceType, BillingGroupName: req.BillingGroupName, BillingConfigName: req.BillingConfigName,
	}}
	if c := req.LastSortValue; len(c) > 0 {
		// Only a cursor the fake gave for this day; page >= 2 is a cursor of three.
		if page < 2 || c[0] != req.SearchDate {
			return pageRequest{}, "unknown last_sort_value"
		}
		last, err := strconv.Atoi(c[1])
		if err != nil || last < 0 || last >= q.n {
			return pageRequest{}, "unknown last_sort_value"
		}
		p.start = last + 1
	}
	return p, ""
}

// renderPage is the answer to a bills page request.
func (s *Server) renderPage(p *pageRequest) []byte {
	rows := []wireBill{}
	last := -1 // the row index of the page's last row: the next cursor
	s.walk(&p.q, p.flt, p.start, func(i int, w wireBill) bool {
		rows, last = append(rows, w), i
		return len(rows) < p.size
	})
	f := &p.fault
	a := billsAnswer{Status: 0, Message: "success", LastSortValue: []string{}, Count: s.count(&p.q, p.flt), Data: rows}
	switch {
	case f.RepeatCursor:
		a.LastSortValue = append(a.LastSortValue, p.cursor...)
	case len(rows) > 0 && !f.NullData:
		a.LastSortValue = []string{p.q.day, strconv.Itoa(last), strconv.Itoa(max(p.page, 1) + 1)}
	}
	if f.NumbersAsStrings || f.NullNumbers {
		a.Data = rowMaps(rows, f)
	}
	if f.NullData {
		a.Data = nil
	}
	b, err := json.Marshal(&a)
	if err != nil { // NaN or ±Inf in a SetBills row, which only rowMaps writes
		a.Data = rowMaps(rows, f)
	}
	if err != nil || int64(len(b)) < f.Oversize {
		b = marshalPadded(&a, &a.Message, f.Oversize)
	}
	return b
}

// marshalPadded marshals v, growing its message *msg until the body is at
// least size bytes.
func marshalPadded(v any, msg *string, size int64) []byte {
	b, err := json.Marshal(v)
	if n := size - int64(len(b)); err == nil && n > 0 {
		*msg += strings.Repeat(".", int(n))
		b, err = json.Marshal(v)
	}
	if err != nil {
		panic("fptapitest: " + err.Error()) // answers hold only marshalable values
	}
	return b
}

const jsonType = "application/json; charset=utf-8"

// write answers body, cut in half when truncate is set.
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

func writeError(w http.ResponseWriter, code int, msg string) {
	a := errorAnswer{Status: code, Message: msg}
	write(w, code, jsonType, marshalPadded(&a, &a.Message, 0), false)
}

// wireBill is a bill row as FPT documents it, in its order: every field,
// though the client decodes only some, so that pages have a real row's
// size.
type wireBill struct {
	OrgID             string  `json:"org_id"`
	OrgName           string  `json:"org_name"`
	TenantIaasID      string  `json:"tenant_iaas_id"`
	TenantIaasName    string  `json:"tenant_iaas_name"`
	VPCID             string  `json:"vpc_id"`
	VPCName           string  `json:"vpc_name"`
	VDISite           string  `json:"vdi_site"`
	PoolName          string  `json:"pool_name"`
	Day               string  `json:"day"`
	StartTime         string  `json:"start_time"`
	Service           string  `json:"service"`
	Name              string  `json:"name"`
	InfraID           string  `json:"infra_id"`
	AttachVM          string  `json:"attach_vm"`
	StoragePolicy     string  `json:"storage_policy"`
	Tag               string  `json:"tag"`
	Disk              float64 `json:"disk"`
	DiskTotal         float64 `json:"disk_total"`
	VCPU              float64 `json:"vcpu"`
	VCPUTotal         float64 `json:"vcpu_total"`
	RAM               float64 `json:"ram"`
	RAMTotal          float64 `json:"ram_total"`
	RunningTime       float64 `json:"running_time"`
	TotalPrice        float64 `json:"total_price"`
	DiskQuantity      float64 `json:"disk_quantity"`
	CPUQuantity       float64 `json:"cpu_quantity"`
	RAMQuantity       float64 `json:"ram_quantity"`
	BillingConfigName string  `json:"billing_config_name"`
	BillingGroupName  string  `json:"billing_group_name"`
	InvoiceGroupName  string  `json:"invoice_group_name"`
}

// billFields pairs each field of fptapi.Bill with wireBill's field of the
// same name. (No panic for a field wireBill lacks: the exporter links this
// package for its demo mode; a test checks.)
var billFields = func() (pairs [][2]int) {
	bt, wt := reflect.TypeFor[fptapi.Bill](), reflect.TypeFor[wireBill]()
	for i := range bt.NumField() {
		if f, ok := wt.FieldByName(bt.Field(i).Name); ok {
			pairs = append(pairs, [2]int{i, f.Index[0]})
		}
	}
	return pairs
}()

// bill is the row as the client decodes it.
func (w *wireBill) bill() (b fptapi.Bill) {
	bv, wv := reflect.ValueOf(&b).Elem(), reflect.ValueOf(w).Elem()
	for _, p := range billFields {
		bv.Field(p[0]).Set(wv.Field(p[1]))
	}
	return b
}

// wireOf is an explicit row (SetBills) as sent: the fields fptapi.Bill
// does not have are empty.
func wireOf(b *fptapi.Bill) (w wireBill) {
	bv, wv := reflect.ValueOf(b).Elem(), reflect.ValueOf(&w).Elem()
	for _, p := range billFields {
		wv.Field(p[1]).Set(bv.Field(p[0]))
	}
	return w
}

// rowMaps is rows with their numbers written as f says: as strings (e.g.
// "12.5"), as null, or as numbers but for NaN and ±Inf, which JSON
// numbers cannot carry: those go out as the strings "NaN", "+Inf" and
// "-Inf", so that client tests can check they are rejected.
func rowMaps(rows []wireBill, f *Fault) []map[string]any {
	out := make([]map[string]any, len(rows))
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		out[i] = make(map[string]any, v.NumField())
		for j := range v.NumField() {
			fv, name := v.Field(j), v.Type().Field(j).Tag.Get("json")
			if fv.Kind() != reflect.Float64 {
				out[i][name] = fv.Interface()
				continue
			}
			switch x := fv.Float(); {
			case f.NullNumbers:
				out[i][name] = nil
			case f.NumbersAsStrings || math.IsNaN(x) || math.IsInf(x, 0):
				out[i][name] = strconv.FormatFloat(x, 'g', -1, 64)
			default:
				out[i][name] = x
			}
		}
	}
	return out
}
