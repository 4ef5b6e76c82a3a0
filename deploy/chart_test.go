package deploy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

var update = flag.Bool("update", false, "rewrite the chart's copies of the rules and dashboard, and the plain manifests")

const (
	chartDir = "helm/fptcloud-exporter"
	// The token of the ci/ value sets that make the Secret: it must appear
	// nowhere in a rendering but base64-encoded in that Secret.
	ciToken = "ci-not-a-real-token"
	// Every prometheus-operator kind the chart uses, as --api-versions
	// says a cluster serves it.
	serviceMonitorAPI = "monitoring.coreos.com/v1/ServiceMonitor"
	prometheusRuleAPI = "monitoring.coreos.com/v1/PrometheusRule"
)

// chartCopies are the files the chart ships from elsewhere in the
// repository: Helm reads no file outside a chart's directory, so the chart
// holds copies, and this list says of what.
var chartCopies = map[string]string{
	"files/fptcloud-rules.yml":    "../alerts/fptcloud-rules.yml",
	"files/fptcloud-alerts.yml":   "../alerts/fptcloud-alerts.yml",
	"files/fptcloud-billing.json": "../dashboards/fptcloud-billing.json",
}

func TestChartCopiesInSync(t *testing.T) {
	if !*update { // -update rewrites files that the other tests read
		t.Parallel()
	}
	for copyName, source := range chartCopies {
		want, err := os.ReadFile(source)
		require.NoError(t, err)
		path := filepath.Join(chartDir, copyName)
		if *update {
			require.NoError(t, os.WriteFile(path, want, 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got),
			"%s differs from %s: run go test ./deploy -run TestChartCopiesInSync -update", path, source)
	}
}

// manifest is one rendered Kubernetes object.
type manifest map[string]any

func (m manifest) kind() string { return str(m, "kind") }
func (m manifest) name() string { return str(m, "metadata", "name") }

// get walks maps by key and lists by index (an int key).
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			switch m := v.(type) {
			case manifest:
				v = m[k]
			case map[string]any:
				v = m[k]
			default:
				return nil
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func parseManifests(t *testing.T, rendered string) []manifest {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(rendered))
	var out []manifest
	for {
		// Into a plain map: yaml would make every nested map a manifest.
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if m != nil {
			out = append(out, manifest(m))
		}
	}
	return out
}

func ofKind(ms []manifest, kind string) []manifest {
	var out []manifest
	for _, m := range ms {
		if m.kind() == kind {
			out = append(out, m)
		}
	}
	return out
}

// ciValueFiles are the chart's ci/*-values.yaml, the chart-testing
// convention: each is one way users install it.
func ciValueFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// template renders the chart as a cluster with prometheus-operator would
// have it, unless more args say otherwise.
func template(t *testing.T, r *runner, helm string, args ...string) string {
	t.Helper()
	return r.must(t, helm, append([]string{"template", "fptcloud", chartDir, "--namespace", "fptcloud",
		"--api-versions", serviceMonitorAPI, "--api-versions", prometheusRuleAPI}, args...)...)
}

func TestChartLint(t *testing.T) {
	t.Parallel()
	helm := helmBin(t)
	r := newRunner(t)
	for _, file := range ciValueFiles(t) {
		out := r.must(t, helm, "lint", "--strict", chartDir, "--values", file)
		assert.Contains(t, out, "0 chart(s) failed", file)
	}
}

func TestChartRendersEachCIValueSet(t *testing.T) {
	t.Parallel()
	helm := helmBin(t)
	promtool := testhelp.LookDebian(t, "promtool", "prometheus")
	r := newRunner(t)
	for _, file := range ciValueFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			rendered := template(t, r, helm, "--values", file)
			ms := parseManifests(t, rendered)
			checkDeployment(t, ms)
			checkTokenSecret(t, ms, rendered)
			checkService(t, ms)
			checkPrometheusRule(t, r, promtool, ms)
			checkDashboard(t, ms)

			base := filepath.Base(file)
			deploy := ofKind(ms, "Deployment")[0]
			pod := get(deploy, "spec", "template", "spec")
			container := get(pod, "containers", 0)
			args := stringList(get(container, "args"))
			switch base {
			case "pvc-values.yaml":
				assert.Equal(t, "Recreate", str(deploy, "spec", "strategy", "type"), "a ReadWriteOnce claim needs Recreate")
				require.Len(t, ofKind(ms, "PersistentVolumeClaim"), 1)
				assert.Equal(t, ofKind(ms, "PersistentVolumeClaim")[0].name(), str(volume(t, pod, "data"), "persistentVolumeClaim", "claimName"))
			default:
				assert.Nil(t, get(deploy, "spec", "strategy"), "RollingUpdate with an emptyDir")
				assert.NotNil(t, get(volume(t, pod, "data"), "emptyDir"))
			}
			if base == "tls-values.yaml" {
				assert.Contains(t, args, "--web.config.file=/etc/fptcloud_exporter/web/web-config.yml")
				assert.Equal(t, "fptcloud-web-config", str(volume(t, pod, "web-config"), "secret", "secretName"))
				assert.Equal(t, "HTTPS", str(container, "readinessProbe", "httpGet", "scheme"))
				assert.Equal(t, "https", str(ofKind(ms, "ServiceMonitor")[0], "spec", "endpoints", 0, "scheme"))
			}
			if base == "accounts-values.yaml" {
				checkAccounts(t, ms)
			} else {
				for _, cm := range ofKind(ms, "ConfigMap") {
					assert.NotEqual(t, "fptcloud-fptcloud-exporter-config", cm.name(), "an accounts file without accounts")
				}
			}
			if base == "no-servicemonitor-values.yaml" {
				assert.Empty(t, ofKind(ms, "ServiceMonitor"))
				assert.Empty(t, ofKind(ms, "PrometheusRule"))
				assert.Contains(t, args, "--collector.max-series=20000")
			} else {
				assert.Len(t, ofKind(ms, "ServiceMonitor"), 1)
				assert.Len(t, ofKind(ms, "PrometheusRule"), 1)
			}
		})
	}
}

