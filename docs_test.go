package main

import (
	"os"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
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
		if !strings.Contains(string(flags), "`--"+f.Name+"`") {
			t.Errorf("docs/flags.md lacks --%s", f.Name)
		}
	}

	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	metrics, err := os.ReadFile("docs/metrics.md")
	require.NoError(t, err)
	both := string(readme) + string(metrics)
	for _, name := range append(collector.MetricNames(), "fptcloud_exporter_build_info") {
		if !strings.Contains(both, "`"+name+"`") {
			t.Errorf("neither README.md nor docs/metrics.md lists %s", name)
		}
	}
}
