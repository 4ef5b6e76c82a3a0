// Package policy holds the tests of the repository's own rules: what the
// binary links, what the Dockerfile does, that the docs list every flag and
// metric and link only to files that exist, and that the layout map of
// docs/design.md is the code's. They read the repository from its root, two
// directories up.
package policy

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

// TestBinaryDeps checks what the exporter's binary links, which no other
// test sees: the demo's fake must not bring in net/http/httptest, a package
// for tests, and the time zone database must be compiled in, since the
// distroless image has none.
func TestBinaryDeps(t *testing.T) {
	out, err := goList(t)
	require.NoError(t, err, "go list -deps .")
	deps := strings.Fields(string(out))
	assert.NotContains(t, deps, "net/http/httptest")
	assert.Contains(t, deps, "time/tzdata")
}

// No Docker engine runs where the project is tested, so the image is not
// built here: this test reads the Dockerfile for what a release relies on.
// That the binary embeds the time zone database is TestBinaryDeps' job.
func TestDockerfile(t *testing.T) {
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(goMod)
	require.NotNil(t, m, "go.mod has no go line")
	goVersion := string(m[1])

	assert.Empty(t, dockerfileProblems(string(dockerfile), goVersion))

	// Each rule fails when the Dockerfile breaks it.
	for broken, edit := range map[string][2]string{
		"builder":  {"golang:" + goVersion + " ", "golang:1.0.0 "},
		"static":   {"CGO_ENABLED=0 ", ""},
		"certs":    {"gcr.io/distroless/static-debian12:nonroot", "scratch"},
		"non-root": {"USER 65532:65532", "USER root"},
		"workdir":  {"WORKDIR /\n", ""},
		"data":     {"--chmod=0700", "--chmod=0755"},
		"volume":   {"VOLUME /data", "VOLUME /tmp"},
		"token":    {"EXPOSE", "ENV FPTCLOUD_TOKEN=abc\nEXPOSE"},
	} {
		bad := strings.Replace(string(dockerfile), edit[0], edit[1], 1)
		require.NotEqual(t, string(dockerfile), bad, "%s: the edit %q no longer applies", broken, edit[0])
		assert.Contains(t, dockerfileProblems(bad, goVersion), broken)
	}
}

// dockerfileProblems names the release invariants the Dockerfile breaks.
func dockerfileProblems(dockerfile, goVersion string) []string {
	// One instruction a line: comments dropped, continuations joined.
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(dockerfile, "\\\n", " "), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	text := strings.Join(lines, "\n")
	final := text[strings.LastIndex(text, "\nFROM ")+1:]
	has := func(in, pattern string) bool { return regexp.MustCompile("(?m)" + pattern).MatchString(in) }

	var problems []string
	check := func(name string, ok bool) {
		if !ok {
			problems = append(problems, name)
		}
	}
	// A variant (-bookworm) or a digest (@sha256:...) may follow the version.
	check("builder", has(text, `^FROM .*golang:`+regexp.QuoteMeta(goVersion)+`([-@]\S*)? `))
	check("static", has(text, `CGO_ENABLED=0 .*go build`))
	// distroless static carries the CA certificates the HTTPS API needs.
	check("certs", has(final, `^FROM gcr\.io/distroless/static`))
	check("non-root", has(final, `^USER 65532:65532$`) && !has(final, `^USER (root|0)\b`))
	check("workdir", has(final, `^WORKDIR /$`))
	check("data", has(final, `^COPY --from=builder --chown=65532:65532 --chmod=0700 \S+ /data$`))
	check("volume", has(final, `^VOLUME /data$`))
	// ENTRYPOINT and CMD may name a token file mounted at run time.
	secret := regexp.MustCompile(`(?i)token|secret|passw|api[_-]?key|credential`)
	for _, l := range lines {
		if !strings.HasPrefix(l, "ENTRYPOINT") && !strings.HasPrefix(l, "CMD") && secret.MatchString(l) {
			check("token", false)
			break
		}
	}
	return problems
}

// TestDocsListEveryFlagAndMetric keeps the reference pages whole: every
// flag of the exporter is in docs/flags.md, and every metric it may send
// is in the README or docs/metrics.md.
func TestDocsListEveryFlagAndMetric(t *testing.T) {
	flags, err := os.ReadFile(filepath.Join(root, "docs/flags.md"))
	require.NoError(t, err)
	app := config.NewApp()
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

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	metrics, err := os.ReadFile(filepath.Join(root, "docs/metrics.md"))
	require.NoError(t, err)
	both := string(readme) + string(metrics)
	for _, name := range append(append(collector.MetricNames(), collector.ReloadMetricNames()...), "fptcloud_exporter_build_info") {
		if !strings.Contains(both, "`"+name+"`") {
			t.Errorf("neither README.md nor docs/metrics.md lists %s", name)
		}
	}
}

// TestDocsLinks: every relative link in the project's Markdown files points
// at a file that exists.
func TestDocsLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
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
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s links to %s, which does not exist", rel, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// root is the repository's root, from this package's directory.
const root = "../.."

// goList lists what the exporter's binary links.
func goList(t *testing.T) ([]byte, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", ".")
	cmd.Dir = root
	return cmd.Output()
}

// TestDesignLayoutMap keeps the layout map of docs/design.md true: every
// package it names exists, every package of the module is in it, and no
// package imports one of the project's own that its row does not list, so
// that the one-way flow the page draws is the code's.
func TestDesignLayoutMap(t *testing.T) {
	t.Parallel()
	design, err := os.ReadFile(filepath.Join(root, "docs", "design.md"))
	require.NoError(t, err)
	_, layout, ok := strings.Cut(string(design), "\n## Code layout\n")
	require.True(t, ok, `docs/design.md has no "## Code layout" section`)
	layout, _, _ = strings.Cut(layout, "\n## ")
	mapped := layoutRows(layout)
	require.NotEmpty(t, mapped, "docs/design.md's layout map has no rows")

	cmd := exec.CommandContext(t.Context(), "go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	require.NoError(t, err, "go list ./...")
	const module = "github.com/fptcloud-exporter/fptcloud_exporter"
	name := func(path string) string {
		if path == module {
			return "main.go"
		}
		return strings.TrimPrefix(path, module+"/")
	}
	found := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		pkg := name(fields[0])
		found[pkg] = true
		allowed, ok := mapped[pkg]
		if !assert.True(t, ok, "docs/design.md's layout map lacks %s", pkg) || allowed == nil {
			continue
		}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module+"/") && !allowed[name(imp)] {
				t.Errorf("%s imports %s, which its row in docs/design.md does not list", pkg, name(imp))
			}
		}
	}
	for pkg := range mapped {
		assert.True(t, found[pkg], "docs/design.md's layout map names %s, which is not a package", pkg)
	}
}

// layoutRows reads the map's rows: the package in the first column, and
// the project's packages it may import in the last (nil: any).
func layoutRows(layout string) map[string]map[string]bool {
	code := regexp.MustCompile("`([^`]+)`")
	rows := map[string]map[string]bool{}
	for line := range strings.Lines(layout) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		pkg := code.FindStringSubmatch(cells[1])[1]
		last := cells[len(cells)-2]
		if strings.Contains(last, "everything") {
			rows[pkg] = nil
			continue
		}
		allowed := map[string]bool{}
		for _, m := range code.FindAllStringSubmatch(last, -1) {
			allowed[m[1]] = true
		}
		rows[pkg] = allowed
	}
	return rows
}
