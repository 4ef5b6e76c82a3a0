package main

// No Docker engine runs where this project is built and tested, so the image
// can't be built here. This test reads the Dockerfile and .dockerignore
// instead and checks the invariants that matter for a release: the Go version
// matches go.mod, a static build with version metadata, a distroless (or
// scratch) final stage running as non-root, the exporter's port, no token
// baked into the image, and a build context that keeps the sources but not
// .git.

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	gotoken "go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dockerfileExposedPort is the port of the default --web.listen-address
// (:10117, fixed by the team contract).
const dockerfileExposedPort = "10117"

// dockerInstruction is one Dockerfile instruction, continuations joined and
// comments dropped.
type dockerInstruction struct {
	line int    // 1-based line where it starts
	cmd  string // upper case: FROM, RUN, ...
	args string // the rest, as written
}

// dockerStage is one FROM and the instructions after it.
type dockerStage struct {
	image string // the FROM image reference, e.g. golang:1.26.8
	name  string // the AS name, "" when unnamed
	instr []dockerInstruction
}

// dockerBuild is what the rules look at: the parsed Dockerfile, the .dockerignore
// patterns, the go.mod `go` version and the repo's files.
type dockerBuild struct {
	stages    []dockerStage
	ignore    []string // .dockerignore patterns; nil when the file is absent
	goVersion string
	goFiles   []string // repo-relative non-test .go files, plus go.mod and go.sum
	mainSrc   map[string]string
}

// parseDockerfile is a small parser for the subset of the Dockerfile syntax
// this repo uses: backslash continuations, full-line comments, and parser
// directives (ignored).
func parseDockerfile(text string) ([]dockerStage, error) {
	var (
		stages  []dockerStage
		pending strings.Builder
		start   int
	)
	flush := func() error {
		s := strings.TrimSpace(pending.String())
		pending.Reset()
		if s == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(s, " ")
		in := dockerInstruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			st, err := parseDockerFrom(in.args)
			if err != nil {
				return fmt.Errorf("line %d: %w", in.line, err)
			}
			stages = append(stages, st)
			return nil
		}
		if len(stages) == 0 {
			if in.cmd == "ARG" { // global ARGs may precede the first FROM
				return nil
			}
			return fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
		}
		last := &stages[len(stages)-1]
		last.instr = append(last.instr, in)
		return nil
	}
	for i, raw := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(raw)
		if strings.HasPrefix(trimmed, "#") { // comments, also inside a continuation
			continue
		}
		if pending.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = i + 1
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			pending.WriteString(body + " ")
			continue
		}
		pending.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if pending.Len() > 0 {
		return nil, errors.New("Dockerfile ends inside a line continuation")
	}
	return stages, nil
}

func parseDockerFrom(args string) (dockerStage, error) {
	var words []string
	for _, w := range strings.Fields(args) {
		if !strings.HasPrefix(w, "--") { // --platform=...
			words = append(words, w)
		}
	}
	switch {
	case len(words) == 1:
		return dockerStage{image: words[0]}, nil
	case len(words) == 3 && strings.EqualFold(words[1], "AS"):
		return dockerStage{image: words[0], name: words[2]}, nil
	}
	return dockerStage{}, fmt.Errorf("can't parse FROM %q", args)
}

// find returns the stage's instructions of one kind.
func (s dockerStage) find(cmd string) []dockerInstruction {
	var out []dockerInstruction
	for _, in := range s.instr {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// args are the names of the ARGs declared in the stage.
func (s dockerStage) args() map[string]bool {
	out := map[string]bool{}
	for _, in := range s.find("ARG") {
		name, _, _ := strings.Cut(in.args, "=")
		out[strings.TrimSpace(name)] = true
	}
	return out
}

func (b dockerBuild) builder() (dockerStage, error) {
	for _, s := range b.stages {
		if strings.HasPrefix(s.image, "golang:") {
			return s, nil
		}
	}
	return dockerStage{}, errors.New("no golang: builder stage")
}

func (b dockerBuild) final() dockerStage { return b.stages[len(b.stages)-1] }

// goBuild is the builder's RUN that calls `go build`.
func (b dockerBuild) goBuild() (dockerStage, dockerInstruction, error) {
	s, err := b.builder()
	if err != nil {
		return s, dockerInstruction{}, err
	}
	for _, in := range s.find("RUN") {
		if strings.Contains(in.args, "go build") {
			return s, in, nil
		}
	}
	return s, dockerInstruction{}, errors.New("the builder stage has no RUN ... go build")
}

// dockerignoreRegexp turns one .dockerignore pattern into a regexp with the
// Docker semantics this repo needs: * and ? stay within a path element, **
// spans elements, a leading / is ignored.
func dockerignoreRegexp(pattern string) *regexp.Regexp {
	p := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(pattern)), "/")
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			re.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			re.WriteString(".*")
			i++
		case c == '*':
			re.WriteString("[^/]*")
		case c == '?':
			re.WriteString("[^/]")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String())
}

