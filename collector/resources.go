package collector

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// DefaultTopResources is how many of the most expensive resources get
// series of their own.
const DefaultTopResources = 20

// DefaultMaxResources caps the distinct resources ranked per day, and in the
// month's sum of closed days: beyond it, memory would follow whatever the
// API sends. A tenant of 50,000 resources is far larger than any FPT Cloud
// tenant we know of.
const DefaultMaxResources = 50000

// labelTable interns label sets: every resource of a label set points at
// the same copy of its five values, so that a resource costs its two
// strings and a pointer rather than its own copy of seven strings. One
// table serves a month's resources, so that their keys compare by pointer.
type labelTable map[billing.Labels]*billing.Labels

// intern returns the table's copy of k, adding one when k is new.
func (t labelTable) intern(k billing.Labels) *billing.Labels {
	if p, ok := t[k]; ok {
		return p
	}
	c := k.Clone()
	p := &c
	t[c] = p
	return p
}

// resourceKey identifies one resource: its label set, its infra_id and its
// name. A row without infra_id is keyed by its name (and, through the label
// set, its service). The five labels are part of the key so that a
// resource's series carry the same labels as the billing series it is in;
// labels is interned, so equal label sets are the same pointer.
type resourceKey struct {
	labels   *billing.Labels
	id, name string
}

// clone copies the strings in one allocation, so that a kept key never
// pins a decoder's buffer.
func (k resourceKey) clone() resourceKey {
	all := k.id + k.name
	return resourceKey{labels: k.labels, id: all[:len(k.id)], name: all[len(k.id):]}
}

func compareResourceKeys(a, b resourceKey) int {
	return cmp.Or(billing.Compare(*a.labels, *b.labels), strings.Compare(a.id, b.id), strings.Compare(a.name, b.name))
}

// resourceCosts sums total_price per resource, up to a cap on distinct
// resources; the rows of resources beyond it are counted, not ranked.
type resourceCosts struct {
	cost    map[resourceKey]vnd
	labels  labelTable // shared with the other days of the month
	limit   int
	dropped int // rows of resources over the cap
}

// newResourceCosts sizes the map for hint resources, so that a day about
// as large as the last is not rehashed as it grows.
func newResourceCosts(labels labelTable, limit, hint int) *resourceCosts {
	return &resourceCosts{cost: make(map[resourceKey]vnd, min(hint, limit)), labels: labels, limit: limit}
}

func (r *resourceCosts) addPage(page []fptapi.Bill) {
	var last *billing.Labels // consecutive rows often share a label set
	for i := range page {
		b := &page[i]
		if k := keyOf(b); last == nil || *last != k {
			last = r.labels.intern(k)
		}
		r.add(resourceKey{labels: last, id: b.InfraID, name: b.Name}, b.TotalPrice, 1)
	}
}

// addDay adds a day's per-resource sums, as Day.Resources holds them.
func (r *resourceCosts) addDay(day billing.Day) {
	for _, c := range day.Resources {
		r.add(resourceKey{labels: r.labels.intern(c.Labels), id: c.InfraID, name: c.Name}, c.TotalPrice, 1)
	}
	r.dropped += day.UntrackedResourceRows
}

// costs returns the per-resource sums as Day.Resources holds them.
func (r *resourceCosts) costs() []billing.ResourceCost {
	out := make([]billing.ResourceCost, 0, len(r.cost))
	for k, v := range r.cost {
		out = append(out, billing.ResourceCost{Labels: *k.labels, InfraID: k.id, Name: k.name, TotalPrice: v.sum + v.comp})
	}
	return out
}

// add adds rows rows' cost x to resource k.
func (r *resourceCosts) add(k resourceKey, x float64, rows int) {
	v, ok := r.cost[k]
	if !ok {
		if len(r.cost) >= r.limit {
			r.dropped += rows
			return
		}
		k = k.clone()
	}
	v.add(x)
	r.cost[k] = v
}

// merge adds o into r, under r's cap.
func (r *resourceCosts) merge(o *resourceCosts) {
	for k, c := range o.cost {
		v, ok := r.cost[k]
		if !ok && len(r.cost) >= r.limit {
			r.dropped++
			continue
		}
		v.merge(c)
		r.cost[k] = v
	}
	r.dropped += o.dropped
}

// resourceSeries is one of the top resources of a snapshot.
type resourceSeries struct {
	key        resourceKey
	today, mtd vnd
}

// topResources ranks the resources by month-to-date cost (today's and the
// closed days'), most expensive first, ties by key so that the same
// resources are kept on every refresh, and returns the first k. It also
// returns the rows left out of the ranking by the cap.
func topResources(today *resourceCosts, closed []*resourceCosts, k int) ([]resourceSeries, int) {
	n := len(today.cost)
	for _, d := range closed {
		n = max(n, len(d.cost))
	}
	idx := make(map[resourceKey]int, n)
	all := make([]resourceSeries, 0, n)
	get := func(key resourceKey) *resourceSeries {
		i, ok := idx[key]
		if !ok {
			i = len(all)
			idx[key] = i
			all = append(all, resourceSeries{key: key})
		}
		return &all[i]
	}
	dropped := today.dropped
	for key, c := range today.cost {
		s := get(key)
		s.today.merge(c)
		s.mtd.merge(c)
	}
	for _, d := range closed {
		dropped += d.dropped
		for key, c := range d.cost {
			get(key).mtd.merge(c)
		}
	}
	slices.SortFunc(all, func(a, b resourceSeries) int {
		return cmp.Or(cmp.Compare(b.mtd.value(), a.mtd.value()), compareResourceKeys(a.key, b.key))
	})
	return all[:min(k, len(all))], dropped
}
