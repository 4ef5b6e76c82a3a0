package collector

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// otherLabel is the value of every label of the series that the cardinality
// guard folds the cheapest label sets into.
const otherLabel = "__other__"

func keyOf(b *fptapi.Bill) billing.Labels {
	return billing.Labels{VPCID: b.VPCID, VPCName: b.VPCName, Service: b.Service, BillingGroup: b.BillingGroupName, Tag: b.Tag}
}

// sanitized replaces invalid UTF-8, which the Prometheus registry rejects
// (one bad value would fail the whole scrape), from sources other than JSON.
func sanitized(k billing.Labels) billing.Labels {
	return billing.Labels{VPCID: valid(k.VPCID), VPCName: valid(k.VPCName), Service: valid(k.Service), BillingGroup: valid(k.BillingGroup), Tag: valid(k.Tag)}
}

// valid replaces invalid UTF-8 in a label value.
func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// vnd is a sum of amounts in VND, compensated (Neumaier) so that adding
// many amounts with a few decimals keeps its error near one rounding of the
// total instead of one per amount: value() then rounds away the residue.
type vnd struct{ sum, comp float64 }

func (s *vnd) add(x float64) {
	t := s.sum + x
	if math.Abs(s.sum) >= math.Abs(x) {
		s.comp += (s.sum - t) + x
	} else {
		s.comp += (x - t) + s.sum
	}
	s.sum = t
}

func (s *vnd) merge(o vnd) {
	s.add(o.sum)
	s.add(o.comp)
}

// vndPrecision is the precision of published amounts, a millionth of a
// dong: a total of amounts with up to six decimals is published as that
// decimal (344183.5, not 344183.50000000006).
const vndPrecision = 1e6

// value is the sum rounded to vndPrecision, or as it is past 2^53/vndPrecision
// (about nine billion VND), where a float64 has no such digits left.
func (s vnd) value() float64 {
	v := s.sum + s.comp
	if math.Abs(v) >= (1<<53)/vndPrecision {
		return v
	}
	return math.Round(v*vndPrecision) / vndPrecision
}

// RoundVND rounds an amount as the exporter publishes amounts: to a
// millionth of a dong (see vnd.value).
func RoundVND(v float64) float64 { return vnd{sum: v}.value() }

// usage holds today's sums for one label set.
type usage struct {
	cost                                     vnd
	vcpu, ram, disk, cpuQty, ramQty, diskQty float64
}

func (u *usage) add(b *fptapi.Bill) {
	u.cost.add(b.TotalPrice)
	u.vcpu += b.VCPU
	u.ram += b.RAM
	u.disk += b.Disk
	u.cpuQty += b.CPUQuantity
	u.ramQty += b.RAMQuantity
	u.diskQty += b.DiskQuantity
}

func (u *usage) merge(o *usage) {
	u.cost.merge(o.cost)
	u.vcpu += o.vcpu
	u.ram += o.ram
	u.disk += o.disk
	u.cpuQty += o.cpuQty
	u.ramQty += o.ramQty
	u.diskQty += o.diskQty
}

// dayUsage sums today's rows per label set; rows are dropped once added.
type dayUsage map[billing.Labels]*usage

func (d dayUsage) addPage(page []fptapi.Bill) {
	for i := range page {
		b := &page[i]
		k := keyOf(b)
		u := d[k]
		if u == nil {
			u = new(usage)
			d[k.Clone()] = u
		}
		u.add(b)
	}
}

// costs is today's cost per label set, as a closed day keeps it.
func (d dayUsage) costs() dayCost {
	out := make(dayCost, len(d))
	for k, u := range d {
		out[k] = u.cost
	}
	return out
}

// dayCost sums a closed day's total_price per label set: all month-to-date
// needs of it.
type dayCost map[billing.Labels]vnd

func (d dayCost) addPage(page []fptapi.Bill) {
	for i := range page {
		b := &page[i]
		d.add(keyOf(b), b.TotalPrice)
	}
}

