package collector

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

func TestCutLabelValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"ASCII", strings.Repeat("a", 5000)},
		// 3-byte runes: the limit falls inside one.
		{"Vietnamese", strings.Repeat("ữ", 2000)},
		{"just over", strings.Repeat("b", MaxLabelValueBytes+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cutLabelValue(tt.in)
			assert.LessOrEqual(t, len(got), MaxLabelValueBytes)
			assert.Greater(t, len(got), MaxLabelValueBytes-utf8.UTFMax-len(ellipsis))
			assert.True(t, utf8.ValidString(got))
			assert.True(t, strings.HasSuffix(got, ellipsis))
			assert.True(t, strings.HasPrefix(tt.in, strings.TrimSuffix(got, ellipsis)))
		})
	}
}

// TestHugeLabelValuesAreCut: values of 100,000 characters from the API are
// cut before the sums, so that what is served and stored stays small; each
// field cut is counted and logged once, without its value.
func TestHugeLabelValuesAreCut(t *testing.T) {
	t.Parallel()
	huge := func(c string) string { return strings.Repeat(c, 100_000) }
	var day, today []fptapi.Bill
	for i := range 50 {
		b := row(setA, 10)
		b.VPCName, b.Tag, b.Name = huge("v"), huge("ữ"), string(rune('a'+i%2))+huge("n")
		b.InfraID = ""
		day = append(day, b)
	}
	today = append(today, day...)
	src := newStub(map[string][]fptapi.Bill{"2026-11-01": day, "2026-11-02": today})
	dir := t.TempDir()
	e := newEnv(t, src, time.Date(2026, 11, 2, 10, 0, 0, 0, testhelp.HCM(t)), func(c *Config) {
		c.Store = openStore(t, dir)
		c.TopResources = 5
	})
	require.NoError(t, e.r.Refresh(context.Background()))
	require.NoError(t, e.r.Refresh(context.Background())) // today again; the 1st is final

	want, names := expo(t, map[string][]string{"fptcloud_exporter_label_values_truncated_total": {
		`{field="billing_group"} 0`, `{field="resource_id"} 0`, `{field="resource_name"} 150`, `{field="service"} 0`,
		`{field="tag"} 150`, `{field="vpc_id"} 0`, `{field="vpc_name"} 150`,
	}})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
	logs := e.logs.String()
	assert.Equal(t, 3, strings.Count(logs, "label values longer than the limit are cut"), logs)
	assert.NotContains(t, logs, "vvvvvvvvvv", "no value is logged")

	mfs, err := mustRegistry(t, e.c).Gather()
	require.NoError(t, err)
	var expo bytes.Buffer
	for _, mf := range mfs {
		_, err := expfmt.MetricFamilyToText(&expo, mf)
		require.NoError(t, err)
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				assert.LessOrEqual(t, len(l.GetValue()), MaxLabelValueBytes, "%s{%s}", mf.GetName(), l.GetName())
			}
		}
	}
	// Billing series of one label set and two resources: a few of the
	// limit each, where uncut values made megabytes.
	assert.Less(t, expo.Len(), 64<<10, "exposition size")
	assert.Len(t, gatherBilling(t, e.c)["fptcloud_billing_resource_cost_vnd"], 2, "the two names still differ within the limit")

	info, err := os.Stat(filepath.Join(dir, "2026-11-01.json"))
	require.NoError(t, err)
	assert.Less(t, info.Size(), int64(16<<10), "day file size")
}
