package collector

import (
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// Snapshot is everything a scrape serves, immutable once published: the
// billing series prebuilt, the reading's progress and outcome, and what
// configuration fixes.
type Snapshot struct {
	cfg     *Config
	budgets []prometheus.Metric
	descs   *descs  // of every sample, with the account's label when it has one
	snap    *served // the last successful read of today; nil before the first
	// attempted is false until the first read of today has ended: a
	// start still reading is neither a success nor a failure.
	attempted       bool
	tokenRejected   bool
	duration        time.Duration
	rows, pages     int
	failures        uint64         // failed reads of today since start
	failedInARow    uint64         // and since the last success: 0 when the last read succeeded
	missingDays     int            // closed days month-to-date still waits for
	previousMissing int            // days of the previous month not read; -1 when not read at all
	failedDays      []billing.Date // closed days whose last read failed
	storeFailing    bool           // a day held in memory is not written to the store
	storeFailures   uint64         // failed writes to the store since start
	cuts            labelCuts
}

// served is the billing data of a snapshot.
type served struct {
	at        time.Time    // when today's bills in it were read
	day       billing.Date // the billing day it describes as "today"
	metrics   []prometheus.Metric
	labelSets int
	folded    int
	// untrackedResourceRows counts the rows of resources beyond the
	// MaxResources cap; -1 when top resources are not served.
	untrackedResourceRows int
}

// fresh reports whether the snapshot's billing series are served at now:
// they describe today and are no older than MaxAge.
func (s *Snapshot) fresh(now time.Time) bool {
	return s.snap != nil && s.snap.day == billing.DateOf(now.In(s.cfg.Location)) && now.Sub(s.snap.at) <= s.cfg.MaxAge
}

// publish is the only writer of the published snapshot: it copies the
// current one, applies edit (nil: none), brings the reading's progress up
// to date and stores the result, which it returns.
func (r *Refresher) publish(edit func(*Snapshot)) *Snapshot {
	next := *r.state.Load()
	if edit != nil {
		edit(&next)
	}
	next.missingDays = r.cache.missing(r.today.day)
	next.previousMissing = r.previousMissing()
	next.failedDays = r.cache.failedDays()
	next.storeFailing, next.storeFailures = r.saves.failing(), r.saves.failures
	next.cuts = r.cuts
	r.state.Store(&next)
	return &next
}

// rebuild publishes the billing series anew from what is held.
func (r *Refresher) rebuild() {
	r.publish(func(s *Snapshot) { s.snap = r.build(s) })
}

// build makes the billing series of the last read of today and the closed
// days held, with month-to-date only when no closed day is missing, for
// the snapshot s is being made from; before today is read they stay s's.
func (r *Refresher) build(s *Snapshot) *served {
	prev := s.snap
	if r.today.usage == nil {
		return prev
	}
	complete := r.cache.missing(r.today.day) == 0
	var closed []dayCost
	var closedRes []*resourceCosts
	if complete {
		closed, closedRes = r.cache.closed()
	}
	yesterday, previousMonth := r.closedPeriods()
	ss, folded := combine(r.today.usage, closed, yesterday, previousMonth, r.cfg.MaxSeries)
	out := &served{
		at:                    r.today.at,
		day:                   r.today.day,
		metrics:               buildMetrics(ss, complete, s.descs),
		labelSets:             len(ss),
		folded:                folded,
		untrackedResourceRows: -1,
	}
	// Resources are ranked by month-to-date: only a complete month ranks
	// them right.
	if complete && r.today.resources != nil {
		top, untracked := topResources(r.today.resources, closedRes, r.cfg.TopResources)
		out.metrics = append(out.metrics, buildResourceMetrics(top, s.descs)...)
		out.untrackedResourceRows = untracked
		if untracked > 0 && (prev == nil || prev.untrackedResourceRows <= 0) {
			level.Warn(r.cfg.Logger).Log("msg", "more distinct resources than --collector.max-resources: the rows of the others are left out of the top resources",
				"max_resources", r.cfg.MaxResources, "rows_left_out", untracked)
		}
	}
	return out
}

// closedPeriods returns yesterday's cost and the previous month's, where
// known, for the day of the last read of today.
func (r *Refresher) closedPeriods() (yesterday, previousMonth dayCost) {
	day := r.today.day
	prevDone := r.previous.complete()
	if prevDone {
		previousMonth = r.previous.cost
	}
	switch {
	case day.Day > 1:
		yesterday = r.cache.yesterday(day)
	case prevDone:
		yesterday = r.previous.lastDay
	}
	return yesterday, previousMonth
}
