package collector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/log/level"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// today is the last complete read of the current day's bills.
type today struct {
	day       billing.Date
	usage     dayUsage
	resources *resourceCosts // nil when top resources are off
	at        time.Time
}

// readToday reads all of today's pages and publishes them. A new billing
// day is only a change of what it reads: the month cache moves on to it,
// and the round of the day before ends; a successful read opens a round.
func (r *Refresher) readToday(ctx context.Context) error {
	r.saves.retry() // a volume fixed shows in fptcloud_exporter_storage_ok within a refresh
	day := billing.DateOf(r.cfg.Now().In(r.cfg.Location))
	r.startDay(day) // loading the store is not part of the read's duration
	start := r.cfg.Now()
	if d := billing.DateOf(start.In(r.cfg.Location)); d != day {
		// Loading the store ran past billing midnight: read the new day.
		day = d
		r.startDay(day)
	}
	r.todayStarted = start
	asked := r.asked
	r.asked, r.woken = false, false
	if r.round != nil && r.round.day != day {
		r.endRound() // its closed days are another day's
	}
	if r.round != nil {
		r.round.sinceToday = 0
	}

	usage := make(dayUsage, len(r.today.usage))
	res := r.newResourceCosts()
	read := r.newDayRead(day, r.cache.wasSeen(day.Day), func(page []fptapi.Bill) {
		usage.addPage(page)
		res.addPage(page)
	})
	err := read.all(ctx)
	st := read.st
	r.todayEnded = r.cfg.Now()
	dur := r.todayEnded.Sub(start)
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: not an API failure worth reporting.
		level.Debug(r.cfg.Logger).Log("msg", "refresh canceled", "err", err)
		return err
	case err != nil:
		r.todayFailed(err, dur, st)
		return err
	case len(usage) > 0:
		r.cache.markSeen(day.Day)
	}
	r.today = today{day: day, usage: usage, resources: res, at: r.todayEnded}
	r.todayRead(dur, st, asked)
	if r.round == nil {
		r.round = &round{day: day, toRead: r.cache.toRead(day)}
	}
	return nil
}

// todayFailed publishes and logs a failed read of today; the last good
// snapshot stays served.
func (r *Refresher) todayFailed(err error, dur time.Duration, st readStats) {
	prev := r.state.Load()
	next := r.publish(func(s *Snapshot) {
		s.attempted, s.duration, s.rows, s.pages = true, dur, st.rows, st.pages
		s.failures++
		s.failedInARow++
		s.tokenRejected = errors.Is(err, fptapi.ErrUnauthorized)
	})
	lvl := level.Warn(r.cfg.Logger)
	if next.tokenRejected || prev.snap == nil {
		lvl = level.Error(r.cfg.Logger)
	}
	kv := []any{"msg", "refresh failed", "err", err, "duration", dur, "rows", st.rows, "pages", st.pages}
	if prev.snap != nil {
		kv = append(kv, "serving_snapshot_from", prev.snap.at.Format(time.RFC3339))
	}
	lvl.Log(kv...)
}

// todayRead publishes a successful read of today, and logs it.
func (r *Refresher) todayRead(dur time.Duration, st readStats, asked bool) {
	prev := r.state.Load()
	day := r.today.day
	next := r.publish(func(s *Snapshot) {
		s.attempted, s.duration, s.rows, s.pages = true, dur, st.rows, st.pages
		s.tokenRejected, s.failedInARow = false, 0
		s.snap = r.build(s)
	})
	logger := r.cfg.Logger
	switch {
	case prev.snap == nil:
		level.Info(logger).Log("msg", "first refresh succeeded: serving today's bills", "day", day,
			"rows", st.rows, "pages", st.pages, "duration", dur, "closed_day_reads_missing", next.missingDays)
	case prev.failedInARow > 0:
		level.Info(logger).Log("msg", "refresh succeeded again", "failed_refreshes", prev.failedInARow, "day", day)
	}
	if folded := next.snap.folded; folded > 0 {
		level.Warn(logger).Log("msg", "label sets over --collector.max-series folded into __other__",
			"max_series", r.cfg.MaxSeries, "folded", folded)
	}
	lvl := level.Debug(logger)
	if asked {
		lvl = level.Info(logger) // whoever asked sees it end
	}
	lvl.Log("msg", "refresh of today done", "day", day, "rows", st.rows, "pages", st.pages, "duration", dur)
	slow := dur > r.cfg.RefreshInterval
	if slow && !r.todaySlow {
		level.Warn(logger).Log("msg", "reading today took longer than --collector.refresh-interval: the API is read without pause; raise the interval, or --fpt.rate-limit if the API allows",
			"duration", dur, "refresh_interval", r.cfg.RefreshInterval, "pages", st.pages)
	}
	r.todaySlow = slow
}