// The ServiceMonitor and PrometheusRule are made by default only where the
// cluster serves their API.
func TestChartOperatorObjectsFollowTheCluster(t *testing.T) {
	t.Parallel()
	helm := helmBin(t)
	r := newRunner(t)
	values := filepath.Join(chartDir, "ci", "chart-secret-values.yaml")
	bare := parseManifests(t, r.must(t, helm, "template", "fptcloud", chartDir, "--values", values))
	assert.Empty(t, ofKind(bare, "ServiceMonitor"), "no CRD, no ServiceMonitor")
	assert.Empty(t, ofKind(bare, "PrometheusRule"), "no CRD, no PrometheusRule")
	withCRDs := parseManifests(t, template(t, r, helm, "--values", values))
	assert.Len(t, ofKind(withCRDs, "ServiceMonitor"), 1)
	assert.Len(t, ofKind(withCRDs, "PrometheusRule"), 1)
}

func stringList(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

func volume(t *testing.T, pod any, name string) any {
	t.Helper()
	vols, _ := get(pod, "volumes").([]any)
	for _, v := range vols {
		if str(v, "name") == name {
			return v
		}
	}
	t.Fatalf("no volume %s", name)
	return nil
}

func mountPath(pod any, name string) string {
	mounts, _ := get(pod, "containers", 0, "volumeMounts").([]any)
	for _, m := range mounts {
		if str(m, "name") == name {
			return str(m, "mountPath")
		}
	}
	return ""
}

// checkDeployment holds what every installation must have: one replica,
// the token as a file, a locked-down container, probes, sized resources and
// the month cache volume.
func checkDeployment(t *testing.T, ms []manifest) {
	t.Helper()
	deploys := ofKind(ms, "Deployment")
	require.Len(t, deploys, 1)
	d := deploys[0]
	assert.Equal(t, 1, get(d, "spec", "replicas"))
	pod := get(d, "spec", "template", "spec")
	c := get(pod, "containers", 0)
	args := stringList(get(c, "args"))

	if slices.Contains(args, accountsFileArg) {
		// Several accounts: their tokens are files of the tokens volume,
		// which checkAccounts holds to the accounts file.
		assert.Equal(t, accountTokensDir, mountPath(pod, "tokens"))
		assert.Equal(t, path.Dir(accountsFilePath), mountPath(pod, "config"))
		for _, arg := range args {
			assert.False(t, perAccountFlag.MatchString(arg), "%s with --config.file, which the exporter refuses", arg)
		}
	} else {
		assert.Contains(t, args, "--fpt.token-file=/etc/fptcloud_exporter/token/token")
		assert.Equal(t, "/etc/fptcloud_exporter/token", mountPath(pod, "token"))
		assert.NotEmpty(t, str(volume(t, pod, "token"), "secret", "secretName"))
	}
	assert.Nil(t, get(c, "env"), "the token is never an environment variable")

	assert.Contains(t, args, "--storage.path=/data")
	assert.Equal(t, "/data", mountPath(pod, "data"))

	assert.Equal(t, true, get(pod, "securityContext", "runAsNonRoot"))
	assert.Equal(t, "RuntimeDefault", str(pod, "securityContext", "seccompProfile", "type"))
	assert.Equal(t, false, get(c, "securityContext", "allowPrivilegeEscalation"))
	assert.Equal(t, true, get(c, "securityContext", "readOnlyRootFilesystem"))
	assert.Equal(t, []any{"ALL"}, get(c, "securityContext", "capabilities", "drop"))
	assert.Equal(t, false, get(pod, "automountServiceAccountToken"))

	assert.Equal(t, "/-/ready", str(c, "readinessProbe", "httpGet", "path"))
	assert.Equal(t, "/-/healthy", str(c, "livenessProbe", "httpGet", "path"))
	assert.NotEmpty(t, str(c, "resources", "requests", "memory"))
	assert.NotEmpty(t, str(c, "resources", "limits", "memory"))
}

func checkTokenSecret(t *testing.T, ms []manifest, rendered string) {
	t.Helper()
	secrets := ofKind(ms, "Secret")
	if len(secrets) == 0 {
		assert.NotContains(t, rendered, ciToken)
		return
	}
	require.Len(t, secrets, 1)
	// One token under the key token, or one per account under its name.
	data, _ := get(secrets[0], "data").(map[string]any)
	require.NotEmpty(t, data)
	for key, v := range data {
		s, _ := v.(string)
		raw, err := base64.StdEncoding.DecodeString(s)
		require.NoError(t, err)
		assert.Equal(t, ciToken, string(raw), key)
	}
	assert.NotContains(t, rendered, ciToken, "the token in clear outside the Secret's data")
}

func checkService(t *testing.T, ms []manifest) {
	t.Helper()
	svcs := ofKind(ms, "Service")
	require.Len(t, svcs, 1)
	assert.Equal(t, "metrics", str(svcs[0], "spec", "ports", 0, "targetPort"))
	for _, sm := range ofKind(ms, "ServiceMonitor") {
		assert.Equal(t, "metrics", str(sm, "spec", "endpoints", 0, "port"))
	}
}

// checkPrometheusRule holds the PrometheusRule to exactly the groups of the
// shipped rule files, and has promtool check them as extracted.
func checkPrometheusRule(t *testing.T, r *runner, promtool string, ms []manifest) {
	t.Helper()
	rules := ofKind(ms, "PrometheusRule")
	if len(rules) == 0 {
		return
	}
	var want []any
	for _, f := range []string{"../alerts/fptcloud-rules.yml", "../alerts/fptcloud-alerts.yml"} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(data, &doc))
		want = append(want, doc["groups"].([]any)...)
	}
	got := get(rules[0], "spec", "groups")
	assert.Equal(t, want, got, "the PrometheusRule's groups are the rule files' groups")

	extracted, err := yaml.Marshal(map[string]any{"groups": got})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "prometheusrule.yml")
	require.NoError(t, os.WriteFile(path, extracted, 0o644))
	out := r.must(t, promtool, "check", "rules", path)
	assert.Contains(t, out, "SUCCESS")
}

