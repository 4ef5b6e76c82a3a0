package collector

import (
	"context"
	"errors"
	"fmt"
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
	day    billing.Date // today, when it opened
	toRead []int        // the days of day's month to read, in order
	next   int          // index in toRead of the next day to read
	read   *closedRead  // the day being read; nil between days
	inARow int          // closed days failed in a row
	// sinceToday counts the round's steps since the last read of today.
	sinceToday int
	errs       []error
	// previous is true once the closed days are done and the previous
	// month is being read.
	previous bool
}

// closedRead is one closed day being read, with its sums so far.
type closedRead struct {
	*dayRead
	seen   bool      // the day was seen with rows before: none now is a failure
	readAt time.Time // when the read started: it is final if that was after the late window
	cost   dayCost
	res    *resourceCosts // nil: no per-resource sums
}

func (r *Refresher) startRound() {
	day := r.today.day
	r.round = &round{day: day, toRead: r.cache.toRead(day)}
}

// endRound drops the round, and its read under way, if any.
func (r *Refresher) endRound() {
	if r.round != nil && r.round.read != nil {
		r.round.read.close()
	}
	r.round = nil
}

// startRead begins reading a closed day: res is nil to keep no
// per-resource sums.
func (r *Refresher) startRead(d billing.Date, seen bool, res *resourceCosts) *closedRead {
	c := &closedRead{seen: seen, readAt: r.now(), cost: make(dayCost), res: res}
	c.dayRead = newDayRead(r.cfg.Source, r.cfg.Location, r.filters, d, func(page []fptapi.Bill) {
		r.limit(page)
		c.cost.addPage(page)
		if c.res != nil {
			c.res.addPage(page)
		}
	})
	return c
}

// step reads the read's next page: done when the day is complete or failed.
func (c *closedRead) step(ctx context.Context) (bool, error) {
	done, err := c.dayRead.step(ctx)
	if done && err == nil && len(c.cost) == 0 && c.seen {
		err = fmt.Errorf("bills of %s: %w", c.day, errEmptyAgain)
	}
	return done, err
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
		level.Debug(r.logger).Log("msg", "refresh canceled", "err", ctx.Err())
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
	d := rd.toRead[rd.next]
	if rd.read == nil {
		rd.read = r.startRead(billing.Date{Year: rd.day.Year, Month: rd.day.Month, Day: d}, r.cache.wasSeen(d), r.newResourceCosts())
	}
	done, err := rd.read.step(ctx)
	if !done || ctx.Err() != nil {
		return false
	}
	c := rd.read
	rd.read = nil
	rd.next++
	if err != nil {
		return r.closedFailed(c.day, err)
	}
	rd.inARow = 0
	r.closedDone(c, len(rd.toRead)-rd.next)
	return false
}

// closedFailed notes a failed closed day, and reports whether the round is
// over: two failures in a row look like the API, not the day, and the next
// round tries again.
func (r *Refresher) closedFailed(d billing.Date, err error) (over bool) {
	rd := r.round
	r.cache.failed |= 1 << d.Day
	r.publish(nil) // a failed read changes no series
	level.Warn(r.logger).Log("msg", "reading a closed day failed; month-to-date waits for it", "day", d, "err", err)
	rd.errs = append(rd.errs, err)
	rd.inARow++
	return rd.inARow == 2 || errors.Is(err, fptapi.ErrUnauthorized)
}

// closedDone keeps, stores and publishes a closed day read in full.
func (r *Refresher) closedDone(c *closedRead, remaining int) {
	day := r.round.day
	// Final when the read started after the late window: a row added
	// while the first pages were read may be missing from a read that
	// only ended after it.
	final := !c.readAt.Before(c.day.End(r.cfg.Location).Add(r.cfg.LateWindow))
	wasMissing := !r.cache.has(c.day.Day)
	r.cache.store(c.day.Day, c.cost, c.res, final)
	r.saves.save(c.cost.day(c.day, c.res, c.readAt, final))
	r.rebuild()
	if !wasMissing {
		level.Debug(r.logger).Log("msg", "closed day read again", "day", c.day, "final", final)
		return
	}
	missing := r.cache.missing(day)
	// Progress at info level every 10 seconds at most, and at the first
	// and last day: a fast fill is two lines, a slow one a line per day at
	// most.
	lvl := level.Debug(r.logger)
	if now := r.now(); r.round.next == 1 || missing == 0 || now.Sub(r.lastProgress) >= 10*time.Second {
		lvl, r.lastProgress = level.Info(r.logger), now
	}
	lvl.Log("msg", "closed day read", "day", c.day, "label_sets", len(c.cost),
		"closed_days_done", day.Day-1-missing, "closed_days", day.Day-1, "remaining", remaining)
	if missing == 0 {
		level.Info(r.logger).Log("msg", "month-to-date complete: every closed day is in", "closed_days", day.Day-1)
	}
}
