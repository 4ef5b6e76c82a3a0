// Package billing holds the vocabulary that the reader, the store and
// backfill share: the five billing label values of a series, a calendar
// day in the billing time zone and a closed day's sums. It has no
// dependencies of its own, so that every other package can speak it without
// importing one another.
package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Labels is the five label values of a billing series, exactly as the API
// sent them: the aggregation key of every sum the exporter keeps.
type Labels struct {
	VPCID, VPCName, Service, BillingGroup, Tag string
}

// Compare orders label sets by vpc_id, vpc_name, service, billing_group, tag.
func Compare(a, b Labels) int {
	return cmp.Or(
		strings.Compare(a.VPCID, b.VPCID), strings.Compare(a.VPCName, b.VPCName),
		strings.Compare(a.Service, b.Service), strings.Compare(a.BillingGroup, b.BillingGroup),
		strings.Compare(a.Tag, b.Tag),
	)
}

// Clone copies the strings in one allocation, so that a kept key never
// pins a decoder's page-sized buffer. It is meant to run once per new label
// set, never per row.
func (l Labels) Clone() Labels {
	all := l.VPCID + l.VPCName + l.Service + l.BillingGroup + l.Tag
	cut := func(s string) string {
		v := all[:len(s)]
		all = all[len(s):]
		return v
	}
	return Labels{VPCID: cut(l.VPCID), VPCName: cut(l.VPCName), Service: cut(l.Service), BillingGroup: cut(l.BillingGroup), Tag: cut(l.Tag)}
}

// Date is a calendar day in the billing time zone. Its zero value is not a
// day; construct one with DateOf or NewDate.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is the calendar day of t in t's own location.
func DateOf(t time.Time) Date { y, m, d := t.Date(); return Date{y, m, d} }

// NewDate is the real day that year, month and day name, normalized as
// time.Date does: NewDate(2026, 11, 0) is 2026-10-31.
func NewDate(year int, month time.Month, day int) Date {
	return DateOf(time.Date(year, month, day, 12, 0, 0, 0, time.UTC))
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("parse date %q: %w", s, err)
	}
	return DateOf(t), nil
}

// String is YYYY-MM-DD, the API's search_date and the store's file name.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Start is the day's midnight in loc.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// End is the next day's midnight in loc: the instant the day closes.
func (d Date) End(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, loc)
}

// AddDays is the day n days later (earlier when n is negative).
func (d Date) AddDays(n int) Date { return NewDate(d.Year, d.Month, d.Day+n) }

// MonthStart is the 1st of d's month.
func (d Date) MonthStart() Date { return Date{d.Year, d.Month, 1} }

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return CompareDates(d, o) < 0 }

// CompareDates orders days in time.
func CompareDates(a, b Date) int {
	return cmp.Or(cmp.Compare(a.Year, b.Year), cmp.Compare(a.Month, b.Month), cmp.Compare(a.Day, b.Day))
}

// Day is one closed billing day's sums: what the reader keeps of a day,
// what the store writes and what backfill serves. Costs and Resources are
// sorted (see Sort), so that the same sums always make the same file.
type Day struct {
	Date   Date // in the billing time zone
	ReadAt time.Time
	// Final is true when the day was read after its late window closed:
	// it will not be read again. A day that is not final is read again.
	Final bool
	Costs []Cost
	// PerResource is true when the day carries per-resource sums: the
	// exporter ranking the most expensive resources writes them, a backfill
	// does not. UntrackedResourceRows counts the rows of resources beyond
	// the exporter's cap, which are not in Resources.
	PerResource           bool
	Resources             []ResourceCost
	UntrackedResourceRows int
}

// Cost is the sum of total_price of one label set on one day, in VND.
type Cost struct {
	Labels
	TotalPrice float64
}

// ResourceCost is the sum of total_price of one resource (infra_id and
// name) in one label set on one day, in VND.
type ResourceCost struct {
	Labels
	InfraID, Name string
	TotalPrice    float64
}

// Sort orders Costs by label set, Resources by label set, infra_id, name.
func (d *Day) Sort() {
	slices.SortFunc(d.Costs, func(a, b Cost) int { return Compare(a.Labels, b.Labels) })
	slices.SortFunc(d.Resources, func(a, b ResourceCost) int {
		return cmp.Or(Compare(a.Labels, b.Labels), strings.Compare(a.InfraID, b.InfraID), strings.Compare(a.Name, b.Name))
	})
}
