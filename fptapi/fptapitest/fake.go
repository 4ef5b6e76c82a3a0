// Package fptapitest is an in-process fake of FPT Cloud's billing API, for
// tests, the exporter's demo mode and benchmarks.
//
// It serves POST /api/v1/billing/bills (cursor paging, size, filters, count)
// and GET /api/v1/billing/bill/info, checks the bearer token (401 otherwise),
// counts requests and injects faults on demand (see Fault).
//
// # Data
//
// Rows are generated on the fly from (Seed, day, index) with a cheap hash:
// a day of a million rows costs CPU while it is paged, never memory. Every
// full day up to today has RowsPerDay rows; today has the same rows with
// running time, quantities and price covering only the part of the day
// elapsed in Config.Location (so cost grows through the day); days after
// today are empty. Row i is the same resource every day (name, infra_id,
// sizes; one slot in 40 holds another resource from the 15th, as a
// resource replaced mid-month) with a schedule of its own each day
// (created or deleted mid-day, GPU jobs, storage growth through the
// month), so a month varies a little.
//
// Row i belongs to label set i mod LabelSets, a distinct (vpc_id, vpc_name,
// service, billing_group_name, tag). Services are the lower-case values
// service_type filters on (see Services); billing groups and config names
// are those of bill/info (see Server.BillingGroups). Money is VND with
// decimals computed from per-config unit prices (vCPU-hour, GB-hour of RAM and
// disk, GPU-hour, IP and load balancer hours); quantities are the size times
// running_time in hours. Numbers are exact decimals: EachBill returns the
// float64 values a client decodes, bit for bit.
//
// The cursor, last_sort_value, is [day, last row index, next page number];
// clients must treat it as opaque. count is the total rows matching the
// query. SetBills replaces a day with explicit rows.
package fptapitest

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// DefaultToken is the bearer token the fake accepts when Config.Token is "".
const DefaultToken = "fptapitest-token"

// Defaults for Config's zero values.
const (
	DefaultRowsPerDay  = 400
	DefaultMaxPageSize = 1000
	DefaultTimeZone    = "Asia/Ho_Chi_Minh"
)

// Paths served, relative to the host (Server.URL already ends in /api).
const (
	BillsPath    = "/api/v1/billing/bills"
	BillInfoPath = "/api/v1/billing/bill/info"
)

// Config sets up a fake. The zero value is a usable default.
type Config struct {
	Token       string           // accepted bearer token; "" -> DefaultToken
	RowsPerDay  int              // generated rows per full day; 0 -> DefaultRowsPerDay
	LabelSets   int              // distinct (vpc_id, vpc_name, service, billing_group_name, tag) combinations; 0 -> RowsPerDay/4, min 1
	Seed        int64            // data seed
	Location    *time.Location   // billing time zone; nil -> Asia/Ho_Chi_Minh (fixed +07:00 if the tz database is missing)
	Now         func() time.Time // nil -> time.Now; days after today have no rows, today is partial
	MaxPageSize int              // larger sizes are capped; 0 -> DefaultMaxPageSize
}

// Fault is an injected misbehaviour. Faults are queued; for each request the
// first matching one fires. Response faults (Reset, HTML, a Code other than
// 0/200, or Status) answer instead of the API; the others (Delay, Truncate,
// RepeatCursor, NullData, Oversize, NumbersAsStrings, NullNumbers) change the
// normal answer, which still checks the token and the request.
type Fault struct {
	Endpoint     string        // "bills" (default when "") or "bill_info"
	Page         int           // 0 = any page; 1 = first page (empty cursor); N = the Nth page of a query
	Times        int           // fires this many times; 0 = every time until ClearFaults
	Code         int           // HTTP status to answer (0 = 200)
	RetryAfter   string        // Retry-After header value, sent when non-empty
	Status       any           // body "status" to send instead of 0 (e.g. 1, false)
	Message      string        // body "message"; "" -> a default for the answer
	Truncate     bool          // a valid page cut off mid-JSON
	HTML         bool          // an HTML error page body (with Code, e.g. 502)
	Delay        time.Duration // wait before answering (return early if the request ctx ends)
	RepeatCursor bool          // answer with the previous page's cursor again
	NullData     bool          // "data": null
	Oversize     int64         // pad the body (a long message) to at least this many bytes
	Reset        bool          // hijack and close the TCP connection without answering

	NumbersAsStrings bool // numeric row fields as JSON strings, e.g. "12.5"
	NullNumbers      bool // numeric row fields as null
}

