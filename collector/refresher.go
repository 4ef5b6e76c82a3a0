// Package collector turns FPT Cloud bills into Prometheus metrics: a
// background Refresher fetches and aggregates them into an immutable
// snapshot, and a Collector serves the last published snapshot on scrape
// without ever calling the API.
package collector

import (
	"cmp"
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// Defaults for the zero values of Config, and the late window.
const (
	// DefaultRefreshInterval: FPT Cloud updates bills about hourly, so
	// reading more often gains nothing.
	DefaultRefreshInterval = 15 * time.Minute

	// DefaultMaxAge is how long the last good snapshot is served while
	// refreshes fail: four missed refreshes, about one update cycle of FPT
	// Cloud. Beyond it a number that silently stopped moving is worse than
	// no data. With a long RefreshInterval it grows to 3 × RefreshInterval,
	// so that one failed refresh never blanks the data.
	DefaultMaxAge = time.Hour

	// DefaultLateWindow is how long after midnight yesterday is read again:
	// FPT Cloud rates usage about hourly, so a day's last hours arrive after
	// midnight; six hours covers that run and the retries of a late one.
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
	// Account, when not "", is the account="<name>" label of every sample.
	Account         string
	Source          BillSource
	Location        *time.Location  // billing time zone; required
	Filters         []fptapi.Filter // one query per filter per day; empty -> one unfiltered query
	RefreshInterval time.Duration   // 0 -> DefaultRefreshInterval
	MaxAge          time.Duration   // billing series vanish when the served snapshot is older; 0 -> max(DefaultMaxAge, 3*RefreshInterval)
	MaxSeries       int             // cardinality guard, per metric; 0 -> DefaultMaxSeries
	Budgets         Budgets
	TopResources    int      // the most expensive resources that get series of their own; 0: none
	MaxResources    int      // distinct resources ranked per day and per month; 0 -> DefaultMaxResources
	PreviousMonth   bool     // read the previous month once the current one is complete
	Store           DayStore // closed days across restarts; nil: in memory only
	// StoreUnusable says a store was asked for but could not be opened:
	// Store is then nil, and fptcloud_exporter_storage_ok is 0 instead of
	// absent, so that a memory-only run nobody chose can be alerted on.
	StoreUnusable bool
	Now           func() time.Time // injectable clock; nil -> time.Now
	Logger        log.Logger       // nil -> log.NewNopLogger()
}

// Refresher reads bills in the background and publishes snapshots: its
// loop (Run) does one unit of work a turn (see schedule.go), and scrapes
// read only the published Snapshot.
type Refresher struct {
	cfg     Config
	filters []fptapi.Filter
	trigger chan struct{} // a read of today asked for out of schedule (SIGHUP)
	// owner is held by whoever runs the loop, Run or one Refresh: the
	// loop's data below is theirs alone, so it needs no lock.
	owner chan struct{}
	state atomic.Pointer[Snapshot]

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

// NewRefresher checks cfg and fills in the defaults of its zero values.
// The user's values are checked where they are read (internal/config):
// here only what the loop cannot run without.
func NewRefresher(cfg Config) (*Refresher, error) {
	switch {
	case cfg.Source == nil:
		return nil, errors.New("collector: no bill source")
	case cfg.Location == nil:
		return nil, errors.New("collector: no billing time zone")
	case cfg.Store != nil && cfg.StoreUnusable:
		return nil, errors.New("collector: a store that is both given and unusable")
	}
	cfg.RefreshInterval = cmp.Or(cfg.RefreshInterval, DefaultRefreshInterval)
	cfg.MaxAge = cmp.Or(cfg.MaxAge, max(DefaultMaxAge, 3*cfg.RefreshInterval))
	cfg.MaxSeries = cmp.Or(cfg.MaxSeries, DefaultMaxSeries)
	cfg.MaxResources = cmp.Or(cfg.MaxResources, DefaultMaxResources)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = log.NewNopLogger()
	}
	r := &Refresher{
		cfg:     cfg,
		filters: QueryFilters(cfg.Filters),
		trigger: make(chan struct{}, 1),
		owner:   make(chan struct{}, 1),
		saves:   saver{store: cfg.Store, logger: cfg.Logger, unsaved: make(map[billing.Date]billing.Day)},
	}
	descs := newDescs(cfg.Account)
	r.state.Store(&Snapshot{cfg: &r.cfg, descs: descs, budgets: budgetMetrics(cfg.Budgets, descs), previousMissing: -1})
	return r, nil
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
	select {
	case <-r.trigger:
		r.asked = true
	case <-time.After(d):
		r.woken = true
	case <-ctx.Done():
	}
}

// Run reads today at once, then every RefreshInterval, right after each
// billing midnight, and when triggered, until ctx is done; in between it
// reads, a page per turn, what the month still needs.
func (r *Refresher) Run(ctx context.Context) {
	r.owner <- struct{}{}
	defer func() { <-r.owner }()
	defer r.endRound()
	for ctx.Err() == nil {
		if worked, _ := r.turn(ctx); !worked { // failures are logged and published
			r.awaitTrigger(ctx, r.nextWait(r.todayStarted, r.cfg.Now()))
		}
	}
}

// Refresh reads today and publishes it, then does, turn by turn, the
// closed-day round the read opens. A failed read of today is returned at
// once; otherwise the closed days' errors are. It is Run for callers that
// drive the clock themselves, and waits while another holds the loop.
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
