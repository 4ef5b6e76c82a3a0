package deploy

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// TestChartOnAPIServer proves the chart on a real kube-apiserver backed by
// etcd, both on 127.0.0.1: every rendered value set and the plain manifests
// pass the server's strict validation (the CRDs of prometheus-operator
// included), a real helm install and uninstall work, and wrong values fail
// helm install. Nothing runs pods: there is no kubelet, scheduler or
// controller manager, so the Deployment is stored, not started.
func TestChartOnAPIServer(t *testing.T) {
	t.Parallel()
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("API server test: skipped with -short (it always runs when CI is set)")
	}
	helm := helmBin(t)
	kubectl := kubeBin(t, "kubectl")
	apiserver := kubeBin(t, "kube-apiserver")
	etcd := testhelp.LookDebian(t, "etcd", "etcd-server")
	crds := crdFiles(t)

	dir := t.TempDir()
	r := newRunner(t)
	// Stopped in reverse order by t.Cleanup: the API server before etcd.
	etcdURL := startEtcd(t, dir, etcd)
	kubeconfig := startAPIServer(t, dir, apiserver, etcdURL)
	r.env = append(r.env, "KUBECONFIG="+kubeconfig)
	waitAPIServer(t, r, kubectl)

	for _, crd := range crds {
		r.must(t, kubectl, "apply", "--server-side", "-f", crd)
	}
	r.must(t, kubectl, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com")
	for _, ns := range []string{"fptcloud", "monitoring"} {
		r.must(t, kubectl, "create", "namespace", ns)
	}

	t.Run("every ci value set passes strict server validation", func(t *testing.T) {
		for _, file := range ciValueFiles(t) {
			rendered := filepath.Join(t.TempDir(), filepath.Base(file))
			require.NoError(t, os.WriteFile(rendered, []byte(template(t, r, helm, "--values", file)), 0o644))
			out := r.must(t, kubectl, "apply", "--dry-run=server", "--validate=strict", "-f", rendered)
			assert.Contains(t, out, "deployment.apps/fptcloud-fptcloud-exporter created (server dry run)", file)
		}
	})

	t.Run("the plain manifests pass strict server validation", func(t *testing.T) {
		for _, p := range plainManifests {
			out := r.must(t, kubectl, "apply", "--dry-run=server", "--validate=strict", "-f", p.file)
			assert.Contains(t, out, "(server dry run)", p.file)
		}
	})

	t.Run("strict validation catches a field the schema lets through", func(t *testing.T) {
		// extraEnv and relabelings are free-form in the chart's schema;
		// their misspellings are the API server's to catch.
		for _, set := range []string{
			"extraEnv[0].name=GOMEMLIMIT,extraEnv[0].valeu=100MiB",
			"serviceMonitor.relabelings[0].sourceLabel=x",
		} {
			rendered := filepath.Join(t.TempDir(), "bad.yaml")
			require.NoError(t, os.WriteFile(rendered, []byte(template(t, r, helm, "--set", "token.value=x", "--set", set)), 0o644))
			_, err := r.run(t.Context(), kubectl, "apply", "--dry-run=server", "--validate=strict", "-f", rendered)
			require.Error(t, err, set)
			assert.Contains(t, err.Error(), "unknown field", set)
			t.Logf("refused as it should be: %v", err)
		}
	})

	t.Run("helm install and uninstall", func(t *testing.T) {
		values := filepath.Join(chartDir, "ci", "chart-secret-values.yaml")
		r.must(t, helm, "install", "ci", chartDir, "--namespace", "fptcloud", "--values", values)
		// The cluster serves the CRDs, so the operator's objects are made
		// without being asked for.
		for _, obj := range []string{
			"deployment/ci-fptcloud-exporter", "service/ci-fptcloud-exporter", "secret/ci-fptcloud-exporter-token",
			"configmap/ci-fptcloud-exporter-dashboard", "servicemonitor/ci-fptcloud-exporter",
			"prometheusrule/ci-fptcloud-exporter", "serviceaccount/ci-fptcloud-exporter",
		} {
			r.must(t, kubectl, "--namespace", "fptcloud", "get", obj)
		}
		// What kube-prometheus-stack's default serviceMonitorSelector and
		// ruleSelector select.
		out := r.must(t, kubectl, "--namespace", "fptcloud", "get", "servicemonitor,prometheusrule",
			"--selector", "release=kube-prometheus-stack", "--output", "name")
		assert.ElementsMatch(t, []string{
			"servicemonitor.monitoring.coreos.com/ci-fptcloud-exporter",
			"prometheusrule.monitoring.coreos.com/ci-fptcloud-exporter",
		}, strings.Fields(out))
		out = r.must(t, helm, "list", "--namespace", "fptcloud", "--short")
		assert.Equal(t, "ci", strings.TrimSpace(out))

		r.must(t, helm, "uninstall", "ci", "--namespace", "fptcloud", "--wait")
		out = r.must(t, kubectl, "--namespace", "fptcloud", "get", "deployment,service,secret,configmap,servicemonitor,prometheusrule",
			"--selector", "app.kubernetes.io/instance=ci", "--output", "name")
		assert.Empty(t, strings.TrimSpace(out), "left behind by helm uninstall")
	})

	t.Run("two accounts: helm install and upgrades that change an account or a token", func(t *testing.T) {
		kget := func(obj, jsonpath string) string {
			return r.must(t, kubectl, "--namespace", "fptcloud", "get", obj, "--output", "jsonpath="+jsonpath)
		}
		// The API server bumps a Deployment's generation on every change of
		// its spec, the pod template's included: what would roll the pod.
		generation := func() string { return kget("deployment/multi-fptcloud-exporter", "{.metadata.generation}") }
		upgrade := func(values map[string]any) {
			data, err := yaml.Marshal(values)
			require.NoError(t, err)
			file := filepath.Join(t.TempDir(), "values.yaml")
			require.NoError(t, os.WriteFile(file, data, 0o644))
			r.must(t, helm, "upgrade", "multi", chartDir, "--namespace", "fptcloud", "--values", file)
		}

		r.must(t, helm, "install", "multi", chartDir, "--namespace", "fptcloud", "--values", accountsValues)
		t.Cleanup(func() { // also when a check below fails, for the subtests after it
			_, _ = r.run(context.Background(), helm, "uninstall", "multi", "--namespace", "fptcloud", "--wait")
		})
		file, err := config.ParseFile([]byte(kget("configmap/multi-fptcloud-exporter-config", `{.data.accounts\.yml}`)))
		require.NoError(t, err, "the exporter refuses the accounts file as the cluster holds it")
		assert.Equal(t, []string{"hn-prod", "JP.tokyo_1"}, file.Names())
		// The chart's Secret keys each token by its account's name.
		madeToken := func() string {
			raw, err := base64.StdEncoding.DecodeString(kget("secret/multi-fptcloud-exporter-token", `{.data.JP\.tokyo_1}`))
			require.NoError(t, err)
			return string(raw)
		}
		assert.Equal(t, ciToken, madeToken())
		checksum := func() string {
			return kget("deployment/multi-fptcloud-exporter", `{.spec.template.metadata.annotations['checksum/config']}`)
		}
		before, beforeSum := generation(), checksum()
		require.NotEmpty(t, beforeSum)

		values := readValues(t, accountsValues)
		get(values, "accounts", 1).(map[string]any)["token"] = map[string]any{"value": ciToken + "-rotated"}
		upgrade(values)
		assert.Equal(t, before, generation(), "a rotated token changed the Deployment")
		assert.Equal(t, ciToken+"-rotated", madeToken())

		get(values, "accounts", 0).(map[string]any)["budgets"].(map[string]any)["dailyVND"] = "6tr"
		upgrade(values)
		assert.NotEqual(t, before, generation(), "a changed budget left the pod template as it was")
		assert.NotEqual(t, beforeSum, checksum())
		assert.Contains(t, kget("configmap/multi-fptcloud-exporter-config", `{.data.accounts\.yml}`), `daily_vnd: "6tr"`)
	})

	t.Run("wrong values fail helm install", func(t *testing.T) {
		for _, bad := range badValues {
			args := append([]string{"install", "bad", chartDir, "--namespace", "fptcloud"}, bad.args...)
			_, err := r.run(t.Context(), helm, args...)
			require.Error(t, err, bad.name)
			assert.Contains(t, err.Error(), bad.message, bad.name)
		}
		out := r.must(t, helm, "list", "--namespace", "fptcloud", "--all", "--short")
		assert.Empty(t, strings.TrimSpace(out), "a refused install left a release")
	})
}

