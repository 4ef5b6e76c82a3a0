package collector

import (
	"context"
	"errors"
	"time"

	"github.com/go-kit/log/level"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// round is the closed-day work a successful read of today opens: the
// closed days of today's month the cache still needs (missing ones first),
// then, when the month is complete, the previous month. It is done a page
// per turn; a read of today between two pages leaves it as it is, unless
// the billing day changed, which ends it.
type round struct {
	day        billing.Date // today, when it opened
	toRead     []int        // the days of day's month to read, in order
	next       int          // index in toRead of the next day to read
	read       *closedRead  // the day being read; nil between days
	inARow     int          // closed days failed in a row
	sinceToday int          // steps since the last read of today
	errs       []error
	previous   bool // the closed days are done: the previous month is read
}

// closedRead is one closed day being read, with its sums so far.
type closedRead struct {
	*dayRead
	readAt time.Time // when the read started: it is final if that was after the late window
	cost   dayCost
	res    *resourceCosts
}

// endRound drops the round, and its read under way, if any.
func (r *Refresher) endRound() {
	if r.round != nil && r.round.read != nil {
		r.round.read.close()
	}
	r.round = nil
}

// startRead begins reading a closed day into the round; res is nil to keep
// no per-resource sums.
func (r *Refresher) startRead(d billing.Date, seen bool, res *resourceCosts) {
	c := &closedRead{readAt: r.cfg.Now(), cost: make(dayCost), res: res}
	c.dayRead = r.newDayRead(d, seen, func(page []fptapi.Bill) {
		c.cost.addPage(page)
		c.res.addPage(page)
	})
	r.round.read = c
}

// stepRead reads the next page of the round's read, and returns the read,
// with its error, once it is done.
func (rd *round) stepRead(ctx context.Context) (*closedRead, error) {
	c := rd.read
	done, err := c.step(ctx)
	if !done || ctx.Err() != nil {
		return nil, nil
	}
	rd.read = nil
	return c, err
}

// roundStep does one unit of the round: a page of the next closed day, or
// of the previous month. It returns the round's errors when it ends.
func (r *Refresher) roundStep(ctx context.Context) error {
	rd := r.round
	rd.sinceToday++
	var over bool
	if rd.previous {
		over = r.previousStep(ctx)
	} else {
		over = r.closedStep(ctx)
	}
	if ctx.Err() != nil {
		level.Debug(r.cfg.Logger).Log("msg", "refresh canceled", "err", ctx.Err())
		over = true
		rd.errs = []error{ctx.Err()}
	}
	if !over {
		return nil
	}
	r.endRound()
	return errors.Join(rd.errs...)
}

// closedStep reads a page of the next closed day and reports whether the
// round is over.
func (r *Refresher) closedStep(ctx context.Context) (over bool) {
	rd := r.round
	if rd.next == len(rd.toRead) {
		if len(rd.errs) > 0 || !r.cfg.PreviousMonth || r.cache.missing(rd.day) > 0 {
			return true
		}
		rd.previous = true
		return false
	}
	if rd.read == nil {
		d := rd.toRead[rd.next]
		r.startRead(billing.Date{Year: rd.day.Year, Month: rd.day.Month, Day: d}, r.cache.wasSeen(d), r.newResourceCosts())
	}
	c, err := rd.stepRead(ctx)
	if c == nil {
		return false
	}
	rd.next++
	if err != nil {
		return r.closedFailed(c.day, err)
	}
	rd.inARow = 0
	r.closedDone(c)
	return false
}

// closedFailed notes a failed closed day, and reports whether the round is
// over: two failures in a row look like the API, not the day, and the next
// round tries again.
func (r *Refresher) closedFailed(d billing.Date, err error) (over bool) {
	rd := r.round
	r.cache.failed |= 1 << d.Day
	r.publish(nil) // a failed read changes no series
	level.Warn(r.cfg.Logger).Log("msg", "reading a closed day failed; month-to-date waits for it", "day", d, "err", err)
	rd.errs = append(rd.errs, err)
	rd.inARow++
	return rd.inARow == 2 || errors.Is(err, fptapi.ErrUnauthorized)
}

// closedDone keeps, stores and publishes a closed day read in full.
func (r *Refresher) closedDone(c *closedRead) {
	rd := r.round
	// Final only when the read started after the late window: a row added
	// while the first pages were read may be missing from the others.
	final := !c.readAt.Before(c.day.End(r.cfg.Location).Add(DefaultLateWindow))
	wasMissing := !r.cache.has(c.day.Day)
	r.cache.store(c.day.Day, c.cost, c.res, final)
	r.saves.save(c.cost.day(c.day, c.res, c.readAt, final))
	r.rebuild()
	if !wasMissing {
		level.Debug(r.cfg.Logger).Log("msg", "closed day read again", "day", c.day, "final", final)
		return
	}
	missing, closedDays := r.cache.missing(rd.day), rd.day.Day-1
	// Progress at info at the first and last day, and every 10 seconds at
	// most in between.
	lvl := level.Debug(r.cfg.Logger)
	if now := r.cfg.Now(); rd.next == 1 || missing == 0 || now.Sub(r.lastProgress) >= 10*time.Second {
		lvl, r.lastProgress = level.Info(r.cfg.Logger), now
	}
	lvl.Log("msg", "closed day read", "day", c.day, "label_sets", len(c.cost),
		"closed_days_done", closedDays-missing, "closed_days", closedDays, "remaining", len(rd.toRead)-rd.next)
	if missing == 0 {
		level.Info(r.cfg.Logger).Log("msg", "month-to-date complete: every closed day is in", "closed_days", closedDays)
	}
}
