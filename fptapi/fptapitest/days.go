package fptapitest

// A day's rows: a query day resolved against the clock and the explicit
// rows, walked in the fake's one paging order, and counted.

import (
	"fmt"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

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

// civilDay is the number of days from 1970-01-01 to t, a UTC midnight.
func civilDay(t time.Time) int64 { return t.Unix() / 86400 }

// walk calls fn with the rows of q that match f, from row index start on,
// in paging order, until fn returns false. It is the one paging order of
// the fake: of the pages it answers and of EachBill.
func (s *Server) walk(q *dayQuery, f fptapi.Filter, start int, fn func(i int, w wireBill) bool) {
	if q.explicit != nil {
		all := *q.explicit
		for i := start; i < len(all); i++ {
			if matchBill(&f, &all[i]) && !fn(i, wireOf(&all[i])) {
				return
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
	s.walk(q, f, 0, func(int, wireBill) bool { n++; return true })
	return n
}

type countKey struct {
	n int
	f filter
}

// countGenerated returns (and caches) how many generated rows of a day of n
// rows match f. It depends on the label sets only, never on the day.
func (s *Server) countGenerated(f *filter, n int) int {
	if f.any() || n == 0 {
		return n
	}
	key := countKey{n: n, f: *f}
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