func checkDashboard(t *testing.T, ms []manifest) {
	t.Helper()
	var found bool
	for _, cm := range ofKind(ms, "ConfigMap") {
		if !strings.HasSuffix(cm.name(), "-dashboard") {
			continue
		}
		found = true
		want, err := os.ReadFile("../dashboards/fptcloud-billing.json")
		require.NoError(t, err)
		assert.Equal(t, string(want), str(cm, "data", "fptcloud-billing.json"), "the dashboard, byte for byte")
		assert.Equal(t, "1", str(cm, "metadata", "labels", "grafana_dashboard"))
	}
	assert.True(t, found, "no dashboard ConfigMap")
}

// badValues are wrong values the chart must refuse before anything reaches
// the cluster, with the message that says why (none of which repeats the
// command line, which the error also holds).
var badValues = []struct {
	name    string
	args    []string
	message string
}{
	{"misspelled key", []string{"--set", "token.value=x", "--set", "servicMonitor.enabled=false"}, "additional properties 'servicMonitor' not allowed"},
	{"unknown nested key", []string{"--set", "token.value=x", "--set", "storage.emptyDir.sizelimit=1Gi"}, "at '/storage/emptyDir': additional properties 'sizelimit' not allowed"},
	{"wrong type", []string{"--set", "token.value=x", "--set", "service.port=http"}, "at '/service/port': got string, want integer"},
	{"wrong enum", []string{"--set", "token.value=x", "--set", "storage.type=hostPath"}, "at '/storage/type': value must be one of"},
	{"bad budget", []string{"--set", "token.value=x", "--set", "budgets.dailyVND=5 USD"}, "'5 USD' does not match pattern"},
	{"ambiguous budget", []string{"--set", "token.value=x", "--set", "budgets.billingGroupDailyVND.a=5.000"}, "'5.000' does not match pattern"},
	{"zero budget", []string{"--set", "token.value=x", "--set", "budgets.monthlyVND=0"}, "at '/budgets/monthlyVND': minimum: got 0, want 1"},
	{"fractional number budget", []string{"--set", "token.value=x", "--set-json", "budgets.monthlyVND=1.5"}, "at '/budgets/monthlyVND': got number, want integer"},
	// The exporter refuses these at start (a crash loop): the schema must too.
	{"zero budget as a string", []string{"--set", "token.value=x", "--set-string", "budgets.dailyVND=0"}, "at '/budgets/dailyVND'"},
	{"zero budget with a suffix", []string{"--set", "token.value=x", "--set-string", "budgets.monthlyVND=0tr"}, "at '/budgets/monthlyVND'"},
	{"budget for an empty group name", []string{"--set", "token.value=x", "--set-json", `budgets.billingGroupDailyVND={"":"5tr"}`}, "invalid propertyName ''"},
	{"bad release label", []string{"--set", "token.value=x", "--set", "kubePrometheusStackRelease=kube prometheus"}, "at '/kubePrometheusStackRelease': 'kube prometheus' does not match pattern"},
	{"missing token", nil, "the exporter needs an FPT Cloud API token"},
	{"two tokens", []string{"--set", "token.value=x", "--set", "token.existingSecret=s"}, "set only one of token.existingSecret and token.value"},

	// Several accounts.
	{"account name not a name", accountsJSON(`{"name":"hn/prod","token":{"value":"x"}}`), "at '/accounts/0/name': 'hn/prod' does not match pattern"},
	{"account name too long", accountsJSON(`{"name":"` + strings.Repeat("a", 64) + `","token":{"value":"x"}}`), "at '/accounts/0/name'"},
	{"account names twice", accountsJSON(`{"name":"hn","token":{"value":"x"}}`, `{"name":"hn","token":{"existingSecret":"s"}}`), `accounts: the name "hn" is given twice`},
	{"account without a token", accountsJSON(`{"name":"hn"}`), "at '/accounts/0': missing property 'token'"},
	{"account with an empty token", accountsJSON(`{"name":"hn","token":{}}`), "at '/accounts/0/token': 'oneOf' failed, none matched"},
	{"account with two tokens", accountsJSON(`{"name":"hn","token":{"value":"x","existingSecret":"s"}}`), "at '/accounts/0/token': 'oneOf' failed, subschemas 0, 1 matched"},
	{"account token key without a Secret", accountsJSON(`{"name":"hn","token":{"value":"x","existingSecretKey":"k"}}`), "properties 'existingSecret' required, if 'existingSecretKey' exists"},
	{"account misspelled key", accountsJSON(`{"name":"hn","token":{"value":"x"},"serviceType":["instance"]}`), "at '/accounts/0': additional properties 'serviceType' not allowed"},
	{"account misspelled budget", accountsJSON(`{"name":"hn","token":{"value":"x"},"budgets":{"daily":"5tr"}}`), "at '/accounts/0/budgets': additional properties 'daily' not allowed"},
	{"account bad budget", accountsJSON(`{"name":"hn","token":{"value":"x"},"budgets":{"monthlyVND":"5 USD"}}`), "at '/accounts/0/budgets/monthlyVND'"},
	{"account zero group budget", accountsJSON(`{"name":"hn","token":{"value":"x"},"budgets":{"billingGroupDailyVND":{"g":0}}}`), "at '/accounts/0/budgets/billingGroupDailyVND/g'"},
	{"account zero rate limit", accountsJSON(`{"name":"hn","token":{"value":"x"},"rateLimit":0}`), "at '/accounts/0/rateLimit': minimum: got 0, want 0.001"},
	// The exporter refuses the single account's settings with --config.file.
	{"accounts and token.value", append(accountsJSON(`{"name":"hn","token":{"value":"x"}}`), "--set", "token.value=y"), "at '/token/value': value must be ''"},
	{"accounts and token.existingSecret", append(accountsJSON(`{"name":"hn","token":{"value":"x"}}`), "--set", "token.existingSecret=s"), "at '/token/existingSecret': value must be ''"},
	{"accounts and fpt.billingGroups", append(accountsJSON(`{"name":"hn","token":{"value":"x"}}`), "--set", "fpt.billingGroups[0]=g"), "at '/fpt/billingGroups': maxItems: got 1, want 0"},
	{"accounts and budgets.monthlyVND", append(accountsJSON(`{"name":"hn","token":{"value":"x"}}`), "--set", "budgets.monthlyVND=5tr"), "at '/budgets/monthlyVND': value must be ''"},
	{"accounts and a group budget", append(accountsJSON(`{"name":"hn","token":{"value":"x"}}`), "--set", "budgets.billingGroupDailyVND.g=5tr"), "at '/budgets/billingGroupDailyVND': maxProperties: got 1, want 0"},
	{"accounts and a per-account flag", append(accountsJSON(`{"name":"hn","token":{"value":"x"}}`), "--set", "extraArgs[0]=--fpt.billing-config=c"), "with accounts set, leave extraArgs --fpt.billing-config=c unset"},
	{"accounts and FPTCLOUD_TOKEN", append(accountsJSON(`{"name":"hn","token":{"value":"x"}}`), "--set", "extraEnv[0].name=FPTCLOUD_TOKEN,extraEnv[0].value=t"), "with accounts set, leave extraEnv FPTCLOUD_TOKEN unset"},
	{"accounts and token.value without the schema", append(accountsJSON(`{"name":"hn","token":{"value":"x"}}`), "--set", "token.value=y", "--skip-schema-validation"), "with accounts set, leave token.value unset"},
}

