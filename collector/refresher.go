// Package collector turns FPT Cloud bills into Prometheus metrics: a
// background Refresher fetches and aggregates them into an immutable
// snapshot, and a Collector serves the last published snapshot on scrape
// without ever calling the API.
package collector

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// Defaults for the zero values of Config.
const (
	// DefaultRefreshInterval matches how often FPT Cloud updates bill data
	// (about hourly) with room to spare: refreshing more often gains nothing.
	DefaultRefreshInterval = 15 * time.Minute

	// DefaultMaxAge is how long the last good snapshot is served after
	// refreshes start failing. One hour is four missed refreshes at the
	// default interval, enough to ride out a short API outage or an expired
	// token being replaced, and about one FPT Cloud update cycle: beyond
	// that "today's cost" is visibly behind, and dashboards and budget
	// alerts should see no data rather than a number that silently stopped
	// moving. When RefreshInterval is long, the effective default grows to
	// 3 × RefreshInterval so that one failed refresh never blanks the data.
	DefaultMaxAge = time.Hour

	// DefaultLateWindow is how long after midnight yesterday's bills are
	// fetched again. FPT Cloud rates usage about once an hour, so the last
	// hours of a day reach the API after midnight; six hours covers that
	// hourly run plus retries of a delayed one, while costing only the
	// pages of one day per refresh in the early morning.
	DefaultLateWindow = 6 * time.Hour

	// DefaultMaxSeries is the cardinality guard: label sets per metric.
	DefaultMaxSeries = 10000
)

// BillSource is satisfied by *fptapi.Client.
type BillSource interface {
	Bills(ctx context.Context, day time.Time, f fptapi.Filter, fn func([]fptapi.Bill) error) error
}

// Budgets are exposed as gauges so that alerts compare against them.
type Budgets struct {
	Daily, Monthly float64 // 0 = not set
	// Per billing group; a group present in the map is set.
	GroupDaily, GroupMonthly map[string]float64
}

// Config configures a Refresher.
type Config struct {
	Source          BillSource
	Location        *time.Location  // billing time zone; required
	Filters         []fptapi.Filter // one query per filter per day; empty -> one unfiltered query
	RefreshInterval time.Duration   // 0 -> DefaultRefreshInterval
	MaxAge          time.Duration   // billing series vanish when the served snapshot is older; 0 -> max(DefaultMaxAge, 3*RefreshInterval)
	MaxSeries       int             // cardinality guard, per metric; 0 -> DefaultMaxSeries
	LateWindow      time.Duration   // yesterday is re-fetched until this long after midnight; 0 -> DefaultLateWindow
	Budgets         Budgets
	Now             func() time.Time // injectable clock; nil -> time.Now
	Logger          log.Logger       // nil -> log.NewNopLogger()
}

// date is a calendar day in the billing time zone.
type date struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) date { y, m, d := t.Date(); return date{y, m, d} }

func (d date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.year, d.month, d.day) }

// start is the day's midnight in loc; its location makes fptapi query the
// right calendar date.
func (d date) start(loc *time.Location) time.Time {
	return time.Date(d.year, d.month, d.day, 0, 0, 0, 0, loc)
}

// end is the next day's midnight in loc.
func (d date) end(loc *time.Location) time.Time {
	return time.Date(d.year, d.month, d.day+1, 0, 0, 0, 0, loc)
}

// monthCache holds the month-to-date contribution of the current month's
// closed days. A day is final once it was read after its late window
// closed: final days are merged into one sum, so memory follows label sets,
// not label sets times days; days read earlier are kept apart and read again.
type monthCache struct {
	year      int
	month     time.Month
	final     dayCost         // sum of the final days
	finalDays uint64          // bit d set: day d of the month is in final
	pending   map[int]dayCost // day of month -> cost, not final yet
}

// forDay drops what does not belong before today in today's month: the
// previous month, and days not before today (the clock went back).
func (c *monthCache) forDay(today date) {
	if c.year != today.year || c.month != today.month || c.finalDays>>today.day != 0 {
		*c = monthCache{year: today.year, month: today.month, final: make(dayCost), pending: make(map[int]dayCost)}
	}
	for d := range c.pending {
		if d >= today.day {
			delete(c.pending, d)
		}
	}
}

func (c *monthCache) isFinal(day int) bool { return c.finalDays&(1<<day) != 0 }

func (c *monthCache) store(day int, cost dayCost, final bool) {
	if !final {
		c.pending[day] = cost
		return
	}
	delete(c.pending, day)
	for k, v := range cost {
		c.final[k] += v
	}
	c.finalDays |= 1 << day
}

