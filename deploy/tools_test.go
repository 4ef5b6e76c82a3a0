package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// pinnedVersion reads the version of module from a go.mod of the tools, so
// the tests look for exactly what tools/install.sh built.
func pinnedVersion(t *testing.T, gomod, module string) string {
	t.Helper()
	data, err := os.ReadFile(gomod)
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^(?:require)?\s+` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindSubmatch(data)
	require.NotNil(t, m, "%s does not require %s", gomod, module)
	return string(m[1])
}

const installHint = "build it with deploy/tools/install.sh"

func helmBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FPTCLOUD_HELM"); p != "" {
		return testhelp.NeedFile(t, p, "FPTCLOUD_HELM names no file")
	}
	v := pinnedVersion(t, "tools/go.mod", "helm.sh/helm/v3")
	return testhelp.NeedFile(t, filepath.Join(testhelp.ToolDir("helm", v), "helm"), installHint)
}

func kubeBin(t *testing.T, name string) string {
	t.Helper()
	v := pinnedVersion(t, "tools/kubernetes/go.mod", "k8s.io/kubernetes")
	return testhelp.NeedFile(t, filepath.Join(testhelp.ToolDir("kubernetes", v), name), installHint)
}

// crdFiles are prometheus-operator's ServiceMonitor and PrometheusRule CRDs,
// generated from its Go types by tools/install.sh.
func crdFiles(t *testing.T) []string {
	t.Helper()
	v := pinnedVersion(t, "tools/go.mod", "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring")
	dir := testhelp.ToolDir("monitoring-crds", v)
	return []string{
		testhelp.NeedFile(t, filepath.Join(dir, "monitoring.coreos.com_servicemonitors.yaml"), installHint),
		testhelp.NeedFile(t, filepath.Join(dir, "monitoring.coreos.com_prometheusrules.yaml"), installHint),
	}
}

// runner runs a tool with a fixed environment (Helm's and kubectl's homes in
// a temp dir, the kubeconfig of the test's API server).
type runner struct {
	env []string
}

func newRunner(t *testing.T) *runner {
	t.Helper()
	home := t.TempDir()
	return &runner{env: append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-cluster"),
		"HOME="+home,
	)}
}

// run returns the command's standard output, and an error carrying its
// standard error when it fails.
func (r *runner) run(ctx context.Context, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = r.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func (r *runner) must(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := r.run(t.Context(), bin, args...)
	require.NoError(t, err)
	return out
}