// accountsJSON sets accounts to the given JSON objects.
func accountsJSON(accounts ...string) []string {
	return []string{"--set-json", "accounts=[" + strings.Join(accounts, ",") + "]"}
}

func TestChartRefusesWrongValues(t *testing.T) {
	t.Parallel()
	helm := helmBin(t)
	r := newRunner(t)
	for _, bad := range badValues {
		t.Run(bad.name, func(t *testing.T) {
			t.Parallel()
			_, err := r.run(t.Context(), helm, append([]string{"template", "fptcloud", chartDir}, bad.args...)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), bad.message)
		})
	}
}

// The plain manifests, for those without Helm: the chart rendered with
// plainValues, in two files so that clusters without prometheus-operator
// can apply the first alone.
var plainManifests = []struct {
	file      string
	templates []string
}{
	{"kubernetes/fptcloud-exporter.yaml", []string{"serviceaccount.yaml", "service.yaml", "deployment.yaml", "dashboard.yaml"}},
	{"kubernetes/prometheus-operator.yaml", []string{"servicemonitor.yaml", "prometheusrule.yaml"}},
}

var plainValues = []string{
	"--set", "token.existingSecret=fptcloud-exporter-token",
	"--set", "serviceMonitor.enabled=true",
	"--set", "prometheusRule.enabled=true",
}

