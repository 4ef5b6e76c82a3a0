// Package collector turns FPT Cloud bills into Prometheus metrics: a
// background Refresher fetches and aggregates them into an immutable
// snapshot, and a Collector serves the last published snapshot on scrape
// without ever calling the API.
package collector

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
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

// DayStore keeps the sums of closed days across restarts. *store.Store
// satisfies it.
type DayStore interface {
	// Load returns a day's sums; an error means a file was there but
	// cannot be trusted, and the day is read again.
	Load(date string) (store.Day, bool, error)
	Save(day store.Day) error
	// Prune removes the days before keepFrom (YYYY-MM-DD).
	Prune(keepFrom string) error
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
	// TopResources is how many of the most expensive resources get series
	// of their own; 0 turns them off.
	TopResources int
	// MaxResources caps the distinct resources ranked per day and per
	// month; 0 -> DefaultMaxResources.
	MaxResources int
	// PreviousMonth reads the previous billing month once, after the
	// current one is complete, for fptcloud_billing_previous_month_cost_vnd.
	PreviousMonth bool
	// Store keeps closed days across restarts; nil keeps them in memory
	// only.
	Store DayStore
	// StoreUnusable says a store was asked for but could not be opened:
	// Store is then nil, and fptcloud_exporter_storage_ok is 0 instead of
	// absent, so that a memory-only run nobody chose can be alerted on.
	StoreUnusable bool
	Now           func() time.Time // injectable clock; nil -> time.Now
	Logger        log.Logger       // nil -> log.NewNopLogger()
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

// normalized turns day 0 or month 0 or 13 into the real date, as time.Date
// does: date{2026, 11, 0} is 2026-10-31.
func (d date) normalized() date {
	return dateOf(time.Date(d.year, d.month, d.day, 12, 0, 0, 0, time.UTC))
}

// end is the next day's midnight in loc.
func (d date) end(loc *time.Location) time.Time {
	return time.Date(d.year, d.month, d.day+1, 0, 0, 0, 0, loc)
}

// snapshot is what a scrape serves, immutable once published.
type snapshot struct {
	at        time.Time // when today's bills in it were read
	day       date      // the billing day it describes as "today"
	metrics   []prometheus.Metric
	labelSets int
	folded    int
	// untrackedResourceRows counts the rows of resources beyond the
	// MaxResources cap; -1 when top resources are not served.
	untrackedResourceRows int
}

// state is everything a scrape reads, published as one pointer.
type state struct {
	snap *snapshot // last successful refresh; nil before the first
	// attempted is false until the first refresh of today has ended: a
	// start still reading is neither a success nor a failure.
	attempted       bool
	success         bool
	tokenRejected   bool
	duration        time.Duration
	rows, pages     int
	failures        uint64 // failed refreshes since start
	failedInARow    uint64
	missingDays     int    // closed days month-to-date still waits for
	previousMissing int    // days of the previous month not read; -1 when not read at all
	failedDays      []date // closed days whose last read failed
	storeFailing    bool   // a day held in memory is not written to the store
	storeFailures   uint64 // failed writes to the store since start
}

// previousMonth is the cost of the month before today's, summed day by day
// and complete once every day is in.
type previousMonth struct {
	year     int
	month    time.Month
	cost     dayCost
	read     uint64  // bit d set: day d is in cost
	lastDay  dayCost // the month's last day: yesterday on the 1st
	complete bool
}

// today is the last complete read of the current day's bills.
type today struct {
	day       date
	usage     dayUsage
	resources *resourceCosts // nil when top resources are off
	at        time.Time
}

// Refresher fetches bills in the background and publishes snapshots.
type Refresher struct {
	cfg     Config
	now     func() time.Time
	logger  log.Logger
	filters []fptapi.Filter
	trigger chan struct{} // a refresh asked for out of schedule (SIGHUP)
	cuts    labelCuts     // rows whose label values were cut, per field
	// Set by Trigger, taken by the next refresh of today: the one asked
	// for is logged at info level, so that whoever asked sees it end.
	triggered atomic.Bool

	mu            sync.Mutex // serialises refreshes; guards what follows
	cache         monthCache
	previous      previousMonth
	today         today
	todayStarted  time.Time // when the last refresh of today started
	todayEnded    time.Time // and when it ended
	storeFailures uint64    // failed writes to the store since start
	// unsaved holds, by date, every day whose last write to the store
	// failed: each is written again at every refresh, and the store is
	// reported healthy only when none is left, so that a restart after
	// a full disk was freed reads only today.
	unsaved   map[string]store.Day
	todaySlow bool // reading today took longer than the interval, and that was logged

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
	case cfg.TopResources < 0 || cfg.MaxResources < 0:
		return nil, fmt.Errorf("collector: negative top resources %d or max resources %d", cfg.TopResources, cfg.MaxResources)
	case cfg.Store != nil && cfg.StoreUnusable:
		return nil, errors.New("collector: a store that is both given and unusable")
	}
	if cfg.MaxResources == 0 {
		cfg.MaxResources = DefaultMaxResources
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
		cfg:     cfg,
		now:     cfg.Now,
		logger:  cfg.Logger,
		trigger: make(chan struct{}, 1),
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.logger == nil {
		r.logger = log.NewNopLogger()
	}
	r.filters = QueryFilters(cfg.Filters)
	r.state.Store(&state{})
	return r, nil
}

// Ready reports whether today's series are being served.
func (r *Refresher) Ready() bool { return r.state.Load().snap != nil }

// Trigger asks Run for a refresh of today now, out of schedule (after a
// token rotation, say). It never blocks; triggers while one is pending
// make one refresh.
func (r *Refresher) Trigger() {
	r.triggered.Store(true)
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Run refreshes at once, then every RefreshInterval, right after each
// midnight in the billing time zone, and when triggered, until ctx is done.
// Refreshes never overlap: the next one is scheduled only when the last has
// returned, and the closed days a refresh reads make way for today's
// refresh whenever it is due.
func (r *Refresher) Run(ctx context.Context) {
	for ctx.Err() == nil {
		_ = r.Refresh(ctx) // logged and reported in metrics by Refresh
		r.mu.Lock()
		started := r.todayStarted
		r.mu.Unlock()
		t := time.NewTimer(r.nextWait(started, r.now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-r.trigger:
			t.Stop()
		}
	}
}

// notReadyRetry is the longest wait between refreshes until one succeeds.
const notReadyRetry = time.Minute

// nextWait is how long to wait after a refresh of today that started at
// start, at now: the rest of the interval, but no longer than until just
// after the midnight that ends start's billing day (none, when a refresh
// ran past it), so that "today" and month-to-date never describe yesterday
// for a whole interval.
func (r *Refresher) nextWait(start, now time.Time) time.Duration {
	interval := r.cfg.RefreshInterval
	if !r.fresh(r.state.Load().snap, now) {
		// No billing series are served until a refresh succeeds: after a
		// failed first refresh (a DNS blip as the pod starts), or a failed
		// first read of a new day, try again within a minute, not a whole
		// interval.
		interval = min(interval, notReadyRetry)
	}
	wait := interval - now.Sub(start)
	midnight := dateOf(start.In(r.cfg.Location)).end(r.cfg.Location)
	return max(min(wait, midnight.Sub(now)+time.Second), 0)
}

// fresh reports whether snap's billing series are served at now: it
// describes today and is no older than MaxAge.
func (r *Refresher) fresh(snap *snapshot, now time.Time) bool {
	return snap != nil && snap.day == dateOf(now.In(r.cfg.Location)) && now.Sub(snap.at) <= r.cfg.MaxAge
}

// todayDue reports whether today's refresh should run now, between two
// pages of a closed day: it was triggered, billing midnight has passed
// since it last ran, or its time has come and the closed days have had
// their share since the last one ended. The share is as much time as
// reading today took, so that a today slower to read than the interval
// does not leave the month one page per refresh of today; but no more than
// keeps today's data within half of MaxAge, so that they never expire.
func (r *Refresher) todayDue() bool {
	select {
	case <-r.trigger:
		return true
	default:
	}
	now := r.now()
	if dateOf(now.In(r.cfg.Location)) != dateOf(r.todayStarted.In(r.cfg.Location)) {
		return true
	}
	took := r.todayEnded.Sub(r.todayStarted)
	share := min(took, r.cfg.MaxAge/2-took)
	return r.nextWait(r.todayStarted, now) <= 0 && now.Sub(r.todayEnded) >= share
}

// refreshStats describes what one read of the API brought.
type refreshStats struct {
	rows, pages int
}

// errEmptyAgain is the failure of a read that found no rows for a day
// already seen with rows. An API answers "nothing" while its index is
// rebuilt, too: publishing that would show spend dropping to zero.
var errEmptyAgain = errors.New("the API returned no rows for a day it returned rows for before")

// errDayChanged ends reading closed days when billing midnight passed
// during it: the next refresh works out what the new day needs.
var errDayChanged = errors.New("billing day changed")

// Refresh reads today's bills and publishes them as soon as they are
// complete, then reads the closed days of the month that are not held yet
// (month-to-date is published once every one of them is in) and those whose
// late window was open when last read. A failed read of today keeps the
// previous snapshot and skips the closed days; a failed closed day only
// holds back month-to-date. It returns the first error.
func (r *Refresher) Refresh(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retrySave()
	if err := r.refreshToday(ctx); err != nil {
		return err
	}
	return r.readClosedDays(ctx)
}

// refreshToday reads today's bills and publishes them. r.mu is held.
func (r *Refresher) refreshToday(ctx context.Context) error {
	day := dateOf(r.now().In(r.cfg.Location))
	r.startDay(day) // loading the store is not part of the refresh's duration
	start := r.now()
	if d := dateOf(start.In(r.cfg.Location)); d != day {
		// Loading the store ran past billing midnight: read the new day.
		day = d
		r.startDay(day)
	}
	r.todayStarted = start
	asked := r.triggered.Swap(false)

	usage := make(dayUsage, len(r.today.usage))
	res := r.newResourceCosts()
	st, err := r.fetchDay(ctx, day, func(page []fptapi.Bill) error {
		usage.addPage(page)
		if res != nil {
			res.addPage(page)
		}
		return nil
	})
	if err == nil && len(usage) == 0 && r.cache.wasSeen(day.day) {
		err = fmt.Errorf("bills of %s: %w", day, errEmptyAgain)
	}
	done := r.now()
	r.todayEnded = done
	dur := done.Sub(start)
	if err != nil && ctx.Err() != nil {
		// Shutting down: not an API failure worth reporting.
		level.Debug(r.logger).Log("msg", "refresh canceled", "err", err)
		return err
	}

	prev := r.state.Load()
	next := *prev
	next.attempted, next.success, next.duration, next.rows, next.pages = true, err == nil, dur, st.rows, st.pages
	if err != nil {
		next.failures++
		next.failedInARow++
		next.tokenRejected = errors.Is(err, fptapi.ErrUnauthorized)
		r.state.Store(&next)
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
	next.tokenRejected, next.failedInARow = false, 0
	r.state.Store(&next)
	switch {
	case prev.snap == nil:
		level.Info(r.logger).Log("msg", "first refresh succeeded: serving today's bills", "day", day,
			"rows", st.rows, "pages", st.pages, "duration", dur, "closed_day_reads_missing", r.cache.missing(day))
	case prev.failedInARow > 0:
		level.Info(r.logger).Log("msg", "refresh succeeded again", "failed_refreshes", prev.failedInARow, "day", day)
	}
	if len(usage) > 0 {
		r.cache.markSeen(day.day)
	}
	r.today = today{day: day, usage: usage, resources: res, at: done}
	r.publish()
	if folded := r.state.Load().snap.folded; folded > 0 {
		level.Warn(r.logger).Log("msg", "label sets over --collector.max-series folded into __other__",
			"max_series", r.cfg.MaxSeries, "folded", folded)
	}
	lvl := level.Debug(r.logger)
	if asked {
		lvl = level.Info(r.logger)
	}
	lvl.Log("msg", "refresh of today done", "day", day, "rows", st.rows, "pages", st.pages, "duration", dur)
	if slow := dur > r.cfg.RefreshInterval; slow != r.todaySlow {
		r.todaySlow = slow
		if slow {
			level.Warn(r.logger).Log("msg", "reading today took longer than --collector.refresh-interval: the API is read without pause; raise the interval, or --fpt.rate-limit if the API allows",
				"duration", dur, "refresh_interval", r.cfg.RefreshInterval, "pages", st.pages)
		}
	}
	return nil
}

// startDay prepares the month cache for day: on a new month it drops the
// old one and loads what the store holds; after midnight yesterday keeps
// the last read of it, until it is read again as a closed day.
func (r *Refresher) startDay(day date) {
	if r.cache.forDay(day) {
		r.today = today{}
		r.loadStore(day)
	}
	yesterday := dateOf(day.start(r.cfg.Location).AddDate(0, 0, -1))
	if r.today.day == yesterday && yesterday.month == day.month && !r.cache.has(yesterday.day) && len(r.today.usage) > 0 {
		r.cache.store(yesterday.day, r.today.usage.costs(), r.today.resources, false)
	}
}

// loadStore fills the month cache with the closed days before day that the
// store holds, and prunes the earlier months.
func (r *Refresher) loadStore(day date) {
	if r.cfg.Store == nil {
		return
	}
	loaded, foreign := 0, 0
	var firstForeign error
	for d := 1; d < day.day; d++ {
		closed := date{day.year, day.month, d}
		sd, ok, err := r.cfg.Store.Load(closed.String())
		if errors.Is(err, store.ErrOtherIdentity) {
			// A change of configuration: one line, not one per day.
			if foreign++; foreign == 1 {
				firstForeign = err
			}
			continue
		}
		if err != nil {
			level.Warn(r.logger).Log("msg", "ignoring a stored day that cannot be trusted; reading it from the API again", "err", err)
			continue
		}
		if !ok {
			continue
		}
		if r.cfg.TopResources > 0 && !sd.PerResource {
			// Written without per-resource sums (by a backfill, or with
			// the ranking off): the resources' month needs the day again.
			level.Debug(r.logger).Log("msg", "stored day has no per-resource sums; reading it again", "day", closed)
			continue
		}
		cost, res := r.fromStore(sd)
		r.cache.store(d, cost, res, sd.Final)
		loaded++
	}
	if foreign > 0 {
		level.Warn(r.logger).Log("msg", "stored days were read with another configuration; reading them from the API again",
			"days", foreign, "first", firstForeign)
	}
	// The previous month's days stay: its total is served all month.
	keepFrom := date{day.year, day.month - 1, 1}.normalized().String()
	r.dropUnsaved(keepFrom)
	if err := r.cfg.Store.Prune(keepFrom); err != nil {
		level.Warn(r.logger).Log("msg", "could not remove the stored days of earlier months", "err", err)
	}
	level.Info(r.logger).Log("msg", "month cache loaded from the store", "month", fmt.Sprintf("%04d-%02d", day.year, day.month),
		"closed_days_loaded", loaded, "closed_days", day.day-1)
}

// readClosedDays reads the closed days the month still needs, storing each
// as soon as it is complete. Between two pages, today's refresh runs when
// it is due, so a long month never holds today back. r.mu is held.
func (r *Refresher) readClosedDays(ctx context.Context) error {
	day := r.today.day
	toRead := r.cache.toRead(day)
	var errs []error
	failedInARow := 0
	var lastProgress time.Time
	for i, d := range toRead {
		closed := date{day.year, day.month, d}
		// Final when the read started after the late window: a row added
		// while the first pages were read may be missing from a read that
		// only ended after it.
		readAt := r.now()
		res := r.newResourceCosts()
		cost, err := r.readClosedDay(ctx, closed, r.cache.wasSeen(d), res)
		if errors.Is(err, errDayChanged) {
			if r.today.day != day {
				// The new day is read and served: go on with what its
				// month needs (yesterday now among the closed days)
				// rather than wait an interval.
				return errors.Join(append(errs, r.readClosedDays(ctx))...)
			}
			return nil
		}
		if ctx.Err() != nil {
			level.Debug(r.logger).Log("msg", "refresh canceled", "day", closed, "err", err)
			return ctx.Err()
		}
		if err != nil {
			r.cache.failed |= 1 << d
			next := r.progress() // a failed read changes no series
			r.state.Store(&next)
			level.Warn(r.logger).Log("msg", "reading a closed day failed; month-to-date waits for it", "day", closed, "err", err)
			errs = append(errs, err)
			// Two failures in a row look like the API, not the day: the
			// next refresh tries again.
			if failedInARow++; failedInARow == 2 || errors.Is(err, fptapi.ErrUnauthorized) {
				break
			}
			continue
		}
		failedInARow = 0
		final := !readAt.Before(closed.end(r.cfg.Location).Add(r.cfg.LateWindow))
		wasMissing := !r.cache.has(d)
		r.cache.store(d, cost, res, final)
		r.save(closed, cost, res, readAt, final)
		r.publish()
		if !wasMissing {
			level.Debug(r.logger).Log("msg", "closed day read again", "day", closed, "final", final)
		} else {
			missing := r.cache.missing(day)
			// Progress at info level every 10 seconds at most, and at the
			// first and last day: a fast fill is two lines, a slow one a
			// line per day at most.
			lvl := level.Debug(r.logger)
			if now := r.now(); i == 0 || missing == 0 || now.Sub(lastProgress) >= 10*time.Second {
				lvl, lastProgress = level.Info(r.logger), now
			}
			lvl.Log("msg", "closed day read", "day", closed, "label_sets", len(cost),
				"closed_days_done", day.day-1-missing, "closed_days", day.day-1, "remaining", len(toRead)-i-1)
			if missing == 0 {
				level.Info(r.logger).Log("msg", "month-to-date complete: every closed day is in", "closed_days", day.day-1)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if r.cfg.PreviousMonth && r.cache.missing(day) == 0 {
		return r.readPreviousMonth(ctx)
	}
	return nil
}

// readPreviousMonth reads, once, the days of the month before today's
// that the store does not hold, after the current month is complete and
// after the late window of the month's last day has closed; its total is
// published when every day is in. r.mu is held.
func (r *Refresher) readPreviousMonth(ctx context.Context) error {
	today := r.today.day
	first := date{today.year, today.month - 1, 1}.normalized()
	p := &r.previous
	if p.year != first.year || p.month != first.month {
		*p = previousMonth{year: first.year, month: first.month, cost: make(dayCost)}
	}
	monthStart := date{today.year, today.month, 1}.start(r.cfg.Location)
	if p.complete || r.now().Before(monthStart.Add(r.cfg.LateWindow)) {
		return nil
	}
	days := date{today.year, today.month, 0}.normalized().day // the previous month's length
	for d := 1; d <= days; d++ {
		if p.read&(1<<d) != 0 {
			continue
		}
		day := date{first.year, first.month, d}
		cost, ok := r.loadFinal(day)
		if !ok {
			var err error
			// Only its total is served: no per-resource sums.
			if cost, err = r.readClosedDay(ctx, day, false, nil); err != nil {
				if ctx.Err() != nil {
					level.Debug(r.logger).Log("msg", "refresh canceled", "day", day, "err", err)
					return nil
				}
				if errors.Is(err, errDayChanged) {
					return nil
				}
				level.Warn(r.logger).Log("msg", "reading a day of the previous month failed; its total waits for it", "day", day, "err", err)
				return err
			}
			r.save(day, cost, nil, r.now(), true)
			level.Debug(r.logger).Log("msg", "previous month day read", "day", day)
		}
		p.cost.merge(cost)
		p.read |= 1 << d
		// The snapshot changes only when the month is complete, below.
		next := r.progress()
		r.state.Store(&next)
		if d == days {
			p.lastDay = cost
		}
	}
	p.complete = true
	level.Info(r.logger).Log("msg", "previous month complete", "month", fmt.Sprintf("%04d-%02d", first.year, first.month), "days", days)
	r.publish()
	return nil
}

// previousMissing is the number of days of the previous month not read
// yet, or -1 when the previous month is not read.
func (r *Refresher) previousMissing() int {
	if !r.cfg.PreviousMonth || r.today.usage == nil {
		return -1
	}
	day := r.today.day
	first := date{day.year, day.month - 1, 1}.normalized()
	days := date{day.year, day.month, 0}.normalized().day
	if r.previous.year != first.year || r.previous.month != first.month {
		return days
	}
	return days - bits.OnesCount64(r.previous.read)
}

// loadFinal returns a final day from the store.
func (r *Refresher) loadFinal(d date) (dayCost, bool) {
	if r.cfg.Store == nil {
		return nil, false
	}
	sd, ok, err := r.cfg.Store.Load(d.String())
	if err != nil {
		level.Warn(r.logger).Log("msg", "ignoring a stored day that cannot be trusted; reading it from the API again", "err", err)
		return nil, false
	}
	if !ok || !sd.Final {
		return nil, false
	}
	return fromStore(sd), true
}

// readClosedDay reads one closed day's costs, and its per-resource sums
// into res unless res is nil, refreshing today between two pages when that
// is due. A day seen with rows before that now has none is a failure.
func (r *Refresher) readClosedDay(ctx context.Context, d date, seen bool, res *resourceCosts) (dayCost, error) {
	cost := make(dayCost)
	_, err := r.fetchDay(ctx, d, func(page []fptapi.Bill) error {
		cost.addPage(page)
		if res != nil {
			res.addPage(page)
		}
		if !r.todayDue() {
			return nil
		}
		before := r.today.day
		_ = r.refreshToday(ctx) // logged and reported in metrics
		// A new billing day, read or not: the month cache has moved on to
		// it, and the next refresh works out what it needs.
		if dateOf(r.todayStarted.In(r.cfg.Location)) != before {
			return errDayChanged
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(cost) == 0 && seen {
		return nil, fmt.Errorf("bills of %s: %w", d, errEmptyAgain)
	}
	return cost, nil
}

// newResourceCosts returns an empty per-resource sum, or nil when top
// resources are off: then nothing is kept per resource.
func (r *Refresher) newResourceCosts() *resourceCosts {
	if r.cfg.TopResources == 0 {
		return nil
	}
	hint := 0
	if r.today.resources != nil {
		hint = len(r.today.resources.cost)
	}
	return newResourceCosts(r.cfg.MaxResources, hint)
}

func (r *Refresher) fromStore(day store.Day) (dayCost, *resourceCosts) {
	res := r.newResourceCosts()
	if res != nil {
		resourcesFromStore(day, res)
	}
	return fromStore(day), res
}

// save writes a closed day to the store. The first failure is a warning;
// the exporter runs on in memory, and says so again once every day held
// only in memory is written. The outcome reaches the metrics with the next
// published state, which every caller publishes after saving. r.mu is held.
func (r *Refresher) save(d date, cost dayCost, res *resourceCosts, readAt time.Time, final bool) {
	if r.cfg.Store == nil {
		return
	}
	day := toStore(d, cost, res, readAt, final)
	err := r.cfg.Store.Save(day)
	if errors.Is(err, store.ErrTooLarge) {
		// No disk would help: the day is served from memory, and a
		// restart reads it from the API again.
		delete(r.unsaved, day.Date)
		level.Warn(r.logger).Log("msg", "a closed day is too large for the month cache: serving it from memory; a restart reads it again",
			"day", day.Date, "err", err)
		return
	}
	r.noteSave(day, err)
	if err == nil {
		r.retrySave() // the store works: write what an earlier failure left
	}
}

// retrySave writes again, oldest first, the days whose write failed, until
// one fails again, so that a volume fixed shows in
// fptcloud_exporter_storage_ok within a refresh, not at the next closed
// day (up to a day later). r.mu is held.
func (r *Refresher) retrySave() {
	for _, date := range slices.Sorted(maps.Keys(r.unsaved)) {
		day := r.unsaved[date]
		if err := r.cfg.Store.Save(day); err != nil {
			r.noteSave(day, err)
			return
		}
		r.noteSave(day, nil)
	}
}

// noteSave records the outcome of a write of day to the store. r.mu is held.
func (r *Refresher) noteSave(day store.Day, err error) {
	failing := len(r.unsaved) > 0
	if err != nil {
		r.storeFailures++
		if r.unsaved == nil {
			r.unsaved = make(map[string]store.Day)
		}
		r.unsaved[day.Date] = day
	} else {
		delete(r.unsaved, day.Date) // written, or overwritten by a newer read of the day
	}
	switch {
	case err != nil && !failing:
		level.Warn(r.logger).Log("msg", "cannot write the month cache: running on in memory; a restart will read these days again", "err", err)
	case err != nil:
		level.Debug(r.logger).Log("msg", "cannot write the month cache", "err", err, "days_unsaved", len(r.unsaved))
	case failing && len(r.unsaved) == 0:
		level.Info(r.logger).Log("msg", "writing the month cache works again: every day held in memory is written")
	}
}

// dropUnsaved forgets the unwritten days before keepFrom (YYYY-MM-DD),
// which the store would prune anyway. r.mu is held.
func (r *Refresher) dropUnsaved(keepFrom string) {
	maps.DeleteFunc(r.unsaved, func(date string, _ store.Day) bool { return date < keepFrom })
}

// publish builds the snapshot of the last read of today and the closed
// days held, with month-to-date only when no closed day is missing.
// r.mu is held.
func (r *Refresher) publish() {
	next := r.progress()
	prev := r.state.Load()
	if r.today.usage != nil {
		complete := next.missingDays == 0
		var closed []dayCost
		if complete {
			closed = r.cache.closed()
		}
		ss, folded := combine(r.today.usage, closed, r.closedPeriods(), r.cfg.MaxSeries)
		next.snap = &snapshot{
			at:        r.today.at,
			day:       r.today.day,
			metrics:   buildMetrics(ss, complete),
			labelSets: len(ss),
			folded:    folded,

			untrackedResourceRows: -1,
		}
		// Resources are ranked by month-to-date: only a complete month
		// ranks them right.
		if complete && r.today.resources != nil {
			top, untracked := topResources(r.today.resources, r.cache.closedResources(), r.cfg.TopResources)
			next.snap.metrics = append(next.snap.metrics, buildResourceMetrics(top)...)
			next.snap.untrackedResourceRows = untracked
			if untracked > 0 && (prev.snap == nil || prev.snap.untrackedResourceRows <= 0) {
				level.Warn(r.logger).Log("msg", "more distinct resources than --collector.max-resources: the rows of the others are left out of the top resources",
					"max_resources", r.cfg.MaxResources, "rows_left_out", untracked)
			}
		}
	}
	r.state.Store(&next)
}

// closedPeriods returns yesterday's cost and the previous month's, where
// known, for the day of the last read of today.
func (r *Refresher) closedPeriods() closedPeriods {
	day := r.today.day
	var out closedPeriods
	prevMonth := date{day.year, day.month - 1, 1}.normalized()
	prevDone := r.previous.complete && r.previous.year == prevMonth.year && r.previous.month == prevMonth.month
	if prevDone {
		out.previousMonth = r.previous.cost
	}
	switch {
	case day.day > 1:
		out.yesterday = r.cache.yesterday(day)
	case prevDone:
		out.yesterday = r.previous.lastDay
	}
	return out
}

// progress is the served state with the reading progress brought up to
// date and the snapshot as it is: enough when only the progress changed.
// r.mu is held.
func (r *Refresher) progress() state {
	next := *r.state.Load()
	next.missingDays = r.cache.missing(r.today.day)
	next.previousMissing = r.previousMissing()
	next.failedDays = r.cache.failedDays()
	next.storeFailing, next.storeFailures = len(r.unsaved) > 0, r.storeFailures
	return next
}

// fetchDay runs the day's query for every filter, feeding each page to add.
func (r *Refresher) fetchDay(ctx context.Context, d date, add func([]fptapi.Bill) error) (refreshStats, error) {
	return fetchDay(ctx, r.cfg.Source, r.cfg.Location, r.filters, d, func(page []fptapi.Bill) error {
		for _, field := range r.cuts.limitPage(page) {
			level.Warn(r.logger).Log("msg", "label values longer than the limit are cut; the rows are counted in fptcloud_exporter_label_values_truncated_total",
				"field", field, "limit_bytes", MaxLabelValueBytes)
		}
		return add(page)
	})
}

// QueryFilters are the queries a day takes: each distinct filter once (the
// same filter twice would count the same rows twice), or one unfiltered
// query when there are none.
func QueryFilters(filters []fptapi.Filter) []fptapi.Filter {
	var out []fptapi.Filter
	for _, f := range filters {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = []fptapi.Filter{{}}
	}
	return out
}

// DayCosts reads one billing day (the calendar date of day in loc) through
// src and sums its total_price per label set, exactly as the exporter sums
// a closed day, for each filter (none: one unfiltered query). The result is
// in the store's form, not yet marked final.
func DayCosts(ctx context.Context, src BillSource, loc *time.Location, filters []fptapi.Filter, day time.Time) (store.Day, error) {
	filters = QueryFilters(filters)
	d := dateOf(day.In(loc))
	cost := make(dayCost)
	var cuts labelCuts // as the exporter cuts them, so that both write the same sums
	_, err := fetchDay(ctx, src, loc, filters, d, func(page []fptapi.Bill) error {
		cuts.limitPage(page)
		cost.addPage(page)
		return nil
	})
	if err != nil {
		return store.Day{}, err
	}
	return toStore(d, cost, nil, time.Now(), false), nil
}

func fetchDay(ctx context.Context, src BillSource, loc *time.Location, filters []fptapi.Filter, d date,
	add func([]fptapi.Bill) error) (refreshStats, error) {
	var st refreshStats
	for _, f := range filters {
		err := src.Bills(ctx, d.start(loc), f, func(page []fptapi.Bill) error {
			st.rows += len(page)
			st.pages++
			return add(page)
		})
		if err != nil {
			return st, fmt.Errorf("bills of %s%s: %w", d, describeFilter(f), err)
		}
	}
	return st, nil
}

func describeFilter(f fptapi.Filter) string {
	if f == (fptapi.Filter{}) {
		return ""
	}
	return " (" + f.String() + ")"
}
