package collector

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/go-kit/log/level"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// readStats describes what one read of a day brought.
type readStats struct {
	rows, pages int
}

// dayRead reads one day's bills a page at a time: every step makes one
// request (the filters' queries one after the other) and hands its page to
// add, so that the loop can read today between two pages of a closed day.
type dayRead struct {
	src     BillSource
	loc     *time.Location
	day     billing.Date
	seen    bool            // the day was seen with rows before: none now is a failure
	filters []fptapi.Filter // the queries not started yet
	add     func([]fptapi.Bill)
	st      readStats

	filter fptapi.Filter // the query under way
	next   func() ([]fptapi.Bill, error, bool)
	stop   func()
}

// errEmptyAgain is the failure of a read that found no rows for a day
// already seen with rows. An API answers "nothing" while its index is
// rebuilt, too: publishing that would show spend dropping to zero.
var errEmptyAgain = errors.New("the API returned no rows for a day it returned rows for before")

// errStopped ends a query the reader no longer wants.
var errStopped = errors.New("read stopped")

// step reads the next page: done once every query has ended, or at the
// first error, which names the day and the filter.
func (d *dayRead) step(ctx context.Context) (done bool, err error) {
	if d.next == nil {
		if len(d.filters) == 0 {
			return true, nil
		}
		d.filter, d.filters = d.filters[0], d.filters[1:]
		d.next, d.stop = iter.Pull2(pages(ctx, d.src, d.day.Start(d.loc), d.filter))
	}
	page, err, ok := d.next()
	switch {
	case !ok: // the query ended: the next one starts at the next step
		d.close()
		if len(d.filters) == 0 && d.st.rows == 0 && d.seen {
			return true, fmt.Errorf("bills of %s: %w", d.day, errEmptyAgain)
		}
		return len(d.filters) == 0, nil
	case err != nil:
		d.close()
		return true, fmt.Errorf("bills of %s%s: %w", d.day, describeFilter(d.filter), err)
	}
	d.st.rows += len(page)
	d.st.pages++
	d.add(page)
	return false, nil
}

// all reads every page that is left, in one unit of work.
func (d *dayRead) all(ctx context.Context) error {
	for {
		if done, err := d.step(ctx); done || err != nil {
			return err
		}
	}
}

// close ends the query under way, if any.
func (d *dayRead) close() {
	if d.stop != nil {
		d.stop()
	}
	d.next, d.stop = nil, nil
}

// pages is one query's pages, then its error if it failed. A page is valid
// until the next one is asked for.
func pages(ctx context.Context, src BillSource, day time.Time, f fptapi.Filter) iter.Seq2[[]fptapi.Bill, error] {
	return func(yield func([]fptapi.Bill, error) bool) {
		stopped := false
		err := src.Bills(ctx, day, f, func(page []fptapi.Bill) error {
			if !yield(page, nil) {
				stopped = true
				return errStopped
			}
			return nil
		})
		if err != nil && !stopped {
			yield(nil, err)
		}
	}
}

// newDayRead returns a read of day through the reader's source and
// filters, which cuts the pages' over-long label values before add.
func (r *Refresher) newDayRead(day billing.Date, seen bool, add func([]fptapi.Bill)) *dayRead {
	return &dayRead{src: r.cfg.Source, loc: r.cfg.Location, day: day, seen: seen, filters: r.filters, add: func(page []fptapi.Bill) {
		r.limit(page)
		add(page)
	}}
}

// limit cuts the page's over-long label values, logging each field the
// first time.
func (r *Refresher) limit(page []fptapi.Bill) {
	for _, field := range r.cuts.limitPage(page) {
		level.Warn(r.cfg.Logger).Log("msg", "label values longer than the limit are cut; the rows are counted in fptcloud_exporter_label_values_truncated_total",
			"field", field, "limit_bytes", MaxLabelValueBytes)
	}
}

// QueryFilters are the queries a day takes: each distinct filter once (twice
// would count rows twice), or one unfiltered query when there are none.
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

// DayCosts reads the billing day of day in loc through src, one query per
// filter, and sums it exactly as the exporter sums a closed day, not final.
func DayCosts(ctx context.Context, src BillSource, loc *time.Location, filters []fptapi.Filter, day time.Time) (billing.Day, error) {
	d := billing.DateOf(day.In(loc))
	cost := make(dayCost)
	var cuts labelCuts // as the exporter cuts them, so that both write the same sums
	rd := &dayRead{src: src, loc: loc, day: d, filters: QueryFilters(filters), add: func(page []fptapi.Bill) {
		cuts.limitPage(page)
		cost.addPage(page)
	}}
	if err := rd.all(ctx); err != nil {
		return billing.Day{}, err
	}
	return cost.day(d, nil, time.Now(), false), nil
}

func describeFilter(f fptapi.Filter) string {
	if f == (fptapi.Filter{}) {
		return ""
	}
	return " (" + f.String() + ")"
}