// startDay prepares the month cache and the previous month for day: a new
// month starts afresh from what the store holds; after midnight the last
// read of yesterday is kept until yesterday is read again as a closed day.
func (r *Refresher) startDay(day billing.Date) {
	if r.cache.forDay(day) {
		r.today = today{}
		r.labels = make(labelTable) // no resource of the month before is kept
		r.loadStore(day)
	}
	if last := day.MonthStart().AddDays(-1); r.previous.month != last {
		r.previous = previousMonth{month: last, cost: make(dayCost)}
	}
	yesterday := day.AddDays(-1)
	if r.today.day == yesterday && !r.cache.has(yesterday.Day) && len(r.today.usage) > 0 {
		r.cache.store(yesterday.Day, r.today.usage.costs(), r.today.resources, false)
	}
}

// loadStore fills the month cache with the closed days before day that the
// store holds, and prunes the earlier months.
func (r *Refresher) loadStore(day billing.Date) {
	if r.cfg.Store == nil {
		return
	}
	logger := r.cfg.Logger
	loaded, foreign := 0, 0
	var firstForeign error
	for d := 1; d < day.Day; d++ {
		closed := billing.Date{Year: day.Year, Month: day.Month, Day: d}
		sd, ok, err := r.cfg.Store.Load(closed)
		switch {
		case errors.Is(err, store.ErrOtherIdentity):
			// A change of configuration: one line, not one per day.
			if foreign++; foreign == 1 {
				firstForeign = err
			}
		case err != nil:
			level.Warn(logger).Log("msg", "ignoring a stored day that cannot be trusted; reading it from the API again", "err", err)
		case !ok:
		case r.cfg.TopResources > 0 && !sd.PerResource:
			// Written without per-resource sums (by a backfill, or with
			// the ranking off): the resources' month needs the day again.
			level.Debug(logger).Log("msg", "stored day has no per-resource sums; reading it again", "day", closed)
		default:
			res := r.newResourceCosts()
			res.addDay(sd)
			r.cache.store(d, costsOf(sd), res, sd.Final)
			loaded++
		}
	}
	if foreign > 0 {
		level.Warn(logger).Log("msg", "stored days were read with another configuration; reading them from the API again",
			"days", foreign, "first", firstForeign)
	}
	// The previous month's days stay: its total is served all month.
	keepFrom := day.MonthStart().AddDays(-1).MonthStart()
	r.saves.dropBefore(keepFrom)
	if err := r.cfg.Store.Prune(keepFrom); err != nil {
		level.Warn(logger).Log("msg", "could not remove the stored days of earlier months", "err", err)
	}
	level.Info(logger).Log("msg", "month cache loaded from the store", "month", fmt.Sprintf("%04d-%02d", day.Year, day.Month),
		"closed_days_loaded", loaded, "closed_days", day.Day-1)
}

// newResourceCosts returns an empty per-resource sum, or nil when top
// resources are off.
func (r *Refresher) newResourceCosts() *resourceCosts {
	if r.cfg.TopResources <= 0 {
		return nil
	}
	hint := 0
	if r.today.resources != nil {
		hint = len(r.today.resources.cost) // a day about as large as the last
	}
	return newResourceCosts(r.labels, r.cfg.MaxResources, hint)
}
