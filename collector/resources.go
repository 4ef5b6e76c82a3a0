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

// DefaultMaxResources caps the distinct resources ranked per day and per
// month, so that memory does not follow whatever the API sends; it is far
// above any FPT Cloud tenant we know of.
const DefaultMaxResources = 50000

// labelTable interns a month's label sets: every resource of a label set
// points at one copy of its five values, so that a resource costs two
// strings and a pointer, not seven strings.
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

// resourceKey identifies one resource: its interned label set (so that its
// series carry the labels of the billing series it is in), its infra_id
// and its name (which alone keys a row without infra_id).
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

// resourceCosts sums total_price per resource, up to a cap on distinct
// resources; the rows of resources beyond it are counted, not ranked. A nil
// one keeps nothing: top resources are off.
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
	if r == nil {
		return
	}
	var last *billing.Labels // consecutive rows often share a label set
	for i := range page {
		b := &page[i]
		if k := keyOf(b); last == nil || *last != k {
			last = r.labels.intern(k)
		}
		r.add(resourceKey{labels: last, id: b.InfraID, name: b.Name}, b.TotalPrice)
	}
}

// addDay adds a day's per-resource sums, as Day.Resources holds them.
func (r *resourceCosts) addDay(day billing.Day) {
	if r == nil {
		return
	}
	for _, c := range day.Resources {
		r.add(resourceKey{labels: r.labels.intern(c.Labels), id: c.InfraID, name: c.Name}, c.TotalPrice)
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

// add adds a row's cost x to resource k.
func (r *resourceCosts) add(k resourceKey, x float64) {
	v, ok := r.cost[k]
	if !ok {
		if len(r.cost) >= r.limit {
			r.dropped++
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

// topResources ranks the resources by month-to-date cost, most expensive
// first, ties by key so that the same resources are kept on every refresh,
// and returns the first k, and the rows the cap left out of the ranking.
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
		return cmp.Or(cmp.Compare(b.mtd.value(), a.mtd.value()), billing.Compare(*a.key.labels, *b.key.labels),
			strings.Compare(a.key.id, b.key.id), strings.Compare(a.key.name, b.key.name))
	})
	return all[:min(k, len(all))], dropped
}