// days is the number of closed days held.
func (c *monthCache) days() int { return bits.OnesCount64(c.finalDays) + len(c.pending) }

// snapshot is one successful refresh, immutable once published.
type snapshot struct {
	at        time.Time // when the refresh succeeded
	day       date      // the billing day it describes as "today"
	metrics   []prometheus.Metric
	labelSets int
	folded    int
}

// state is everything a scrape reads, published as one pointer.
type state struct {
	snap          *snapshot // last successful refresh; nil before the first
	success       bool
	tokenRejected bool
	duration      time.Duration
	rows, pages   int
	failures      uint64
}

// Refresher fetches bills in the background and publishes snapshots.
type Refresher struct {
	cfg     Config
	now     func() time.Time
	logger  log.Logger
	filters []fptapi.Filter

	mu    sync.Mutex // serialises refreshes; guards cache
	cache monthCache

	state atomic.Pointer[state]
}

// NewRefresher checks cfg and fills in defaults.
func NewRefresher(cfg Config) (*Refresher, error) {
	switch {
	case cfg.Source == nil:
		return nil, errors.New("collector: no bill source")
	case cfg.Location == nil:
		return nil, errors.New("collector: no billing time zone")
	case cfg.RefreshInterval < 0:
		return nil, fmt.Errorf("collector: negative refresh interval %s", cfg.RefreshInterval)
	case cfg.MaxAge < 0:
		return nil, fmt.Errorf("collector: negative max age %s", cfg.MaxAge)
	case cfg.LateWindow < 0:
		return nil, fmt.Errorf("collector: negative late window %s", cfg.LateWindow)
	case cfg.MaxSeries < 0:
		return nil, fmt.Errorf("collector: negative max series %d", cfg.MaxSeries)
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = max(DefaultMaxAge, 3*cfg.RefreshInterval)
	}
	if cfg.MaxAge < cfg.RefreshInterval {
		// The data would vanish between every two refreshes.
		return nil, fmt.Errorf("collector: max age %s is shorter than the refresh interval %s", cfg.MaxAge, cfg.RefreshInterval)
	}
	if cfg.LateWindow == 0 {
		cfg.LateWindow = DefaultLateWindow
	}
	if cfg.MaxSeries == 0 {
		cfg.MaxSeries = DefaultMaxSeries
	}
	r := &Refresher{
		cfg:    cfg,
		now:    cfg.Now,
		logger: cfg.Logger,
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.logger == nil {
		r.logger = log.NewNopLogger()
	}
	// Identical filters would count the same rows twice.
	for _, f := range cfg.Filters {
		if !slices.Contains(r.filters, f) {
			r.filters = append(r.filters, f)
		}
	}
	if len(r.filters) == 0 {
		r.filters = []fptapi.Filter{{}}
	}
	r.state.Store(&state{})
	return r, nil
}

// Ready reports whether a refresh has succeeded at least once.
func (r *Refresher) Ready() bool { return r.state.Load().snap != nil }

// Run refreshes at once, then every RefreshInterval and right after each
// midnight in the billing time zone, until ctx is done. Refreshes never
// overlap: the next one is scheduled only when the last has returned.
func (r *Refresher) Run(ctx context.Context) {
	for ctx.Err() == nil {
		start := r.now()
		_ = r.Refresh(ctx) // logged and reported in metrics by Refresh
		t := time.NewTimer(r.nextWait(start, r.now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// notReadyRetry is the longest wait between refreshes until one succeeds.
const notReadyRetry = time.Minute

// nextWait is how long Run waits after a refresh that started at start and
// ended at now: the rest of the interval, but no longer than until just after
// the next midnight in the billing time zone, so that "today" and
// month-to-date never describe yesterday for a whole interval.
func (r *Refresher) nextWait(start, now time.Time) time.Duration {
	interval := r.cfg.RefreshInterval
	if !r.Ready() {
		// Nothing is served and /-/ready answers 503 until a refresh
		// succeeds: after a failed first refresh (a DNS blip as the pod
		// starts) try again within a minute, not a whole interval.
		interval = min(interval, notReadyRetry)
	}
	wait := interval - now.Sub(start)
	midnight := dateOf(now.In(r.cfg.Location)).end(r.cfg.Location)
	return max(min(wait, midnight.Sub(now)+time.Second), 0)
}

// refreshStats describes what one refresh read.
type refreshStats struct {
	fetched, cached int // days read from the API, days taken from the cache
	rows, pages     int
}

// Refresh fetches what the current snapshot needs and publishes a new one
// if every query succeeded. On failure the previous snapshot stays.
func (r *Refresher) Refresh(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()

	start := r.now()
	snap, st, err := r.refresh(ctx, start)
	done := r.now()
	dur := done.Sub(start)

	prev := r.state.Load()
	if err != nil && ctx.Err() != nil {
		// Shutting down: not an API failure worth reporting.
		level.Debug(r.logger).Log("msg", "refresh canceled", "err", err)
		return err
	}
	next := &state{
		snap:     prev.snap,
		success:  err == nil,
		duration: dur,
		rows:     st.rows,
		pages:    st.pages,
		failures: prev.failures,
	}
	if err != nil {
		next.failures++
		next.tokenRejected = errors.Is(err, fptapi.ErrUnauthorized)
		r.state.Store(next)
		lvl := level.Warn(r.logger)
		if next.tokenRejected || prev.snap == nil {
			lvl = level.Error(r.logger)
		}
		kv := []any{"msg", "refresh failed", "err", err, "duration", dur, "rows", st.rows, "pages", st.pages}
		if prev.snap != nil {
			kv = append(kv, "serving_snapshot_from", prev.snap.at.Format(time.RFC3339))
		}
		lvl.Log(kv...)
		return err
	}
	snap.at = done
	next.snap = snap
	r.state.Store(next)
	if snap.folded > 0 {
		level.Warn(r.logger).Log("msg", "label sets over --collector.max-series folded into __other__",
			"max_series", r.cfg.MaxSeries, "folded", snap.folded)
	}
	level.Debug(r.logger).Log("msg", "refresh done", "day", snap.day, "days_fetched", st.fetched, "days_cached", st.cached,
		"rows", st.rows, "pages", st.pages, "label_sets", snap.labelSets, "duration", dur)
	return nil
}

// refresh builds a snapshot for the billing day of now. It caches closed
// days that were read completely even when a later query fails: they need
// not be read again.
func (r *Refresher) refresh(ctx context.Context, now time.Time) (*snapshot, refreshStats, error) {
	loc := r.cfg.Location
	today := dateOf(now.In(loc))
	var st refreshStats

	// Closed days of this month, 1st through yesterday; on the 1st there
	// are none, and the previous month is dropped.
	r.cache.forDay(today)
	for day := 1; day < today.day; day++ {
		if r.cache.isFinal(day) {
			st.cached++
			continue
		}
		d := date{today.year, today.month, day}
		cost := make(dayCost)
		if err := r.fetchDay(ctx, d, &st, cost.addPage); err != nil {
			return nil, st, err
		}
		// Until its late window has closed, late rows may still arrive
		// and the day is read again.
		r.cache.store(day, cost, !now.Before(d.end(loc).Add(r.cfg.LateWindow)))
	}
	closed := make([]dayCost, 0, 1+len(r.cache.pending))
	closed = append(closed, r.cache.final)
	for _, c := range r.cache.pending {
		closed = append(closed, c)
	}

	// Today has about as many label sets as the last snapshot: size the
	// map once instead of growing it row by row.
	hint := 0
	if prev := r.state.Load().snap; prev != nil {
		hint = prev.labelSets
	}
	usage := make(dayUsage, hint)
	if err := r.fetchDay(ctx, today, &st, usage.addPage); err != nil {
		return nil, st, err
	}
	ss, folded := combine(usage, closed, r.cfg.MaxSeries)
	return &snapshot{
		day:       today,
		metrics:   buildMetrics(ss),
		labelSets: len(ss),
		folded:    folded,
	}, st, nil
}

// fetchDay runs the day's query for every filter, feeding each page to add.
func (r *Refresher) fetchDay(ctx context.Context, d date, st *refreshStats, add func([]fptapi.Bill)) error {
	st.fetched++
	for _, f := range r.filters {
		err := r.cfg.Source.Bills(ctx, d.start(r.cfg.Location), f, func(page []fptapi.Bill) error {
			add(page)
			st.rows += len(page)
			st.pages++
			return nil
		})
		if err != nil {
			return fmt.Errorf("bills of %s%s: %w", d, describeFilter(f), err)
		}
	}
	return nil
}

func describeFilter(f fptapi.Filter) string {
	if f == (fptapi.Filter{}) {
		return ""
	}
	return fmt.Sprintf(" (service_type=%q billing_group_name=%q billing_config_name=%q)", f.ServiceType, f.BillingGroupName, f.BillingConfigName)
}
