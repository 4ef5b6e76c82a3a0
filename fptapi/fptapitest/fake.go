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

// The fake's server: its configuration, lifecycle and the setters tests
// steer it with. The handlers are in handlers.go, faults in faults.go.

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
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
	requests    map[string]*atomic.Int64 // by endpoint

	mu     sync.Mutex
	token  string
	bills  map[string][]fptapi.Bill // explicit days
	groups []fptapi.BillingGroup    // nil -> generated
	faults []*queuedFault
	counts map[countKey]int // count of generated rows per filter
	last   map[string]Request
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
	rows := positiveOr(cfg.RowsPerDay, DefaultRowsPerDay)
	s := &Server{
		gen:         newGen(cfg.Seed, rows, positiveOr(cfg.LabelSets, max(rows/4, 1))),
		loc:         cfg.Location,
		now:         cfg.Now,
		maxPageSize: positiveOr(cfg.MaxPageSize, DefaultMaxPageSize),
		mux:         http.NewServeMux(),
		closed:      make(chan struct{}),
		requests:    map[string]*atomic.Int64{fptapi.EndpointBills: {}, fptapi.EndpointBillInfo: {}},
		token:       cmp.Or(cfg.Token, DefaultToken),
		bills:       map[string][]fptapi.Bill{},
		counts:      map[countKey]int{},
		last:        map[string]Request{},
	}
	s.mux.HandleFunc(BillsPath, s.handleBills)
	s.mux.HandleFunc(BillInfoPath, s.handleBillInfo)
	return s
}

// positiveOr is v, or def when v is not positive.
func positiveOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
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

// locked runs fn holding s.mu.
func (s *Server) locked(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// SetToken changes the accepted bearer token.
func (s *Server) SetToken(token string) { s.locked(func() { s.token = token }) }

// SetBills makes day ("YYYY-MM-DD") serve exactly rows, in order, instead of
// generated ones; nil or empty makes the day empty. The rows are copied.
func (s *Server) SetBills(day string, rows []fptapi.Bill) {
	cp := append([]fptapi.Bill{}, rows...)
	s.locked(func() { s.bills[day] = cp })
}

// DeleteBills undoes SetBills: day serves generated rows again.
func (s *Server) DeleteBills(day string) { s.locked(func() { delete(s.bills, day) }) }

// SetBillingGroups makes bill/info answer g instead of the generated groups.
func (s *Server) SetBillingGroups(g []fptapi.BillingGroup) {
	cp := cloneGroups(g)
	s.locked(func() { s.groups = cp })
}

// BillingGroups returns the groups and config names generated rows use.
func (s *Server) BillingGroups() []fptapi.BillingGroup { return generatedGroups() }

func cloneGroups(g []fptapi.BillingGroup) []fptapi.BillingGroup {
	cp := make([]fptapi.BillingGroup, len(g))
	for i, bg := range g {
		cp[i] = fptapi.BillingGroup{Name: bg.Name, ConfigNames: slices.Clone(bg.ConfigNames)}
	}
	return cp
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