const plainHeader = `# Rendered from the Helm chart deploy/helm/fptcloud-exporter by
#   go test ./deploy -run TestPlainManifests -update
# Do not edit: change the chart. Namespace monitoring; the token is read
# from the Secret fptcloud-exporter-token (key: token), which you create:
#   kubectl -n monitoring create secret generic fptcloud-exporter-token --from-file=token=./token
`

func renderPlain(t *testing.T, r *runner, helm string, templates []string) string {
	t.Helper()
	args := append([]string{"template", "fptcloud-exporter", chartDir, "--namespace", "monitoring"}, plainValues...)
	for _, tmpl := range templates {
		args = append(args, "--show-only", "templates/"+tmpl)
	}
	var b bytes.Buffer
	b.WriteString(plainHeader)
	for _, line := range strings.SplitAfter(r.must(t, helm, args...), "\n") {
		// Helm's bookkeeping labels would be false without Helm.
		if strings.Contains(line, "helm.sh/chart:") || strings.Contains(line, "app.kubernetes.io/managed-by:") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

func TestPlainManifests(t *testing.T) {
	if !*update { // -update rewrites files that the other tests read
		t.Parallel()
	}
	helm := helmBin(t)
	r := newRunner(t)
	for _, p := range plainManifests {
		want := renderPlain(t, r, helm, p.templates)
		if *update {
			require.NoError(t, os.WriteFile(p.file, []byte(want), 0o644))
			continue
		}
		got, err := os.ReadFile(p.file)
		require.NoError(t, err)
		assert.Equal(t, want, string(got), "%s differs from the chart: run go test ./deploy -run TestPlainManifests -update", p.file)
		assert.False(t, slices.Contains(strings.Split(string(got), "\n"), "kind: Secret"), "no token in plain manifests")
	}
}

// chartValuesAndREADME reads the chart's default values and its README.
func chartValuesAndREADME(t *testing.T) (values map[string]any, readme []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &values))
	readme, err = os.ReadFile(filepath.Join(chartDir, "README.md"))
	require.NoError(t, err)
	return values, readme
}