// startEtcd runs a one-member etcd on loopback ports of its own choosing
// (port 0) and returns its client URL, read from its log. Its gRPC gateway
// is off: the gateway would dial the client URL as given, port 0, and the
// API server speaks gRPC to the port etcd bound.
func startEtcd(t *testing.T, dir, bin string) string {
	t.Helper()
	const anyPort = "http://127.0.0.1:0"
	addr, _ := testhelp.StartServer(t, dir, "etcd", etcdClientAddr, bin,
		"--name=ci",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+anyPort, "--advertise-client-urls="+anyPort,
		"--listen-peer-urls="+anyPort, "--initial-advertise-peer-urls="+anyPort,
		"--initial-cluster=ci="+anyPort, // one member: its peer URL is never dialled
		"--enable-grpc-gateway=false",
		"--logger=zap", "--log-level=info", // for the line etcdClientAddr reads
	)
	return "http://" + addr
}

// etcdClientLineRE matches the line etcd's zap logger writes once its client
// listener is bound, e.g.
//
//	{"level":"info",...,"msg":"serving client traffic insecurely; this is strongly discouraged!","address":"127.0.0.1:38775"}
var etcdClientLineRE = regexp.MustCompile(`"msg":"serving client traffic insecurely[^"]*","address":"([^"]+)"`)