func (f *Fault) endpoint() string {
	if f.Endpoint == "" {
		return fptapi.EndpointBills
	}
	return f.Endpoint
}

// answers reports whether the fault replaces the API's answer.
func (f *Fault) answers() bool {
	return f.Reset || f.HTML || (f.Code != 0 && f.Code != http.StatusOK) || f.Status != nil
}

func (f *Fault) numMode() numMode {
	switch {
	case f.NullNumbers:
		return numNull
	case f.NumbersAsStrings:
		return numString
	}
	return numPlain
}

type queuedFault struct {
	f    Fault
	left int // remaining firings; 0 = unlimited
}

// Request is what the fake saw of a request (see LastRequest).
type Request struct {
	Method string
	Header http.Header
	Body   []byte
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	URL string // base URL ending in "/api", e.g. http://127.0.0.1:port/api

	gen         *gen
	loc         *time.Location
	now         func() time.Time
	maxPageSize int
	mux         *http.ServeMux
	srv         *http.Server
	served      chan struct{} // closed when srv has stopped serving
	closed      chan struct{}
	closeOnce   sync.Once
	nBills      atomic.Int64
	nBillInfo   atomic.Int64

	mu     sync.Mutex
	token  string
	bills  map[string][]fptapi.Bill // explicit days
	groups []fptapi.BillingGroup    // nil -> generated
	faults []*queuedFault
	counts map[countKey]int // count of generated rows per filter
	last   map[string]Request
}

type countKey struct {
	n, svc, grp, cfg int
	none             bool
}

// NewServer starts a fake on a free port of 127.0.0.1 and panics when it
// cannot listen, as a test helper may. Close it when done.
func NewServer(cfg Config) *Server {
	s, err := Listen(cfg)
	if err != nil {
		panic("fptapitest: " + err.Error())
	}
	return s
}

// Listen starts a fake on a free port of 127.0.0.1. It serves from a plain
// http.Server rather than net/http/httptest, which the exporter's demo mode
// would otherwise link into the production binary. Close it when done.
func Listen(cfg Config) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	s := newServer(cfg)
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(l) // http.ErrServerClosed once Close is called
	}()
	s.URL = "http://" + l.Addr().String() + "/api"
	return s, nil
}

func newServer(cfg Config) *Server {
	if cfg.Token == "" {
		cfg.Token = DefaultToken
	}
	if cfg.RowsPerDay <= 0 {
		cfg.RowsPerDay = DefaultRowsPerDay
	}
	if cfg.LabelSets <= 0 {
		cfg.LabelSets = max(cfg.RowsPerDay/4, 1)
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = DefaultMaxPageSize
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation(DefaultTimeZone)
		if err != nil {
			loc = time.FixedZone("ICT", 7*3600)
		}
		cfg.Location = loc
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		gen:         newGen(cfg.Seed, cfg.RowsPerDay, cfg.LabelSets),
		loc:         cfg.Location,
		now:         cfg.Now,
		maxPageSize: cfg.MaxPageSize,
		mux:         http.NewServeMux(),
		closed:      make(chan struct{}),
		token:       cfg.Token,
		bills:       map[string][]fptapi.Bill{},
		counts:      map[countKey]int{},
		last:        map[string]Request{},
	}
	s.mux.HandleFunc(BillsPath, s.handleBills)
	s.mux.HandleFunc(BillInfoPath, s.handleBillInfo)
	return s
}