// TestChartREADMEDocumentsEveryValue holds the values table to values.yaml:
// every key is in it, itself or through a parent documented as a whole.
func TestChartREADMEDocumentsEveryValue(t *testing.T) {
	t.Parallel()
	values, readme := chartValuesAndREADME(t)

	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			path := prefix + k
			if strings.Contains(string(readme), "| `"+path+"` |") {
				continue
			}
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(path+".", sub)
				continue
			}
			t.Errorf("values.yaml's %s is not in the README's values table", path)
		}
	}
	walk("", values)
}

// ownLabels are an object's labels without the chart's standard ones.
func ownLabels(m manifest) map[string]any {
	out := map[string]any{}
	labels, _ := get(m, "metadata", "labels").(map[string]any)
	for k, v := range labels {
		if !strings.HasPrefix(k, "app.kubernetes.io/") && !strings.HasPrefix(k, "helm.sh/") {
			out[k] = v
		}
	}
	return out
}

// kube-prometheus-stack's default serviceMonitorSelector and ruleSelector
// match release: <its release name>: an install with the chart's defaults
// must be scraped and its rules loaded, and the one value naming that
// release must reach both objects, under the objects' own labels.
func TestChartSelectedByKubePrometheusStack(t *testing.T) {
	t.Parallel()
	helm := helmBin(t)
	r := newRunner(t)
	tests := []struct {
		name                  string
		args                  []string
		wantMonitor, wantRule map[string]any
	}{
		{"defaults", nil,
			map[string]any{"release": "kube-prometheus-stack"}, map[string]any{"release": "kube-prometheus-stack"}},
		{"another release name", []string{"--set", "kubePrometheusStackRelease=monitoring"},
			map[string]any{"release": "monitoring"}, map[string]any{"release": "monitoring"}},
		{"no release label", []string{"--set", "kubePrometheusStackRelease="},
			map[string]any{}, map[string]any{}},
		{"own labels are added and win", []string{
			"--set", "serviceMonitor.labels.release=prometheus-a", "--set", "serviceMonitor.labels.team=finops",
			"--set", "prometheusRule.labels.team=finops",
		},
			map[string]any{"release": "prometheus-a", "team": "finops"},
			map[string]any{"release": "kube-prometheus-stack", "team": "finops"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ms := parseManifests(t, template(t, r, helm, append([]string{"--set", "token.value=x"}, tt.args...)...))
			require.Len(t, ofKind(ms, "ServiceMonitor"), 1)
			require.Len(t, ofKind(ms, "PrometheusRule"), 1)
			assert.Equal(t, tt.wantMonitor, ownLabels(ofKind(ms, "ServiceMonitor")[0]))
			assert.Equal(t, tt.wantRule, ownLabels(ofKind(ms, "PrometheusRule")[0]))
		})
	}
}