// dockerignored reports whether path (slash-separated, repo-relative) is left
// out of the build context: the last pattern matching it or one of its parent
// directories wins, and a ! pattern takes it back in.
func dockerignored(patterns []string, path string) bool {
	var candidates []string
	parts := strings.Split(path, "/")
	for i := range parts {
		candidates = append(candidates, strings.Join(parts[:i+1], "/"))
	}
	excluded := false
	for _, p := range patterns {
		negate := strings.HasPrefix(p, "!")
		re := dockerignoreRegexp(strings.TrimPrefix(p, "!"))
		for _, c := range candidates {
			if re.MatchString(c) {
				excluded = !negate
				break
			}
		}
	}
	return excluded
}

func parseDockerignore(text string) []string {
	patterns := []string{}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	return patterns
}

// dockerSecretWords must not appear in what the image is built from or carries.
var dockerSecretWords = regexp.MustCompile(`(?i)token|secret|passw(or)?d|api[_-]?key|credential`)

// dockerRules are the invariants, each returning nil when it holds.
var dockerRules = []struct {
	name  string
	check func(b dockerBuild) error
}{
	{"multi-stage", func(b dockerBuild) error {
		if len(b.stages) < 2 {
			return fmt.Errorf("%d stage(s), want a builder and a final stage", len(b.stages))
		}
		return nil
	}},
	{"builder Go version equals go.mod", func(b dockerBuild) error {
		s, err := b.builder()
		if err != nil {
			return err
		}
		ref, _, _ := strings.Cut(s.image, "@") // a digest pin may follow
		tag := strings.TrimPrefix(ref, "golang:")
		if tag != b.goVersion && !strings.HasPrefix(tag, b.goVersion+"-") { // e.g. 1.26.8-bookworm
			return fmt.Errorf("builder is %s, go.mod says go %s", s.image, b.goVersion)
		}
		return nil
	}},
	{"static build: CGO_ENABLED=0 and -trimpath", func(b dockerBuild) error {
		s, run, err := b.goBuild()
		if err != nil {
			return err
		}
		cgoOff := strings.Contains(run.args, "CGO_ENABLED=0")
		for _, env := range s.find("ENV") {
			cgoOff = cgoOff || regexp.MustCompile(`\bCGO_ENABLED[= ]+0\b`).MatchString(env.args)
		}
		if !cgoOff {
			return errors.New("go build runs without CGO_ENABLED=0")
		}
		if !strings.Contains(run.args, "-trimpath") {
			return errors.New("go build runs without -trimpath")
		}
		return nil
	}},
	{"ldflags inject prometheus/common/version from build args", func(b dockerBuild) error {
		s, run, err := b.goBuild()
		if err != nil {
			return err
		}
		declared := s.args()
		for _, v := range []string{"Version", "Revision", "Branch", "BuildUser", "BuildDate"} {
			m := regexp.MustCompile(`-X[= ]github\.com/prometheus/common/version\.` + v + `=\$\{?(\w+)`).FindStringSubmatch(run.args)
			if m == nil {
				return fmt.Errorf("no -X github.com/prometheus/common/version.%s=${ARG} in go build", v)
			}
			if !declared[m[1]] {
				return fmt.Errorf("version.%s comes from $%s, which the builder stage doesn't declare as ARG", v, m[1])
			}
		}
		return nil
	}},
	{"final stage is distroless static or scratch", func(b dockerBuild) error {
		f := b.final()
		switch {
		case strings.HasPrefix(f.image, "gcr.io/distroless/static"):
			return nil
		case f.image == "scratch":
			for _, c := range f.find("COPY") {
				if strings.Contains(c.args, "ca-certificates") || strings.Contains(c.args, "/etc/ssl/certs") {
					return nil
				}
			}
			return errors.New("scratch final stage without CA certificates: the API is HTTPS")
		}
		return fmt.Errorf("final stage is %s, want gcr.io/distroless/static* or scratch", f.image)
	}},
	{"final stage runs as a non-root user", func(b dockerBuild) error {
		users := b.final().find("USER")
		if len(users) == 0 {
			return errors.New("no USER in the final stage")
		}
		last := users[len(users)-1]
		user, _, _ := strings.Cut(last.args, ":")
		if user == "" || user == "root" || user == "0" {
			return fmt.Errorf("line %d: USER %s is root", last.line, last.args)
		}
		return nil
	}},
	{"final stage exposes the default port", func(b dockerBuild) error {
		for _, e := range b.final().find("EXPOSE") {
			for _, p := range strings.Fields(e.args) {
				if strings.TrimSuffix(p, "/tcp") == dockerfileExposedPort {
					return nil
				}
			}
		}
		return fmt.Errorf("no EXPOSE %s in the final stage", dockerfileExposedPort)
	}},
	{"ENTRYPOINT is the copied binary, in exec form", func(b dockerBuild) error {
		f := b.final()
		eps := f.find("ENTRYPOINT")
		if len(eps) == 0 {
			return errors.New("no ENTRYPOINT in the final stage")
		}
		var argv []string
		// Exec form, so that the exporter is PID 1 and gets SIGTERM itself.
		if err := json.Unmarshal([]byte(eps[len(eps)-1].args), &argv); err != nil || len(argv) == 0 {
			return fmt.Errorf("ENTRYPOINT %s is not a JSON array (exec form)", eps[len(eps)-1].args)
		}
		for _, c := range f.find("COPY") {
			words := strings.Fields(c.args)
			if strings.HasPrefix(c.args, "--from=") && words[len(words)-1] == argv[0] {
				return nil
			}
		}
		return fmt.Errorf("ENTRYPOINT runs %s, which no COPY --from=... puts there", argv[0])
	}},
	{"no token or other secret baked in", func(b dockerBuild) error {
		for _, s := range b.stages {
			for _, in := range s.instr {
				if strings.Contains(strings.ToUpper(in.args), "FPTCLOUD_TOKEN") {
					return fmt.Errorf("line %d: %s mentions FPTCLOUD_TOKEN", in.line, in.cmd)
				}
				switch in.cmd {
				// CMD and ENTRYPOINT may name a token file to be mounted at run time.
				case "ENV", "ARG", "LABEL", "COPY", "ADD", "RUN":
					if dockerSecretWords.MatchString(in.args) {
						return fmt.Errorf("line %d: %s %s looks like it bakes a secret into the image", in.line, in.cmd, in.args)
					}
				}
			}
		}
		return nil
	}},
	{".dockerignore excludes .git and keeps the sources", func(b dockerBuild) error {
		if b.ignore == nil {
			return errors.New("no .dockerignore")
		}
		if !dockerignored(b.ignore, ".git/HEAD") {
			return errors.New(".dockerignore doesn't exclude .git")
		}
		for _, f := range b.goFiles {
			if dockerignored(b.ignore, f) {
				return fmt.Errorf(".dockerignore excludes %s, which the build needs", f)
			}
		}
		return nil
	}},
	{"main embeds time/tzdata", func(b dockerBuild) error {
		// The final image's time zone database must not matter: --fpt.timezone
		// has to load in a bare (scratch) container too.
		for name, src := range b.mainSrc {
			f, err := parser.ParseFile(gotoken.NewFileSet(), name, src, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == "time/tzdata" {
					return nil
				}
			}
		}
		return errors.New(`no file of package main imports _ "time/tzdata"`)
	}},
}

