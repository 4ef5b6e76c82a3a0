// Package fptapitest is an in-process fake of FPT Cloud's billing API, for
// tests, the exporter's demo mode and benchmarks.
//
// It serves POST /api/v1/billing/bills (cursor paging, size, filters, count)
// and GET /api/v1/billing/bill/info, checks the bearer token (401 otherwise),
// counts requests and injects faults on demand (see Fault).
//
// Rows are generated on the fly from (Seed, day, index) with a cheap hash:
// a day of a million rows costs CPU while it is paged, never memory. Every
// full day up to today has RowsPerDay rows; today's rows cover only the part
// of the day elapsed in Config.Location; later days are empty. Row i is the
// same resource every day (one slot in 40 is replaced on the 15th), in label
// set i mod LabelSets: a distinct (vpc_id, vpc_name, service,
// billing_group_name, tag), its group and config those of bill/info. Money
// is VND. Numbers are exact decimals: EachBill returns the float64 values a
// client decodes, bit for bit.
//
// The cursor, last_sort_value, is [day, last row index, next page number];
// clients must treat it as opaque. count is the total rows matching the
// query. SetBills replaces a day with explicit rows.
package fptapitest

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// DefaultToken is the bearer token the fake accepts when Config.Token is "".
const DefaultToken = "fptapitest-token"

// Defaults for Config's zero values.
const (
	DefaultRowsPerDay  = 400
	DefaultMaxPageSize = 1000
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

	cfg       Config // with the defaults filled in
	gen       *gen
	mux       *http.ServeMux
	srv       *http.Server
	closed    chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	token    string
	bills    map[string][]fptapi.Bill // explicit days
	faults   []Fault                  // Times counts the firings left
	requests map[string]int           // by endpoint
	last     map[string]Request
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
// http.Server, not net/http/httptest, which the demo mode would otherwise
// link into the exporter. Close it when done.
func Listen(cfg Config) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	s := newServer(cfg)
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(l) }() // http.ErrServerClosed once Close is called
	s.URL = "http://" + l.Addr().String() + "/api"
	return s, nil
}

func newServer(cfg Config) *Server {
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
		if err != nil {
			loc = time.FixedZone("ICT", 7*3600)
		}
		cfg.Location = loc
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.RowsPerDay = positiveOr(cfg.RowsPerDay, DefaultRowsPerDay)
	cfg.LabelSets = positiveOr(cfg.LabelSets, max(cfg.RowsPerDay/4, 1))
	cfg.MaxPageSize = positiveOr(cfg.MaxPageSize, DefaultMaxPageSize)
	s := &Server{
		cfg:      cfg,
		gen:      newGen(cfg.Seed, cfg.RowsPerDay, cfg.LabelSets),
		mux:      http.NewServeMux(),
		closed:   make(chan struct{}),
		token:    cmp.Or(cfg.Token, DefaultToken),
		bills:    map[string][]fptapi.Bill{},
		requests: map[string]int{},
		last:     map[string]Request{},
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
	})
}

// Handler returns the fake's mux, for embedding in another server.
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

// BillingGroups returns the groups and config names generated rows use.
func (s *Server) BillingGroups() []fptapi.BillingGroup {
	out := make([]fptapi.BillingGroup, len(groups))
	for i, g := range groups {
		out[i] = fptapi.BillingGroup{Name: g.name, ConfigNames: slices.Clone(g.configs)}
	}
	return out
}

// EachBill calls fn with every row a query for day with filter f returns
// now, in paging order, until fn returns false. The row is reused.
func (s *Server) EachBill(day string, f fptapi.Filter, fn func(b *fptapi.Bill) bool) error {
	q, err := s.resolveDay(day)
	if err != nil {
		return err
	}
	s.walk(&q, f, 0, func(_ int, w wireBill) bool {
		b := w.bill()
		return fn(&b)
	})
	return nil
}

// Requests returns how many requests reached endpoint ("bills" or
// "bill_info"), including rejected and faulted ones.
func (s *Server) Requests(endpoint string) (n int) {
	s.locked(func() { n = s.requests[endpoint] })
	return n
}

// ResetRequests sets the request counters back to zero.
func (s *Server) ResetRequests() { s.locked(func() { clear(s.requests) }) }

// LastRequest returns the last request that reached endpoint.
func (s *Server) LastRequest(endpoint string) (r Request, ok bool) {
	s.locked(func() { r, ok = s.last[endpoint] })
	return r, ok
}

// dayQuery is a day resolved against the clock and the explicit rows.
type dayQuery struct {
	day      string
	dayNum   int64         // days since 1970-01-01
	dom      int           // day of month
	elapsed  int64         // seconds of the day elapsed (86400 for past days)
	n        int           // rows of the day: generated (0 for future days) or explicit
	explicit []fptapi.Bill // SetBills' rows; non-nil, if empty, for a day it set
}

func (s *Server) resolveDay(day string) (dayQuery, error) {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return dayQuery{}, fmt.Errorf("invalid search_date %q: want YYYY-MM-DD", day)
	}
	q := dayQuery{day: day, dayNum: t.Unix() / 86400, dom: t.Day(), elapsed: 86400, n: s.gen.rows}
	now := s.cfg.Now().In(s.cfg.Location)
	y, m, d := now.Date()
	switch today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400; {
	case q.dayNum > today:
		q.elapsed, q.n = 0, 0
	case q.dayNum == today:
		q.elapsed = int64(now.Sub(time.Date(y, m, d, 0, 0, 0, 0, s.cfg.Location)) / time.Second)
		q.elapsed = min(max(q.elapsed, 0), 86400)
	}
	s.mu.Lock()
	if rows, ok := s.bills[day]; ok {
		q.explicit, q.n = rows, len(rows)
	}
	s.mu.Unlock()
	return q, nil
}

// walk calls fn with the rows of q that pass f, from row index start on,
// in paging order, until fn returns false.
func (s *Server) walk(q *dayQuery, f fptapi.Filter, start int, fn func(i int, w wireBill) bool) {
	for i := start; i < q.n; i++ {
		if q.explicit == nil {
			if s.gen.matchK(&f, i%s.gen.labelSets) && !fn(i, s.gen.bill(q, i)) {
				return
			}
		} else if b := &q.explicit[i]; match(&f, b.Service, b.BillingGroupName, b.BillingConfigName) && !fn(i, wireOf(b)) {
			return
		}
	}
}

// count is how many rows of q pass f.
func (s *Server) count(q *dayQuery, f fptapi.Filter) int {
	if q.explicit == nil {
		return s.gen.count(&f, q.n)
	}
	n := 0
	s.walk(q, f, 0, func(int, wireBill) bool { n++; return true })
	return n
}