// Budgets are taken as YAML writes them: numbers (a values file's numbers
// reach the chart as float64, which must not render as 5e+08) and the
// exporter's own written forms.
func TestChartBudgets(t *testing.T) {
	t.Parallel()
	helm := helmBin(t)
	r := newRunner(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"numbers from --set", []string{
			"--set", "budgets.dailyVND=5000000", "--set", "budgets.monthlyVND=150000000",
			"--set", "budgets.billingGroupDailyVND.platform=2000000",
			"--set", "budgets.billingGroupMonthlyVND.platform=60000000",
		}, []string{
			"--budget.daily-vnd=5000000", "--budget.monthly-vnd=150000000",
			"--budget.billing-group-daily-vnd=platform=2000000",
			"--budget.billing-group-monthly-vnd=platform=60000000",
		}},
		{"numbers and written forms from a values file", []string{
			"--values", filepath.Join(chartDir, "ci", "budgets-values.yaml"),
		}, []string{
			"--budget.daily-vnd=5tr", "--budget.monthly-vnd=500000000",
			"--budget.billing-group-daily-vnd=data platform=1,5 triệu",
			"--budget.billing-group-daily-vnd=web=1500000000",
			"--budget.billing-group-monthly-vnd=data platform=5.000.000",
			"--budget.billing-group-monthly-vnd=web=123456789012",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ms := parseManifests(t, template(t, r, helm, append([]string{"--set", "token.value=x"}, tt.args...)...))
			var got []string
			for _, arg := range stringList(get(ofKind(ms, "Deployment")[0], "spec", "template", "spec", "containers", 0, "args")) {
				if strings.HasPrefix(arg, "--budget.") {
					got = append(got, arg)
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// The month cache's defaults hold a large tenant's two months
// (docs/month-cache.md, "Disk use"): an emptyDir past its sizeLimit evicts
// the pod, which wipes the cache, so the next start reads the whole month
// and outgrows it again.
func TestChartStorageFitsTwoMonthsAtTheLimits(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/month-cache.md")
	require.NoError(t, err)
	m := regexp.MustCompile(`([0-9][0-9,]*) MB for two months`).FindSubmatch(doc)
	require.NotNil(t, m, "docs/month-cache.md no longer says how many MB two months take at the limits")
	needMB, err := strconv.Atoi(strings.ReplaceAll(string(m[1]), ",", ""))
	require.NoError(t, err)

	helm := helmBin(t)
	r := newRunner(t)
	emptyDir := parseManifests(t, template(t, r, helm, "--set", "token.value=x"))
	pvc := parseManifests(t, template(t, r, helm, "--set", "token.value=x", "--set", "storage.type=persistentVolumeClaim"))
	for name, size := range map[string]string{
		"storage.emptyDir.sizeLimit": str(volume(t, get(ofKind(emptyDir, "Deployment")[0], "spec", "template", "spec"), "data"),
			"emptyDir", "sizeLimit"),
		"storage.persistentVolumeClaim.size": str(ofKind(pvc, "PersistentVolumeClaim")[0], "spec", "resources", "requests", "storage"),
	} {
		bytes := quantityBytes(t, size)
		// A day's file is written beside the old one before it replaces it.
		assert.GreaterOrEqual(t, bytes, int64(needMB)*1e6*11/10, "%s %s: under two months at the limits, %d MB, and 10%%", name, size, needMB)
	}
}

// quantityBytes reads a Kubernetes quantity of the binary or decimal
// suffixes storage sizes use.
func quantityBytes(t *testing.T, q string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$`).FindStringSubmatch(q)
	require.NotNil(t, m, "quantity %q", q)
	n, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(t, err)
	return n * map[string]int64{
		"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
	}[m[2]]
}

// helmInstallCommands are the `helm install` commands of a Markdown file's
// code blocks, with their continuation lines joined, split into arguments.
func helmInstallCommands(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	joined := strings.ReplaceAll(string(data), "\\\n", " ")
	var out [][]string
	for _, line := range strings.Split(joined, "\n") {
		if strings.HasPrefix(line, "helm install ") {
			out = append(out, strings.Fields(line))
		}
	}
	return out
}

// The install commands the READMEs give a kube-prometheus-stack user must
// make objects its default selectors pick up, with nothing more to set.
func TestREADMEInstallCommandsAreSelectedByKubePrometheusStack(t *testing.T) {
	t.Parallel()
	helm := helmBin(t)
	r := newRunner(t)
	for _, readme := range []string{"../README.md", filepath.Join(chartDir, "README.md")} {
		commands := helmInstallCommands(t, readme)
		require.NotEmpty(t, commands, readme)
		for _, cmd := range commands {
			require.Greater(t, len(cmd), 4, "%s: %v", readme, cmd)
			require.Equal(t, "deploy/helm/fptcloud-exporter", cmd[3], "%s: %v installs another chart", readme, cmd)
			args := append([]string{"template", cmd[2], chartDir,
				"--api-versions", serviceMonitorAPI, "--api-versions", prometheusRuleAPI}, cmd[4:]...)
			ms := parseManifests(t, r.must(t, helm, args...))
			for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
				objs := ofKind(ms, kind)
				require.Len(t, objs, 1, "%s: %v", readme, cmd)
				assert.Equal(t, "kube-prometheus-stack", str(objs[0], "metadata", "labels", "release"), "%s: %s of %v", readme, kind, cmd)
			}
		}
	}
}

// Grafana's dashboard sidecar puts a dashboard in the folder its annotation
// names only when the sidecar's folderAnnotation is that annotation and its
// provider takes folders from the file structure; kube-prometheus-stack sets
// neither. The chart README must give the values that make
// dashboard.folder apply.
func TestChartREADMEGivesTheDashboardFolderSettings(t *testing.T) {
	t.Parallel()
	values, readme := chartValuesAndREADME(t)

	var found bool
	for _, block := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(block[1]), &doc))
		dashboards := get(doc, "grafana", "sidecar", "dashboards")
		if dashboards == nil {
			continue
		}
		found = true
		assert.Equal(t, str(values, "dashboard", "folderAnnotation"), str(dashboards, "folderAnnotation"))
		assert.Equal(t, true, get(dashboards, "provider", "foldersFromFilesStructure"))
	}
	assert.True(t, found, "the chart README gives no kube-prometheus-stack values for the dashboard folder")
}