func etcdClientAddr(log string) (string, bool) {
	m := etcdClientLineRE.FindStringSubmatch(log)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// apiServerServingOn is the AddrFunc of kube-apiserver: klog's line once
// the secure port is bound.
func apiServerServingOn(log string) (string, bool) {
	_, rest, ok := strings.Cut(log, "Serving securely on ")
	if !ok {
		return "", false
	}
	addr, _, complete := strings.Cut(rest, "\n")
	return strings.TrimSpace(addr), complete
}

// startAPIServer runs kube-apiserver on a loopback port with a serving
// certificate it makes itself and one static admin token, and returns a
// kubeconfig for it.
//
// kube-apiserver cannot take port 0 ("--secure-port 0 must be between 1
// and 65535, inclusive. It cannot be turned off with 0"). So it binds a
// port testhelp.FreeAddr freed a moment before; should another process
// have taken the port in between, the API server exits saying so, and it
// is started again on another one.
func startAPIServer(t *testing.T, dir, bin, etcdURL string) string {
	t.Helper()
	const token = "fptcloud-ci-admin" // a throwaway cluster's throwaway token
	tokens := filepath.Join(dir, "tokens.csv")
	require.NoError(t, os.WriteFile(tokens, []byte(token+",admin,admin,system:masters\n"), 0o600))
	saKey := filepath.Join(dir, "service-account.key")
	writeRSAKey(t, saKey)

	var addr string
	for attempt := 1; ; attempt++ {
		addr = testhelp.FreeAddr(t)
		_, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		p := testhelp.Start(t, dir, fmt.Sprintf("kube-apiserver-%d", attempt), bin,
			"--etcd-servers="+etcdURL,
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--secure-port="+port,
			"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
			"--token-auth-file="+tokens,
			"--authorization-mode=AlwaysAllow",
			"--service-account-issuer=https://kubernetes.default.svc",
			"--service-account-key-file="+saKey,
			"--service-account-signing-key-file="+saKey,
			"--service-cluster-ip-range=10.96.0.0/24",
			// Alone on loopback: no Endpoints for the kubernetes Service, which
			// the default reconciler would insist on (127.0.0.1 is refused).
			"--endpoint-reconciler-type=none",
		)
		_, err = p.Addr(t, apiServerServingOn)
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(p.Log(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("port %s was taken before the API server bound it; again on another", port)
	}

	kubeconfig := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
  - name: ci
    cluster:
      server: https://%s
      insecure-skip-tls-verify: true
users:
  - name: admin
    user:
      token: %s
contexts:
  - name: ci
    context: {cluster: ci, user: admin}
current-context: ci
`, addr, token)), 0o600))
	return kubeconfig
}

func writeRSAKey(t *testing.T, path string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
}

// waitAPIServer waits until the API server is ready and has made the
// default namespace; 2 minutes at most.
func waitAPIServer(t *testing.T, r *runner, kubectl string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var err error
	for time.Now().Before(deadline) {
		if _, err = r.run(t.Context(), kubectl, "get", "--raw=/readyz"); err == nil {
			if _, err = r.run(t.Context(), kubectl, "get", "namespace", "default"); err == nil {
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("the API server is not ready after 2 minutes: %v", err)
}