// Close shuts the server down, ending pending delays, and waits for the
// requests in flight (for a few seconds at most), as httptest.Server does.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		<-s.served
	})
}

// Handler returns the fake's mux (paths BillsPath and BillInfoPath), for
// embedding in another server.
func (s *Server) Handler() http.Handler { return s.mux }

// SetToken changes the accepted bearer token.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetBills makes day ("YYYY-MM-DD") serve exactly rows, in order, instead of
// generated ones; nil or empty makes the day empty. The rows are copied.
func (s *Server) SetBills(day string, rows []fptapi.Bill) {
	cp := append([]fptapi.Bill{}, rows...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bills[day] = cp
}

// DeleteBills undoes SetBills: day serves generated rows again.
func (s *Server) DeleteBills(day string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bills, day)
}

// SetBillingGroups makes bill/info answer g instead of the generated groups.
func (s *Server) SetBillingGroups(g []fptapi.BillingGroup) {
	cp := make([]fptapi.BillingGroup, len(g))
	for i, bg := range g {
		cp[i] = fptapi.BillingGroup{Name: bg.Name, ConfigNames: slices.Clone(bg.ConfigNames)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = cp
}

// BillingGroups returns the groups and config names generated rows use.
func (s *Server) BillingGroups() []fptapi.BillingGroup { return generatedGroups() }

// InjectFault queues a fault.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &queuedFault{f: f, left: f.Times})
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns how many requests reached endpoint ("bills" or
// "bill_info"), including rejected and faulted ones.
func (s *Server) Requests(endpoint string) int {
	switch endpoint {
	case fptapi.EndpointBills:
		return int(s.nBills.Load())
	case fptapi.EndpointBillInfo:
		return int(s.nBillInfo.Load())
	}
	return 0
}

// ResetRequests sets the request counters back to zero.
func (s *Server) ResetRequests() {
	s.nBills.Store(0)
	s.nBillInfo.Store(0)
}

// LastRequest returns the last request that reached endpoint.
func (s *Server) LastRequest(endpoint string) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.last[endpoint]
	return r, ok
}

// EachBill calls fn with every row a query for day with filter f returns
// now, in paging order, until fn returns false. Tests use it to compute
// expected sums; the row is reused between calls.
func (s *Server) EachBill(day string, f fptapi.Filter, fn func(b *fptapi.Bill) bool) error {
	return s.eachRow(day, f, func(w *wireBill) bool {
		b := w.bill()
		return fn(&b)
	})
}

// eachRow is EachBill with the rows as sent.
func (s *Server) eachRow(day string, f fptapi.Filter, fn func(w *wireBill) bool) error {
	q, err := s.resolveDay(day)
	if err != nil {
		return err
	}
	s.walk(&q, f, 0, func(_ int, w wireBill) bool { return fn(&w) })
	return nil
}

// walk calls fn with the rows of q that match f, from row index start on,
// in paging order, until fn returns false. It is the one paging order of
// the fake: of the pages it answers and of EachBill.
func (s *Server) walk(q *dayQuery, f fptapi.Filter, start int, fn func(i int, w wireBill) bool) {
	if q.explicit != nil {
		all := *q.explicit
		for i := start; i < len(all); i++ {
			if matchBill(&f, &all[i]) {
				if !fn(i, wireOf(&all[i])) {
					return
				}
			}
		}
		return
	}
	flt := resolveFilter(f)
	var r row
	for i := start; i < q.n; i++ {
		if s.gen.matchK(&flt, i%s.gen.labelSets) {
			s.gen.fill(&r, q.dayNum, q.dom, q.elapsed, i)
			if !fn(i, s.gen.bill(&r, q.day)) {
				return
			}
		}
	}
}

// count is how many rows of q match f.
func (s *Server) count(q *dayQuery, f fptapi.Filter) int {
	if q.explicit == nil {
		flt := resolveFilter(f)
		return s.countGenerated(&flt, q.n)
	}
	n := 0
	for i := range *q.explicit {
		if matchBill(&f, &(*q.explicit)[i]) {
			n++
		}
	}
	return n
}

// takeFault pops the first fault matching endpoint and page.
func (s *Server) takeFault(endpoint string, page int) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.faults {
		if q.f.endpoint() != endpoint || (q.f.Page != 0 && q.f.Page != page) {
			continue
		}
		f := q.f
		if q.left > 0 {
			q.left--
			if q.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f, true
	}
	return Fault{}, false
}

func (s *Server) record(endpoint string, r *http.Request, body []byte) {
	req := Request{Method: r.Method, Header: r.Header.Clone(), Body: append([]byte(nil), body...)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last[endpoint] = req
}

func (s *Server) authorized(r *http.Request) bool {
	s.mu.Lock()
	token := s.token
	s.mu.Unlock()
	// The scheme is case-insensitive (RFC 9110); the token is not.
	h := r.Header.Get("Authorization")
	const scheme = "Bearer "
	return len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) && h[len(scheme):] == token
}

// beforeAnswer runs a fault's delay and answering part. It returns false
// when the request has been dealt with (answered, reset or abandoned).
func (s *Server) beforeAnswer(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		case <-s.closed:
			return false
		}
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Reset {
		resetConn(w)
		return false
	}
	if !f.answers() {
		return true
	}
	code := f.Code
	if code == 0 {
		code = http.StatusOK
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(code)
	}
	if f.HTML {
		page := func(heading string) []byte {
			return []byte(fmt.Sprintf("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n"+
				"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", code, html.EscapeString(msg), heading))
		}
		b := page(html.EscapeString(msg))
		if n := f.Oversize - int64(len(b)); n > 0 { // pad inside the heading
			b = page(html.EscapeString(msg) + strings.Repeat(" ", int(n)))
		}
		s.write(w, code, "text/html", b, f.Truncate)
		return false
	}
	var status any = code
	if f.Status != nil {
		status = f.Status
		if _, err := json.Marshal(status); err != nil {
			status = 1
		}
	}
	var body []byte
	if code == http.StatusOK {
		a := billsAnswer{Status: status, Message: msg, LastSortValue: []string{}, Data: []wireBill{}}
		body = marshalPadded(&a, &a.Message, f.Oversize)
	} else {
		a := errorAnswer{Status: status, Message: msg}
		body = marshalPadded(&a, &a.Message, f.Oversize)
	}
	s.write(w, code, "application/json; charset=utf-8", body, f.Truncate)
	return false
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

// resetConn drops the connection without an answer, with a TCP RST when it
// can.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *Server) write(w http.ResponseWriter, code int, contentType string, body []byte, truncate bool) {
	if truncate {
		body = body[:len(body)/2]
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func (s *Server) writeError(w http.ResponseWriter, code int, msg string) {
	s.write(w, code, "application/json; charset=utf-8", mustMarshal(errorAnswer{Status: code, Message: msg}), false)
}

const maxRequestBody = 1 << 20

func (s *Server) handleBillInfo(w http.ResponseWriter, r *http.Request) {
	s.nBillInfo.Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	s.record(fptapi.EndpointBillInfo, r, body)
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		s.writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	f, faulted := s.takeFault(fptapi.EndpointBillInfo, 1)
	if faulted && !s.beforeAnswer(w, r, &f) {
		return
	}
	if !s.authorized(r) {
		s.writeError(w, http.StatusUnauthorized, "unauthorized: invalid or expired token")
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
	s.write(w, http.StatusOK, "application/json; charset=utf-8", marshalPadded(&a, &a.Message, f.Oversize), f.Truncate)
}

// billsRequest is the body of POST /v1/billing/bills.
type billsRequest struct {
	LastSortValue     []string `json:"last_sort_value"`
	Size              *int     `json:"size"`
	SearchDate        string   `json:"search_date"`
	BillingGroupName  string   `json:"billing_group_name"`
	BillingConfigName string   `json:"billing_config_name"`
	ServiceType       string   `json:"service_type"`
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

// dayQuery is a day resolved against the clock and the explicit rows.
type dayQuery struct {
	day      string
	dayNum   int64 // days since 1970-01-01
	dom      int   // day of month
	elapsed  int64 // seconds of the day elapsed (86400 for past days)
	n        int   // generated rows (0 for future days)
	explicit *[]fptapi.Bill
}

func (s *Server) resolveDay(day string) (dayQuery, error) {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return dayQuery{}, fmt.Errorf("invalid search_date %q: want YYYY-MM-DD", day)
	}
	q := dayQuery{day: day, dayNum: civilDay(t), dom: t.Day(), elapsed: 86400, n: s.gen.rows}
	now := s.now().In(s.loc)
	y, m, d := now.Date()
	today := civilDay(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
	switch {
	case q.dayNum > today:
		q.elapsed, q.n = 0, 0
	case q.dayNum == today:
		q.elapsed = int64(now.Sub(time.Date(y, m, d, 0, 0, 0, 0, s.loc)) / time.Second)
		q.elapsed = min(max(q.elapsed, 0), 86400)
	}
	s.mu.Lock()
	if rows, ok := s.bills[day]; ok {
		q.explicit = &rows
	}
	s.mu.Unlock()
	return q, nil
}

// civilDay is the number of days from 1970-01-01 to t's UTC date.
func civilDay(t time.Time) int64 {
	u := t.Unix()
	d := u / 86400
	if u%86400 < 0 {
		d--
	}
	return d
}

func (s *Server) handleBills(w http.ResponseWriter, r *http.Request) {
	s.nBills.Add(1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	s.record(fptapi.EndpointBills, r, body)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	var req billsRequest
	decErr := json.Unmarshal(body, &req)
	page := 0
	if decErr == nil {
		page = pageOf(req.LastSortValue)
	}
	f, faulted := s.takeFault(fptapi.EndpointBills, page)
	if faulted && !s.beforeAnswer(w, r, &f) {
		return
	}
	if !s.authorized(r) {
		s.writeError(w, http.StatusUnauthorized, "unauthorized: invalid or expired token")
		return
	}
	if decErr != nil {
		s.writeError(w, http.StatusBadRequest, "invalid request body: "+decErr.Error())
		return
	}
	p, msg := s.parsePage(&req, page)
	if msg != "" {
		s.writeError(w, http.StatusBadRequest, msg)
		return
	}
	p.fault = f
	s.write(w, http.StatusOK, "application/json; charset=utf-8", s.renderPage(&p), f.Truncate)
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
	if len(req.LastSortValue) == 0 {
		return 0, true
	}
	limit := q.n
	if q.explicit != nil {
		limit = len(*q.explicit)
	}
	last, err := strconv.Atoi(cursorIndex(req.LastSortValue))
	if page < 2 || req.LastSortValue[0] != req.SearchDate || err != nil || last < 0 || last >= limit {
		return 0, false
	}
	return last + 1, true
}

func cursorIndex(c []string) string {
	if len(c) < 2 {
		return ""
	}
	return c[1]
}

type pageRequest struct {
	q      dayQuery
	size   int
	start  int // first row index to consider
	page   int // page number of this request
	flt    fptapi.Filter
	fault  Fault
	cursor []string // the request's cursor
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

// countGenerated returns (and caches) how many generated rows of a day of n
// rows match f. It depends on the label sets only, never on the day.
func (s *Server) countGenerated(f *filter, n int) int {
	if f.any() || n == 0 {
		return n
	}
	key := countKey{n: n, svc: f.svc, grp: f.grp, cfg: f.cfg, none: f.none}
	s.mu.Lock()
	c, ok := s.counts[key]
	s.mu.Unlock()
	if ok {
		return c
	}
	c = s.gen.count(f, n)
	s.mu.Lock()
	if len(s.counts) > 1024 {
		clear(s.counts)
	}
	s.counts[key] = c
	s.mu.Unlock()
	return c
}
