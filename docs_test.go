package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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

// TestDocsLinks: every relative link in the project's Markdown files points
// at a file that exists.
func TestDocsLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
