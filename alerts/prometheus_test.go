package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// prometheus3Version is the Prometheus 3 release the rules are proven on,
// besides Debian's 2.x; deploy/tools/install.sh builds it.
// forEachPrometheus runs f once for Debian's Prometheus 2 and once for
// Prometheus 3, each as a subtest given the path of the named binary
// (prometheus or promtool). A missing release skips its subtest with a
// message, except when CI is set: then it fails.
func forEachPrometheus(t *testing.T, name string, f func(t *testing.T, bin string)) {
	t.Helper()
	t.Run("prometheus2", func(t *testing.T) {
		f(t, testhelp.LookDebian(t, name, "prometheus"))
	})
	t.Run("prometheus3", func(t *testing.T) {
		f(t, lookPrometheus3(t, name))
	})
}

func lookPrometheus3(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(testhelp.Prometheus3Dir(), name)
	if _, err := os.Stat(bin); err != nil {
		testhelp.SkipOrFail(t, "Prometheus "+testhelp.Prometheus3Version+" "+name+" not found at "+bin+
			": build it with deploy/tools/install.sh (or set FPTCLOUD_PROMETHEUS3_DIR)")
	}
	// The right release, not a stray 2.x.
	out, err := exec.CommandContext(t.Context(), bin, "--version").CombinedOutput()
	require.NoError(t, err, "%s --version:\n%s", bin, out)
	require.Contains(t, string(out), "version "+testhelp.Prometheus3Version, "%s --version", bin)
	return bin
}

// promtoolVersion is the first line of promtool --version, for messages.
func promtoolVersion(t *testing.T, promtool string) string {
	t.Helper()
	out, _ := exec.CommandContext(t.Context(), promtool, "--version").CombinedOutput()
	first, _, _ := strings.Cut(string(out), "\n")
	return first
}
