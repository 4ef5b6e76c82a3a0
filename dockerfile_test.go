package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// No Docker engine runs where the project is tested, so the image is not
// built here: this test reads the Dockerfile for what a release relies on.
// That the binary embeds the time zone database is deps_test.go's job.
func TestDockerfile(t *testing.T) {
	dockerfile, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	goMod, err := os.ReadFile("go.mod")
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
