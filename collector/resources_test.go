package collector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

func res(set fptapi.Bill, id, name string, cost float64) fptapi.Bill {
	set.InfraID, set.Name, set.TotalPrice = id, name, cost
	return set
}

// resourceDataset: three days of November; the 3rd is today.
//   - vm-1: the most expensive by month-to-date (1000+1000+10), cheap today
//   - vm-2: only today, the most expensive today (500)
//   - disk-1: only on closed days (800 + 0.5), none today
//   - ip (no infra_id) in two VPCs with the same name: two resources
//   - vm-3 and vm-4 tie at 300
func resourceDataset() map[string][]fptapi.Bill {
	return map[string][]fptapi.Bill{
		"2026-11-01": {res(setA, "vm-1", "web-1", 1000), res(setB, "disk-1", "data-1", 800), res(setA, "vm-3", "b", 300)},
		"2026-11-02": {res(setA, "vm-1", "web-1", 1000), res(setB, "disk-1", "data-1", 0.5), res(setA, "vm-4", "a", 100)},
		"2026-11-03": {
			res(setA, "vm-1", "web-1", 4), res(setA, "vm-1", "web-1", 6),
			res(setA, "vm-2", "batch", 500),
			res(setA, "vm-4", "a", 200),
			res(setD, "", "ip-public", 30), res(setC, "", "ip-public", 20), res(setD, "", "ip-public", 5),
		},
	}
}

const (
	rlA  = `billing_group="Nhóm Hà Nội",resource_id="%s",resource_name="%s",service="instance",tag="env=prod",vpc_id="vpc-1",vpc_name="Mạng \"chính\""`
	rlB  = `billing_group="",resource_id="disk-1",resource_name="data-1",service="storage",tag="line1\nline2",vpc_id="vpc-2",vpc_name="back\\slash"`
	rlIP = `billing_group="Nhóm Hà Nội",resource_id="",resource_name="ip-public",service="ip",tag="",vpc_id="vpc-1",vpc_name="Mạng \"chính\""`
	rlC  = `billing_group="grp",resource_id="",resource_name="ip-public",service="s3",tag="",vpc_id="vpc-3",vpc_name="VPC Đà Nẵng"`
)

func rlA1(id, name string) string {
	return "{" + strings.Replace(strings.Replace(rlA, "%s", id, 1), "%s", name, 1) + "}"
}

func TestTopResources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		k              int
		today, monthly []string
	}{
		{
			name:    "top 4 by month-to-date, ties by key",
			k:       4,
			today:   []string{rlA1("vm-1", "web-1") + " 10", "{" + rlB + "} 0", rlA1("vm-2", "batch") + " 500", rlA1("vm-3", "b") + " 0"},
			monthly: []string{rlA1("vm-1", "web-1") + " 2010", "{" + rlB + "} 800.5", rlA1("vm-2", "batch") + " 500", rlA1("vm-3", "b") + " 300"},
		},
		{
			name: "more than there are: all of them, rows without infra_id keyed by name and label set",
			k:    100,
			today: []string{rlA1("vm-1", "web-1") + " 10", "{" + rlB + "} 0", rlA1("vm-2", "batch") + " 500",
				rlA1("vm-3", "b") + " 0", rlA1("vm-4", "a") + " 200", "{" + rlIP + "} 35", "{" + rlC + "} 20"},
			monthly: []string{rlA1("vm-1", "web-1") + " 2010", "{" + rlB + "} 800.5", rlA1("vm-2", "batch") + " 500",
				rlA1("vm-3", "b") + " 300", rlA1("vm-4", "a") + " 300", "{" + rlIP + "} 35", "{" + rlC + "} 20"},
		},
		{name: "0 turns them off", k: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, newStub(resourceDataset()), time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)),
				func(c *Config) { c.TopResources = tt.k })
			require.NoError(t, e.r.Refresh(context.Background()))
			untracked := []string{" 0"}
			if tt.k == 0 {
				untracked = nil
			}
			want, names := expo(t, map[string][]string{
				"fptcloud_billing_resource_cost_vnd":               tt.today,
				"fptcloud_billing_resource_month_to_date_cost_vnd": tt.monthly,
				"fptcloud_exporter_untracked_resource_rows":        untracked,
			})
			require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
		})
	}
}

