package collector

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// DefaultTopResources is how many of the most expensive resources get
// series of their own.
const DefaultTopResources = 20

// DefaultMaxResources caps the distinct resources ranked per day, and in the
// month's sum of closed days: beyond it, memory would follow whatever the
// API sends. A tenant of 50,000 resources is far larger than any FPT Cloud
// tenant we know of.
const DefaultMaxResources = 50000

// resourceKey identifies one resource: its label set, its infra_id and its
// name. A row without infra_id is keyed by its name (and, through the label
// set, its service). The five labels are part of the key so that a
// resource's series carry the same labels as the billing series it is in.
type resourceKey struct {
	labels labelSet
	id     string
	name   string
}

func resourceKeyOf(b *fptapi.Bill) resourceKey {
	return resourceKey{labels: keyOf(b), id: b.InfraID, name: b.Name}
}

// clone copies the strings in one allocation, as labelSet.clone does.
func (k resourceKey) clone() resourceKey {
	l := k.labels
	all := l.vpcID + l.vpcName + l.service + l.group + l.tag + k.id + k.name
	cut := func(s string) string {
		v := all[:len(s)]
		all = all[len(s):]
		return v
	}
	return resourceKey{
		labels: labelSet{vpcID: cut(l.vpcID), vpcName: cut(l.vpcName), service: cut(l.service), group: cut(l.group), tag: cut(l.tag)},
		id:     cut(k.id),
		name:   cut(k.name),
	}
}

func compareResourceKeys(a, b resourceKey) int {
	return cmp.Or(compareLabelSets(a.labels, b.labels), strings.Compare(a.id, b.id), strings.Compare(a.name, b.name))
}

// resourceCosts sums total_price per resource, up to a cap on distinct
// resources; the rows of resources beyond it are counted, not ranked.
type resourceCosts struct {
	cost    map[resourceKey]vnd
	limit   int
	dropped int // rows of resources over the cap
}

// newResourceCosts sizes the map for hint resources, so that a day about
// as large as the last is not rehashed as it grows.
func newResourceCosts(limit, hint int) *resourceCosts {
	return &resourceCosts{cost: make(map[resourceKey]vnd, min(hint, limit)), limit: limit}
}

func (r *resourceCosts) addPage(page []fptapi.Bill) {
	for i := range page {
		b := &page[i]
		r.add(resourceKeyOf(b), b.TotalPrice, 1)
	}
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
