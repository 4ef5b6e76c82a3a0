package main

import (
	"os"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
)

// TestDocsListEveryFlagAndMetric keeps the reference pages whole: every
// flag of the exporter is in docs/flags.md, and every metric it may send
// is in the README or docs/metrics.md.
func TestDocsListEveryFlagAndMetric(t *testing.T) {
	flags, err := os.ReadFile("docs/flags.md")
	require.NoError(t, err)
	app, _ := newApp()
	model := app.Model()
	var all []*kingpin.FlagModel
	all = append(all, model.Flags...)
	for _, cmd := range model.Commands {
		all = append(all, cmd.Flags...)
	}
	for _, f := range all {
		if f.Hidden || f.Name == "help" {
			continue
		}
		assert.Contains(t, string(flags), "`--"+f.Name+"`", "docs/flags.md lacks --%s", f.Name)
	}

	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	metrics, err := os.ReadFile("docs/metrics.md")
	require.NoError(t, err)
	both := string(readme) + string(metrics)
	for _, name := range append(collector.MetricNames(), "fptcloud_exporter_build_info") {
		assert.Contains(t, both, "`"+name+"`", "neither README.md nor docs/metrics.md lists %s", name)
	}
}