// loadDockerBuild reads the repo's Dockerfile, .dockerignore, go.mod and Go
// file names (the test runs in the repo root).
func loadDockerBuild(t *testing.T) dockerBuild {
	t.Helper()
	df, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	stages, err := parseDockerfile(string(df))
	require.NoError(t, err)
	require.NotEmpty(t, stages, "Dockerfile has no FROM")

	b := dockerBuild{stages: stages, mainSrc: map[string]string{}}
	if ig, err := os.ReadFile(".dockerignore"); err == nil {
		b.ignore = parseDockerignore(string(ig))
	} else {
		require.ErrorIs(t, err, fs.ErrNotExist)
	}

	mod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`).FindSubmatch(mod)
	require.NotNil(t, m, "go.mod has no go line")
	b.goVersion = string(m[1])

	b.goFiles = []string{"go.mod", "go.sum"}
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b.goFiles = append(b.goFiles, filepath.ToSlash(path))
		if filepath.Dir(path) == "." {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b.mainSrc[path] = string(src)
		}
		return nil
	})
	require.NoError(t, err)
	return b
}

func TestDockerfile(t *testing.T) {
	b := loadDockerBuild(t)
	for _, r := range dockerRules {
		t.Run(r.name, func(t *testing.T) {
			assert.NoError(t, r.check(b))
		})
	}
}

// TestDockerfileRulesCatchViolations shows that each rule can fail: a rule
// that passes whatever the Dockerfile says proves nothing.
func TestDockerfileRulesCatchViolations(t *testing.T) {
	const good = `# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS builder
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_USER=docker
ARG BUILD_DATE=
RUN CGO_ENABLED=0 go build -trimpath -o /out/x \
      -ldflags "-X github.com/prometheus/common/version.Version=${VERSION} \
        # a comment inside a continuation
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildUser=${BUILD_USER} \
        -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" .
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=builder /out/x /bin/x
USER 65532:65532
EXPOSE 10117
ENTRYPOINT ["/bin/x"]
`
	build := func(t *testing.T, dockerfile string, ignore []string) dockerBuild {
		t.Helper()
		stages, err := parseDockerfile(dockerfile)
		require.NoError(t, err)
		return dockerBuild{
			stages:    stages,
			ignore:    ignore,
			goVersion: "1.26.8",
			goFiles:   []string{"go.mod", "go.sum", "main.go", "fptapi/fptapitest/fake.go"},
			mainSrc:   map[string]string{"main.go": "package main\nimport _ \"time/tzdata\"\n"},
		}
	}
	okIgnore := []string{".git", "**/*_test.go", "**/testdata"}

	for _, r := range dockerRules {
		require.NoError(t, r.check(build(t, good, okIgnore)), "the good fixture breaks %q", r.name)
	}

	cases := []struct {
		name   string
		rule   string
		edit   func(string) string // applied to the good Dockerfile
		ignore []string
		main   string // replaces main.go's source when not ""
	}{
		{name: "single stage", rule: "multi-stage", edit: func(string) string {
			return "FROM golang:1.26.8\nRUN go build .\n"
		}},
		{name: "builder one patch behind", rule: "builder Go version equals go.mod", edit: dockerfileEdit("golang:1.26.8", "golang:1.26.7")},
		{name: "builder minor tag only", rule: "builder Go version equals go.mod", edit: dockerfileEdit("golang:1.26.8", "golang:1.26")},
		{name: "CGO left on", rule: "static build: CGO_ENABLED=0 and -trimpath", edit: dockerfileEdit("CGO_ENABLED=0 ", "")},
		{name: "no -trimpath", rule: "static build: CGO_ENABLED=0 and -trimpath", edit: dockerfileEdit("-trimpath ", "")},
		{name: "version.Revision not injected", rule: "ldflags inject prometheus/common/version from build args", edit: dockerfileEdit("version.Revision=", "version.Revisionx=")},
		{name: "BUILD_DATE not an ARG", rule: "ldflags inject prometheus/common/version from build args", edit: dockerfileEdit("ARG BUILD_DATE=\n", "")},
		{name: "alpine final stage", rule: "final stage is distroless static or scratch", edit: dockerfileEdit("gcr.io/distroless/static-debian12:nonroot", "alpine:3")},
		{name: "scratch without CA certificates", rule: "final stage is distroless static or scratch", edit: dockerfileEdit("gcr.io/distroless/static-debian12:nonroot", "scratch")},
		{name: "USER root", rule: "final stage runs as a non-root user", edit: dockerfileEdit("USER 65532:65532", "USER root")},
		{name: "USER 0:0", rule: "final stage runs as a non-root user", edit: dockerfileEdit("USER 65532:65532", "USER 0:0")},
		{name: "no USER", rule: "final stage runs as a non-root user", edit: dockerfileEdit("USER 65532:65532\n", "")},
		{name: "wrong port", rule: "final stage exposes the default port", edit: dockerfileEdit("EXPOSE 10117", "EXPOSE 9100")},
		{name: "shell-form ENTRYPOINT", rule: "ENTRYPOINT is the copied binary, in exec form", edit: dockerfileEdit(`ENTRYPOINT ["/bin/x"]`, "ENTRYPOINT /bin/x")},
		{name: "ENTRYPOINT not the copied binary", rule: "ENTRYPOINT is the copied binary, in exec form", edit: dockerfileEdit(`ENTRYPOINT ["/bin/x"]`, `ENTRYPOINT ["/bin/y"]`)},
		{name: "ENV FPTCLOUD_TOKEN", rule: "no token or other secret baked in", edit: dockerfileEdit("EXPOSE", "ENV FPTCLOUD_TOKEN=abc\nEXPOSE")},
		{name: "ARG API_TOKEN", rule: "no token or other secret baked in", edit: dockerfileEdit("EXPOSE", "ARG API_TOKEN\nEXPOSE")},
		{name: "COPY of a token file", rule: "no token or other secret baked in", edit: dockerfileEdit("EXPOSE", "COPY token.txt /etc/fptcloud/token\nEXPOSE")},
		{name: "no .dockerignore", rule: ".dockerignore excludes .git and keeps the sources", ignore: nil},
		{name: ".git not excluded", rule: ".dockerignore excludes .git and keeps the sources", ignore: []string{"**/*_test.go"}},
		{name: "sources excluded", rule: ".dockerignore excludes .git and keeps the sources", ignore: []string{".git", "*.go"}},
		{name: "fptapitest excluded", rule: ".dockerignore excludes .git and keeps the sources", ignore: []string{".git", "**/*test*"}},
		{name: "no time/tzdata", rule: "main embeds time/tzdata", main: "package main\nimport _ \"time\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			df := good
			if tc.edit != nil {
				df = tc.edit(good)
				require.NotEqual(t, good, df, "the edit changed nothing")
			}
			ignore := okIgnore
			if tc.edit == nil && tc.main == "" {
				ignore = tc.ignore
			}
			b := build(t, df, ignore)
			if tc.main != "" {
				b.mainSrc = map[string]string{"main.go": tc.main}
			}
			var failed []string
			for _, r := range dockerRules {
				if r.check(b) != nil {
					failed = append(failed, r.name)
				}
			}
			assert.Contains(t, failed, tc.rule)
		})
	}
}

func dockerfileEdit(from, to string) func(string) string {
	return func(s string) string { return strings.Replace(s, from, to, 1) }
}

func TestDockerignoreMatching(t *testing.T) {
	patterns := []string{".git", "/bin", "**/*_test.go", "**/testdata", "*.md", "!README.md", "fptcloud_exporter"}
	cases := []struct {
		path string
		want bool
	}{
		{".git/HEAD", true},
		{".git", true},
		{"bin/x", true},
		{"collector/bin/x", false},
		{"main_test.go", true},
		{"fptapi/client_test.go", true},
		{"fptapi/client.go", false},
		{"fptapi/testdata/fuzz/FuzzX/1", true},
		{"CHANGES.md", true},
		{"docs/x.md", false}, // * stays within one path element
		{"README.md", false},
		{"fptcloud_exporter", true},
		{"go.mod", false},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			assert.Equal(t, tc.want, dockerignored(patterns, tc.path))
		})
	}
}
