// Package collector turns FPT Cloud bills into Prometheus metrics: a
// background Refresher fetches and aggregates them into an immutable
// snapshot, and a Collector serves the last published snapshot on scrape
// without ever calling the API.
package collector

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
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
	Load(date billing.Date) (billing.Day, bool, error)
	Save(day billing.Day) error
	// Prune removes the days before keepFrom.
	Prune(keepFrom billing.Date) error
}

// Budgets are exposed as gauges so that alerts compare against them.
type Budgets struct {
	Daily, Monthly float64 // 0 = not set
	// Per billing group; a group present in the map is set.
	GroupDaily, GroupMonthly map[string]float64
}

// Config configures a Refresher.
type Config struct {
	// Account, when not "", is the account="<name>" label of every sample
	// the reader's snapshot serves, for an exporter of several accounts.
	Account         string
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

// Refresher reads bills in the background and publishes snapshots. Its
// loop (Run) asks, turn after turn, what the next unit of work is: today
// when it is due, else one page of the closed days the month still needs,
// else the previous month, else nothing until something is due (see
// schedule.go). Scrapes read only the published Snapshot.
type Refresher struct {
	cfg     Config
	now     func() time.Time
	logger  log.Logger
	filters []fptapi.Filter
	fixed   *fixed        // the part of every snapshot that configuration decides
	trigger chan struct{} // a refresh of today asked for out of schedule (SIGHUP)
	// owner is held by whoever runs the loop, Run or one Refresh: the
	// loop's data below is theirs alone, so it needs no lock.
	owner chan struct{}
	state atomic.Pointer[Snapshot]

	loop
}

// loop is the reader's own data: what it has read and what it does next.
type loop struct {
	asked        bool // a trigger was received and today not yet read for it
	woken        bool // the wait for today's next read is over
	cache        monthCache
	previous     previousMonth
	today        today
	labels       labelTable // the month's label sets, shared by its resources
	todayStarted time.Time  // when the last read of today started
	todayEnded   time.Time  // and when it ended
	todaySlow    bool       // reading today took longer than the interval, and that was logged
	round        *round     // the closed-day work under way; nil when there is none
	saves        saver
	cuts         labelCuts
	lastProgress time.Time // when a closed day's progress was last logged at info
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
	day       billing.Date
	usage     dayUsage
	resources *resourceCosts // nil when top resources are off
	at        time.Time
}

// NewRefresher checks cfg and fills in defaults.
func NewRefresher(cfg Config) (*Refresher, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	r := &Refresher{
		cfg:     cfg,
		now:     cfg.Now,
		logger:  cfg.Logger,
		filters: QueryFilters(cfg.Filters),
		trigger: make(chan struct{}, 1),
		owner:   make(chan struct{}, 1),
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.logger == nil {
		r.logger = log.NewNopLogger()
	}
	r.saves = saver{store: cfg.Store, logger: r.logger}
	r.labels = make(labelTable)
	r.fixed = &fixed{
		now: r.now, loc: cfg.Location, refreshInterval: cfg.RefreshInterval, maxAge: cfg.MaxAge,
		storage: cfg.Store != nil || cfg.StoreUnusable, storeOpen: cfg.Store != nil,
	}
	r.fixed.descs = newDescs(cfg.Account)
	r.fixed.budgets = budgetMetrics(cfg.Budgets, r.fixed.descs)
	r.state.Store(&Snapshot{fixed: r.fixed, previousMissing: -1})
	return r, nil
}

// check refuses a Config no default can mend.
func check(cfg Config) error {
	switch {
	case cfg.Source == nil:
		return errors.New("collector: no bill source")
	case cfg.Location == nil:
		return errors.New("collector: no billing time zone")
	case cfg.RefreshInterval < 0:
		return fmt.Errorf("collector: negative refresh interval %s", cfg.RefreshInterval)
	case cfg.MaxAge < 0:
		return fmt.Errorf("collector: negative max age %s", cfg.MaxAge)
	case cfg.LateWindow < 0:
		return fmt.Errorf("collector: negative late window %s", cfg.LateWindow)
	case cfg.MaxSeries < 0:
		return fmt.Errorf("collector: negative max series %d", cfg.MaxSeries)
	case cfg.TopResources < 0 || cfg.MaxResources < 0:
		return fmt.Errorf("collector: negative top resources %d or max resources %d", cfg.TopResources, cfg.MaxResources)
	case cfg.Store != nil && cfg.StoreUnusable:
		return errors.New("collector: a store that is both given and unusable")
	}
	return nil
}

// withDefaults checks cfg and fills in the defaults of its zero values.
func withDefaults(cfg Config) (Config, error) {
	if err := check(cfg); err != nil {
		return cfg, err
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
		return cfg, fmt.Errorf("collector: max age %s is shorter than the refresh interval %s", cfg.MaxAge, cfg.RefreshInterval)
	}
	if cfg.LateWindow == 0 {
		cfg.LateWindow = DefaultLateWindow
	}
	if cfg.MaxSeries == 0 {
		cfg.MaxSeries = DefaultMaxSeries
	}
	return cfg, nil
}

// Snapshot returns the last published snapshot: what a scrape serves.
func (r *Refresher) Snapshot() *Snapshot { return r.state.Load() }

// Ready reports whether today's series are being served.
func (r *Refresher) Ready() bool { return r.state.Load().snap != nil }

// Trigger asks Run for a read of today now, out of schedule (after a
// token rotation, say). It never blocks; triggers while one is pending
// make one read.
func (r *Refresher) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// awaitTrigger waits up to d for a trigger (not at all when d <= 0) and
// notes one received. It is the only receiver of the trigger channel.
func (r *Refresher) awaitTrigger(ctx context.Context, d time.Duration) {
	if d <= 0 {
		select {
		case <-r.trigger:
			r.asked = true
		default:
		}
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.trigger:
		r.asked = true
	case <-t.C:
		r.woken = true
	case <-ctx.Done():
	}
}

// Run reads today at once, then every RefreshInterval, right after each
// midnight in the billing time zone, and when triggered, until ctx is done;
// between two reads of today it reads, a page per turn, what the month
// still needs.
func (r *Refresher) Run(ctx context.Context) {
	r.owner <- struct{}{}
	defer func() { <-r.owner }()
	defer r.endRound()
	for ctx.Err() == nil {
		if worked, _ := r.turn(ctx); !worked { // failures are logged and published
			r.awaitTrigger(ctx, r.nextWait(r.todayStarted, r.now()))
		}
	}
}

// Refresh reads today's bills and publishes them, then does, turn by turn,
// the closed-day round that the read opens: the closed days of the month
// not held yet (month-to-date is published once every one of them is in),
// those whose late window was open when last read, and the previous month.
// A failed read of today is returned at once; otherwise the errors of the
// closed days are. Run does the same on its schedule; Refresh is for
// callers that drive the clock themselves, and waits while Run or another
// Refresh holds the loop.
func (r *Refresher) Refresh(ctx context.Context) error {
	r.owner <- struct{}{}
	defer func() { <-r.owner }()
	defer r.endRound()
	if err := r.readToday(ctx); err != nil {
		return err
	}
	var errs []error
	for r.round != nil && ctx.Err() == nil {
		if _, err := r.turn(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