func (d dayCost) add(k billing.Labels, x float64) {
	v, ok := d[k]
	if !ok {
		k = k.Clone()
	}
	v.add(x)
	d[k] = v
}

func (d dayCost) merge(o dayCost) {
	for k, c := range o {
		v := d[k]
		v.merge(c)
		d[k] = v
	}
}

// series is one label set of a snapshot: today's usage (when the label set
// has rows today), its month-to-date cost, and the closed periods, when
// known: yesterday and the previous month.
type series struct {
	key                                      billing.Labels
	today                                    usage
	mtd, yesterday, previousMonth            vnd
	hasToday, hasYesterday, hasPreviousMonth bool
}

func (s *series) merge(o *series) {
	s.today.merge(&o.today)
	s.mtd.merge(o.mtd)
	s.yesterday.merge(o.yesterday)
	s.previousMonth.merge(o.previousMonth)
	s.hasToday = s.hasToday || o.hasToday
	s.hasYesterday = s.hasYesterday || o.hasYesterday
	s.hasPreviousMonth = s.hasPreviousMonth || o.hasPreviousMonth
}

// combine joins today's usage, the closed days' costs and those of
// yesterday and the previous month (nil while not known) into one series
// per label set, unsorted. Beyond maxSeries, all but the maxSeries-1 most
// expensive by month-to-date are folded into one __other__ series (sums
// stay exact); it returns how many were folded.
func combine(today dayUsage, closed []dayCost, yesterday, previousMonth dayCost, maxSeries int) ([]series, int) {
	idx := make(map[billing.Labels]int, len(today))
	var out []series
	get := func(k billing.Labels) *series {
		k = sanitized(k)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, series{key: k})
		}
		return &out[i]
	}
	for k, u := range today {
		get(k).merge(&series{today: *u, hasToday: true, mtd: u.cost})
	}
	for _, d := range closed {
		for k, c := range d {
			get(k).mtd.merge(c)
		}
	}
	for k, c := range yesterday {
		get(k).merge(&series{yesterday: c, hasYesterday: true})
	}
	for k, c := range previousMonth {
		get(k).merge(&series{previousMonth: c, hasPreviousMonth: true})
	}
	if len(out) <= maxSeries {
		return out, 0
	}

	other := series{key: billing.Labels{VPCID: otherLabel, VPCName: otherLabel, Service: otherLabel, BillingGroup: otherLabel, Tag: otherLabel}}
	// A real label set that is all "__other__" would collide with the
	// fold series: it goes into it, without counting as folded.
	if i, ok := idx[other.key]; ok {
		other = out[i]
		out[i] = out[len(out)-1]
		out = out[:len(out)-1]
	}
	// Most expensive first; ties by key so the same label sets are folded
	// on every refresh instead of flapping.
	slices.SortFunc(out, func(a, b series) int {
		return cmp.Or(cmp.Compare(b.mtd.value(), a.mtd.value()), billing.Compare(a.key, b.key))
	})
	keep := max(maxSeries-1, 0)
	for i := range out[keep:] {
		other.merge(&out[keep+i])
	}
	folded := len(out) - keep
	return append(out[:keep], other), folded
}

// day returns the day's costs as the shared day type, sorted, with the
// per-resource sums of res unless res is nil.
func (d dayCost) day(date billing.Date, res *resourceCosts, readAt time.Time, final bool) billing.Day {
	out := billing.Day{Date: date, ReadAt: readAt.UTC(), Final: final, Costs: make([]billing.Cost, 0, len(d))}
	for k, v := range d {
		out.Costs = append(out.Costs, billing.Cost{Labels: k, TotalPrice: v.sum + v.comp})
	}
	if res != nil {
		out.PerResource = true
		out.UntrackedResourceRows = res.dropped
		out.Resources = res.costs()
	}
	out.Sort()
	return out
}

// costsOf sums a day's costs per label set.
func costsOf(day billing.Day) dayCost {
	out := make(dayCost, len(day.Costs))
	for _, c := range day.Costs {
		out.add(c.Labels, c.TotalPrice)
	}
	return out
}
