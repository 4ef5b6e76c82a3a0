package testhelp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// prometheus3Version is the Prometheus 3 release that deploy/tools/install.sh
// builds besides Debian's 2.x.
const prometheus3Version = "3.16.0"

// SkipOrFail skips the test for want of a tool, msg saying how to get it,
// or fails it when CI is set: CI must run every test.
func SkipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; it is required when CI is set")
	}
	t.Skip(msg + " to run this test")
}

// LookDebian finds a program of one of Debian's packages on PATH, or skips
// (fails in CI) saying which package to install.
func LookDebian(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		SkipOrFail(t, name+" not found on PATH: install Debian's "+pkg+" package (apt-get install "+pkg+")")
	}
	return path
}

// NeedFile returns path if it exists. Otherwise the test is skipped with a
// message saying how to get it, or fails when CI is set.
func NeedFile(t testing.TB, path, how string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		SkipOrFail(t, path+" not found: "+how)
	}
	return path
}

// ToolDir holds the binaries deploy/tools/install.sh builds of one tool at
// one version, under $FPTCLOUD_TOOLS_CACHE, else the user's cache.
func ToolDir(name, version string) string {
	cache := os.Getenv("FPTCLOUD_TOOLS_CACHE")
	if cache == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(dir, "fptcloud_exporter-ci")
		}
	}
	return filepath.Join(cache, name+"-"+version, "bin")
}

// ForEachPrometheus runs f as a subtest for Debian's Prometheus 2 and for
// Prometheus 3, with look finding a binary of that release (prometheus or
// promtool), or skipping (failing in CI) saying how to get it.
func ForEachPrometheus(t *testing.T, f func(t *testing.T, look func(name string) string)) {
	t.Helper()
	t.Run("prometheus2", func(t *testing.T) {
		f(t, func(name string) string { return LookDebian(t, name, "prometheus") })
	})
	t.Run("prometheus3", func(t *testing.T) {
		f(t, func(name string) string { return lookPrometheus3(t, name) })
	})
}

// lookPrometheus3 finds a binary of Prometheus 3 and checks that it is not a
// stray 2.x.
func lookPrometheus3(t *testing.T, name string) string {
	t.Helper()
	bin := NeedFile(t, filepath.Join(prometheus3Dir(), name),
		"build Prometheus "+prometheus3Version+" with deploy/tools/install.sh (or set FPTCLOUD_PROMETHEUS3_DIR)")
	out, err := exec.CommandContext(t.Context(), bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "version "+prometheus3Version) {
		t.Fatalf("%s --version: want version %s, got %v:\n%s", bin, prometheus3Version, err, out)
	}
	return bin
}

// prometheus3Dir holds Prometheus 3's binaries, kept off PATH for Debian's
// 2.x to keep the plain names: $FPTCLOUD_PROMETHEUS3_DIR, else where
// deploy/tools/install.sh builds them.
func prometheus3Dir() string {
	if dir := os.Getenv("FPTCLOUD_PROMETHEUS3_DIR"); dir != "" {
		return dir
	}
	return ToolDir("prometheus", prometheus3Version)
}