// TestTopResourcesWaitForTheMonth: ranked by month-to-date, resources are
// served only once every closed day is in.
func TestTopResourcesWaitForTheMonth(t *testing.T) {
	t.Parallel()
	src := newStub(resourceDataset())
	src.setFailure(&failure{day: "2026-11-01", page: 1, err: assert.AnError})
	e := newEnv(t, src, time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)), func(c *Config) { c.TopResources = 2 })
	require.Error(t, e.r.Refresh(context.Background()))
	families := gatherBilling(t, e.c)
	assert.NotContains(t, families, "fptcloud_billing_resource_cost_vnd")
	assert.Contains(t, families, "fptcloud_billing_cost_vnd")
}

// TestTopResourcesCap: beyond the cap, resources are not ranked; their rows
// are counted and one warning says so; the billing series keep every VND.
func TestTopResourcesCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newStub(resourceDataset()), time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)),
		func(c *Config) { c.TopResources, c.MaxResources = 10, 2 })
	require.NoError(t, e.r.Refresh(context.Background()))
	require.NoError(t, e.r.Refresh(context.Background()))
	// Per day at most 2 resources: the 1st drops vm-3 (1 row), the 2nd
	// vm-4 (1 row); the month's sum of closed days holds vm-1 and disk-1;
	// today keeps vm-1 and vm-2 and drops 4 rows (vm-4 and the IPs).
	want, names := expo(t, map[string][]string{
		"fptcloud_exporter_untracked_resource_rows": {" 6"},
		"fptcloud_billing_month_to_date_cost_vnd":   {lblA + " 3110", lblB + " 800.5", lblC + " 20", lblD + " 35"},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	assert.Len(t, gatherBilling(t, e.c)["fptcloud_billing_resource_month_to_date_cost_vnd"], 3)
	assert.Equal(t, 1, strings.Count(e.logs.String(), "more distinct resources than --collector.max-resources"))
}

// TestTopResourcesSurviveRestart: the per-resource sums of closed days are
// in the store: a restart serves the same month-to-date per resource.
func TestTopResourcesSurviveRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t))
	cfg := func(c *Config) { c.TopResources, c.Store = 3, openStore(t, dir) }
	first := newEnv(t, newStub(resourceDataset()), now, cfg)
	require.NoError(t, first.r.Refresh(context.Background()))
	src := newStub(resourceDataset())
	second := newEnv(t, src, now, cfg)
	require.NoError(t, second.r.Refresh(context.Background()))
	assert.Equal(t, map[string]int{"2026-11-03": 1}, src.takeCalls())
	assert.Equal(t, gatherBilling(t, first.c)["fptcloud_billing_resource_month_to_date_cost_vnd"],
		gatherBilling(t, second.c)["fptcloud_billing_resource_month_to_date_cost_vnd"])
}

// TestTopResourcesNeedPerResourceDays: a stored day without per-resource
// sums (a backfill writes none) serves month-to-date to an exporter without
// the ranking, but is read again by one that ranks resources.
func TestTopResourcesNeedPerResourceDays(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t))
	first := newEnv(t, newStub(resourceDataset()), now, func(c *Config) { c.Store = openStore(t, dir) })
	require.NoError(t, first.r.Refresh(context.Background()))

	plain := newStub(resourceDataset())
	again := newEnv(t, plain, now, func(c *Config) { c.Store = openStore(t, dir) })
	require.NoError(t, again.r.Refresh(context.Background()))
	assert.Equal(t, map[string]int{"2026-11-03": 1}, plain.takeCalls(), "without the ranking, the stored days serve")

	ranked := newStub(resourceDataset())
	e := newEnv(t, ranked, now, func(c *Config) { c.TopResources, c.Store = 3, openStore(t, dir) })
	require.NoError(t, e.r.Refresh(context.Background()))
	assert.Equal(t, map[string]int{"2026-11-01": 1, "2026-11-02": 1, "2026-11-03": 1}, ranked.takeCalls(),
		"the ranking reads the days that have no per-resource sums")
	assert.Len(t, gatherBilling(t, e.c)["fptcloud_billing_resource_month_to_date_cost_vnd"], 3)
}
