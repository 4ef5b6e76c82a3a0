package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// prometheus3Version is the Prometheus 3 release the rules are proven on,
// besides Debian's 2.x; deploy/tools/install.sh builds it.
const prometheus3Version = "3.16.0"

// prometheus3Dir is where deploy/tools/install.sh puts Prometheus 3's
// binaries, away from PATH so that Debian's 2.x keeps the plain names:
// $FPTCLOUD_PROMETHEUS3_DIR, else the install script's cache directory.
func prometheus3Dir() string {
	if dir := os.Getenv("FPTCLOUD_PROMETHEUS3_DIR"); dir != "" {
		return dir
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(cache, "fptcloud_exporter-ci", "prometheus-"+prometheus3Version, "bin")
}

// forEachPrometheus runs f once for Debian's Prometheus 2 and once for
// Prometheus 3, each as a subtest given the path of the named binary
// (prometheus or promtool). A missing release skips its subtest with a
// message, except when CI is set: then it fails.
func forEachPrometheus(t *testing.T, name string, f func(t *testing.T, bin string)) {
	t.Helper()
	t.Run("prometheus2", func(t *testing.T) {
		f(t, lookTool(t, name, "prometheus"))
	})
	t.Run("prometheus3", func(t *testing.T) {
		f(t, lookPrometheus3(t, name))
	})
}

func lookPrometheus3(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(prometheus3Dir(), name)
	if _, err := os.Stat(bin); err != nil {
		msg := "Prometheus " + prometheus3Version + " " + name + " not found at " + bin +
			": build it with deploy/tools/install.sh (or set FPTCLOUD_PROMETHEUS3_DIR)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; it is required when CI is set")
		}
		t.Skip(msg + " to run this test")
	}
	// The right release, not a stray 2.x.
	out, err := exec.CommandContext(t.Context(), bin, "--version").CombinedOutput()
	require.NoError(t, err, "%s --version:\n%s", bin, out)
	require.Contains(t, string(out), "version "+prometheus3Version, "%s --version", bin)
	return bin
}

// promtoolVersion is the first line of promtool --version, for messages.
func promtoolVersion(t *testing.T, promtool string) string {
	t.Helper()
	out, _ := exec.CommandContext(t.Context(), promtool, "--version").CombinedOutput()
	first, _, _ := strings.Cut(string(out), "\n")
	return first
}
