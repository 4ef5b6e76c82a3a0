package collector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// TestDayCostRoundTrip: a day's sums become the shared day type, sorted,
// and come back the same; a resource's entry points at its interned label
// set.
func TestDayCostRoundTrip(t *testing.T) {
	t.Parallel()
	labels := make(labelTable)
	cost := make(dayCost)
	res := newResourceCosts(labels, 10, 0)
	page := []fptapi.Bill{
		{VPCID: "b", InfraID: "vm-2", Name: "two", TotalPrice: 2},
		{VPCID: "a", InfraID: "vm-1", Name: "one", TotalPrice: 0.5},
		{VPCID: "a", InfraID: "vm-1", Name: "one", TotalPrice: 0.25},
	}
	cost.addPage(page)
	res.addPage(page)
	date := billing.Date{Year: 2026, Month: time.November, Day: 3}
	day := cost.day(date, res, time.Date(2026, 11, 4, 1, 0, 0, 0, time.UTC), true)

	a, b := billing.Labels{VPCID: "a"}, billing.Labels{VPCID: "b"}
	assert.Equal(t, "2026-11-03", day.Date.String())
	assert.Equal(t, []billing.Cost{{Labels: a, TotalPrice: 0.75}, {Labels: b, TotalPrice: 2}}, day.Costs)
	require.Len(t, day.Resources, 2)
	assert.Equal(t, billing.ResourceCost{Labels: a, InfraID: "vm-1", Name: "one", TotalPrice: 0.75}, day.Resources[0])
	assert.True(t, day.PerResource)

	back := newResourceCosts(labels, 10, 0)
	back.addDay(day)
	values := func(m map[resourceKey]vnd) map[resourceKey]float64 {
		out := make(map[resourceKey]float64)
		for k, v := range m {
			out[k] = v.value()
		}
		return out
	}
	assert.Equal(t, values(res.cost), values(back.cost))
	again := costsOf(day)
	require.Len(t, again, len(cost))
	for k, v := range cost {
		assert.Equal(t, v.value(), again[k].value())
	}
	assert.Len(t, labels, 2, "one entry per label set, shared by its resources")
	for k := range back.cost {
		assert.Same(t, labels[*k.labels], k.labels)
	}
}

// TestResourceCostsCap: resources beyond the cap are counted, not kept.
func TestResourceCostsCap(t *testing.T) {
	t.Parallel()
	res := newResourceCosts(make(labelTable), 1, 0)
	res.addPage([]fptapi.Bill{{InfraID: "1", TotalPrice: 1}, {InfraID: "2", TotalPrice: 1}, {InfraID: "2", TotalPrice: 1}, {InfraID: "1", TotalPrice: 1}})
	assert.Len(t, res.cost, 1)
	assert.Equal(t, 2, res.dropped)
}
