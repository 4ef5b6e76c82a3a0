package config

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// writeAccounts writes an accounts file, and a token file beside it, into
// a directory of the test's own.
func writeAccounts(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hn.token"), []byte("hn-token\n"), 0o600))
	path := filepath.Join(dir, "accounts.yml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

// env is an environment of the given variables only.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

const resolvedAccounts = `accounts:
  - name: hn-prod
    token_file: hn.token
    service_types: [instance, storage]
    billing_groups: ["Khối Công nghệ"]
    budgets:
      daily_vnd: 5tr
      monthly_vnd: 150.000.000
      billing_group_daily_vnd: {"Khối Công nghệ": 2tr, "": 1k}
      billing_group_monthly_vnd: {"Khối Công nghệ": 60000000}
  - name: jp
    token_env: FPT_TOKEN_JP
    api_url: https://console-api.fptcloud.jp/api
    timezone: Asia/Tokyo
    rate_limit: 0.5
    billing_configs: [c1]
`

func TestResolveAccountsFile(t *testing.T) {
	t.Parallel()
	path := writeAccounts(t, resolvedAccounts)
	cfg, err := NewApp().Resolve([]string{"--config.file=" + path, "--fpt.api-url=http://127.0.0.1:1/api",
		"--fpt.timezone=Asia/Bangkok", "--fpt.rate-limit=3", "--fpt.page-size=50", "--storage.path=/var/lib/x"},
		env(map[string]string{"FPT_TOKEN_JP": "\ufeffjp-token\r\n"}))
	require.NoError(t, err)
	assert.Equal(t, path, cfg.ConfigFile)
	require.Len(t, cfg.Sources, 2)

	hn := cfg.Sources[0]
	assert.Equal(t, "hn-prod", hn.Name)
	assert.Equal(t, "http://127.0.0.1:1/api", hn.APIURL, "the flag is the default")
	assert.Equal(t, "Asia/Bangkok", hn.Location.String())
	assert.Equal(t, 3.0, hn.RateLimit)
	assert.Equal(t, 50, hn.PageSize, "process-wide flags apply to every account")
	assert.Equal(t, []fptapi.Filter{
		{ServiceType: "instance", BillingGroupName: "Khối Công nghệ"},
		{ServiceType: "storage", BillingGroupName: "Khối Công nghệ"},
	}, hn.Filters)
	assert.Equal(t, collector.Budgets{Daily: 5e6, Monthly: 150e6,
		GroupDaily: map[string]float64{"Khối Công nghệ": 2e6, "": 1e3}, GroupMonthly: map[string]float64{"Khối Công nghệ": 60e6}}, hn.Budgets)
	tokenPath := filepath.Join(filepath.Dir(path), "hn.token")
	assert.Equal(t, "file "+tokenPath, hn.TokenSource, "a relative token_file is the file's neighbour")
	token, err := hn.Token()
	require.NoError(t, err)
	assert.Equal(t, "hn-token", token)
	require.NoError(t, os.WriteFile(tokenPath, []byte("rotated\n"), 0o600))
	token, err = hn.Token()
	require.NoError(t, err)
	assert.Equal(t, "rotated", token, "read again before every request, as --fpt.token-file is")
	assert.Equal(t, Store{Path: filepath.Join("/var/lib/x", "hn-prod")}, hn.Store)
	assert.Equal(t, "Asia/Ho_Chi_Minh", hn.Identity.TimeZone)
	assert.Len(t, hn.Identity.Filters, 2)

	jp := cfg.Sources[1]
	assert.Equal(t, "jp", jp.Name)
	assert.Equal(t, "https://console-api.fptcloud.jp/api", jp.APIURL)
	assert.Equal(t, "Asia/Tokyo", jp.Location.String())
	assert.Equal(t, 0.5, jp.RateLimit)
	assert.Equal(t, []fptapi.Filter{{BillingConfigName: "c1"}}, jp.Filters)
	assert.Equal(t, collector.Budgets{GroupDaily: map[string]float64{}, GroupMonthly: map[string]float64{}}, jp.Budgets)
	assert.Equal(t, "environment $FPT_TOKEN_JP", jp.TokenSource)
	token, err = jp.Token()
	require.NoError(t, err)
	assert.Equal(t, "jp-token", token, "cleaned as $FPTCLOUD_TOKEN is")
	assert.Equal(t, Store{Path: filepath.Join("/var/lib/x", "jp")}, jp.Store)
	assert.Equal(t, "https://console-api.fptcloud.jp/api", jp.Identity.APIURL)
	require.Len(t, jp.Warnings, 1)
	assert.Contains(t, jp.Warnings[0], "--config.file="+path+": line 14: accounts[1].timezone=Asia/Tokyo is not FPT Cloud's billing zone")
	assert.Equal(t, Store{Path: "/var/lib/x"}, cfg.Store, "the process' store is the root of the accounts'")
}

// TestAccountsFileWithoutStore: with --storage.path empty every account is
// memory only.
func TestAccountsFileWithoutStore(t *testing.T) {
	t.Parallel()
	path := writeAccounts(t, "accounts:\n  - name: a\n    token_file: hn.token\n")
	cfg, err := NewApp().Resolve([]string{"--config.file=" + path, "--storage.path="}, env(nil))
	require.NoError(t, err)
	assert.Equal(t, Store{}, cfg.Sources[0].Store)
}

// TestAccountsFileRefusesAccountFlags: a per-account flag given with the
// file is refused, saying where the value goes instead.
func TestAccountsFileRefusesAccountFlags(t *testing.T) {
	t.Parallel()
	path := writeAccounts(t, "accounts:\n  - name: a\n    token_file: hn.token\n")
	tokenFile := filepath.Join(filepath.Dir(path), "hn.token")
	tests := []struct {
		arg, env, want string
	}{
		{"--fpt.token-file=" + tokenFile, "", "--fpt.token-file cannot be combined with --config.file: set token_file (or token_env) of each account in the file"},
		{"", "a-token", "$FPTCLOUD_TOKEN cannot be combined with --config.file: set token_env (or token_file) of each account"},
		{"--fpt.service-type=storage", "", "--fpt.service-type cannot be combined with --config.file: set service_types of each account in the file"},
		{"--fpt.billing-group=g", "", "--fpt.billing-group cannot be combined with --config.file: set billing_groups of each account in the file"},
		{"--fpt.billing-config=c", "", "--fpt.billing-config cannot be combined with --config.file: set billing_configs of each account in the file"},
		{"--budget.daily-vnd=5tr", "", "--budget.daily-vnd cannot be combined with --config.file: set budgets.daily_vnd of each account in the file"},
		{"--budget.monthly-vnd=5tr", "", "--budget.monthly-vnd cannot be combined with --config.file: set budgets.monthly_vnd of each account in the file"},
		{"--budget.billing-group-daily-vnd=g=1tr", "", "--budget.billing-group-daily-vnd cannot be combined with --config.file: set budgets.billing_group_daily_vnd of each account"},
		{"--budget.billing-group-monthly-vnd=g=1tr", "", "--budget.billing-group-monthly-vnd cannot be combined with --config.file: set budgets.billing_group_monthly_vnd of each account"},
	}
	for _, tt := range tests {
		t.Run(tt.want[:20], func(t *testing.T) {
			t.Parallel()
			args := []string{"--config.file=" + path}
			if tt.arg != "" {
				args = append(args, tt.arg)
			}
			for _, command := range [][]string{nil, {CommandCheck}, {"--demo"}} {
				_, err := NewApp().Resolve(append(command, args...), env(map[string]string{TokenEnv: tt.env}))
				require.Error(t, err, "%v", command)
				assert.Equal(t, tt.want, err.Error()[:len(tt.want)])
			}
		})
	}
	// The process-wide flags apply.
	cfg, err := NewApp().Resolve([]string{"--config.file=" + path, "--collector.refresh-interval=1m", "--web.enable-lifecycle"}, env(nil))
	require.NoError(t, err)
	assert.Equal(t, time.Minute, cfg.Collector.RefreshInterval)
	assert.True(t, cfg.Server.EnableLifecycle)
}

// TestAccountsFileValues: every value is checked as its flag is, and the
// error names the file, the line and the key.
func TestAccountsFileValues(t *testing.T) {
	t.Parallel()
	const head = "accounts:\n  - name: ok\n    token_env: T\n  - name: a\n    token_env: T\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"api url", head + "    api_url: console.fptcloud.com\n", `line 6: accounts[1].api_url: "console.fptcloud.com" is not an absolute http(s) URL`},
		{"api url with a password", head + "    api_url: https://u:p@x/api\n", "line 6: accounts[1].api_url: \"https://u:xxxxx@x/api\" must not carry a user or password"},
		{"time zone", head + "    timezone: Asia/Hanoi\n", `line 6: accounts[1].timezone: unknown time zone "Asia/Hanoi"`},
		{"local time zone", head + "    timezone: Local\n", `line 6: accounts[1].timezone: "Local" is not an IANA time zone name`},
		{"rate limit", head + "    rate_limit: 0\n", "line 6: accounts[1].rate_limit: 0 is not a number of requests per second of at least 0.001"},
		{"infinite rate", head + "    rate_limit: .inf\n", "line 6: accounts[1].rate_limit: +Inf is not a number"},
		{"empty filter", head + "    billing_groups:\n      - g\n      - \" \"\n", "line 8: accounts[1].billing_groups[1]: must not be empty"},
		{"daily budget", head + "    budgets:\n      daily_vnd: 5.000\n", `line 7: accounts[1].budgets.daily_vnd: "5.000" is ambiguous`},
		{"monthly budget", head + "    budgets:\n      monthly_vnd: -1\n", `line 7: accounts[1].budgets.monthly_vnd: "-1" is not an amount in VND`},
		{"group budget", head + "    budgets:\n      billing_group_monthly_vnd:\n        g: 1tr\n        h: 5 lots\n", `line 9: accounts[1].budgets.billing_group_monthly_vnd.h: "5 lots" has an unknown suffix`},
		{"group budget without amount", head + "    budgets:\n      billing_group_daily_vnd:\n        g:\n", "line 8: accounts[1].budgets.billing_group_daily_vnd.g: needs an amount"},
		{"unset token variable", "accounts:\n  - name: a\n    token_env: UNSET\n", "line 3: accounts[0].token_env: $UNSET is not set or empty"},
		{"bad token variable", "accounts:\n  - name: a\n    token_env: A-B\n", `line 3: accounts[0].token_env: "A-B" is not an environment variable's name`},
		{"the flags' variable", "accounts:\n  - name: a\n    token_env: FPTCLOUD_TOKEN\n", "line 3: accounts[0].token_env: $FPTCLOUD_TOKEN is the token of the command line without --config.file"},
		{"a bearer token", "accounts:\n  - name: a\n    token_env: BEARER\n", "line 3: accounts[0].token_env: $BEARER: "},
		{"missing token file", "accounts:\n  - name: a\n    token_file: /nonexistent/token\n", "line 3: accounts[0].token_file: token file: open /nonexistent/token"},
		{"strict decoding", "accounts:\n  - name: a\n    token_env: T\n    budget: {}\n", "line 4: accounts[0].budget: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeAccounts(t, tt.yaml)
			_, err := NewApp().Resolve([]string{"--config.file=" + path}, env(map[string]string{"T": "t", "BEARER": "Bearer abc"}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "--config.file="+path+": "+tt.want)
		})
	}

	_, err := NewApp().Resolve([]string{"--config.file=/nonexistent/accounts.yml"}, env(nil))
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "--config.file=/nonexistent/accounts.yml: ")
}

// TestAccountsFileDemo: in the demo every account reads a fake of its own,
// with data of its own, needs no token, and is memory only.
func TestAccountsFileDemo(t *testing.T) {
	t.Parallel()
	path := writeAccounts(t, "accounts:\n  - name: a\n    token_env: UNSET\n  - name: b\n    token_file: /nonexistent\n    rate_limit: 2\n")
	cfg, err := NewApp().Resolve([]string{"--demo", "--config.file=" + path}, env(nil))
	require.NoError(t, err)
	require.Len(t, cfg.Sources, 2)
	a, b := cfg.Sources[0], cfg.Sources[1]
	require.NotNil(t, a.Simulated)
	require.NotNil(t, b.Simulated)
	assert.NotEqual(t, a.Simulated.Seed, b.Simulated.Seed, "different data per account")
	assert.Equal(t, seedOf("a"), a.Simulated.Seed, "the same data at every start")
	assert.True(t, math.IsInf(a.RateLimit, 1))
	assert.Equal(t, 2.0, b.RateLimit, "an account's own rate limit is kept")
	assert.Equal(t, "the demo's fake API", b.TokenSource)
	assert.Equal(t, "demo", a.Identity.APIURL)
	assert.Equal(t, Store{}, a.Store)
	assert.Contains(t, cfg.Server.Description, "DEMO MODE")

	cfg, err = NewApp().Resolve([]string{"--demo", "--config.file=" + path, "--storage.path=/var/lib/x"}, env(nil))
	require.NoError(t, err)
	assert.Equal(t, Store{Path: filepath.Join("/var/lib/x", "b")}, cfg.Sources[1].Store)

	// Two fakes of one seed serve the same data; of two, different data.
	stopA, err := a.StartSimulated()
	require.NoError(t, err)
	defer stopA()
	stopB, err := b.StartSimulated()
	require.NoError(t, err)
	defer stopB()
	assert.NotEqual(t, a.APIURL, b.APIURL)
}

// TestReloadSources: a reload resolves the file again with the start's
// defaults, and an error leaves the Config as it was.
func TestReloadSources(t *testing.T) {
	t.Parallel()
	path := writeAccounts(t, "accounts:\n  - name: a\n    token_env: T\n")
	cfg, err := NewApp().Resolve([]string{"--config.file=" + path, "--fpt.timezone=Asia/Bangkok", "--fpt.rate-limit=2"}, env(map[string]string{"T": "t"}))
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(path, []byte("accounts:\n  - name: a\n    token_env: T\n  - name: b\n    token_file: hn.token\n    rate_limit: 1\n"), 0o600))
	sources, err := cfg.ReloadSources()
	require.NoError(t, err)
	require.Len(t, sources, 2)
	assert.Equal(t, "b", sources[1].Name)
	assert.Equal(t, "Asia/Bangkok", sources[1].Location.String(), "the flag's default, as at start")
	assert.Equal(t, 1.0, sources[1].RateLimit)
	assert.Equal(t, 2.0, sources[0].RateLimit)
	assert.Equal(t, Store{Path: filepath.Join("data", "b")}, sources[1].Store)

	require.NoError(t, os.WriteFile(path, []byte("accounts:\n  - name: a\n    token_env: T\n    rate_limit: fast\n"), 0o600))
	_, err = cfg.ReloadSources()
	require.ErrorContains(t, err, "--config.file="+path+": line 4: accounts[0].rate_limit: ")
	require.Len(t, cfg.Sources, 1, "a failed reload changes nothing")
	assert.Equal(t, "a", cfg.Sources[0].Name)

	cfg, err = NewApp().Resolve([]string{"--demo"}, env(nil))
	require.NoError(t, err)
	_, err = cfg.ReloadSources()
	require.ErrorContains(t, err, "no --config.file")
}

// TestAccountFlag: check and backfill pick one account with --account.
func TestAccountFlag(t *testing.T) {
	t.Parallel()
	two := writeAccounts(t, "accounts:\n  - name: a\n    token_env: T\n  - name: b\n    token_env: T\n")
	one := writeAccounts(t, "accounts:\n  - name: a\n    token_env: T\n")
	getenv := env(map[string]string{"T": "t", TokenEnv: ""})
	backfill := []string{CommandBackfill, "--from=2020-01-01", "--to=2020-01-31"}
	tests := []struct {
		name  string
		args  []string
		want  []string // the names of the sources
		error string
	}{
		{"check every account", []string{CommandCheck, "--config.file=" + two}, []string{"a", "b"}, ""},
		{"check one", []string{CommandCheck, "--config.file=" + two, "--account=b"}, []string{"b"}, ""},
		{"check an unknown one", []string{CommandCheck, "--config.file=" + two, "--account=c"}, nil, "--account=c: no such account in --config.file=" + two + "; its accounts: a, b"},
		{"check without the file", []string{CommandCheck, "--account=a"}, nil, "--account needs --config.file"},
		{"backfill of several", append(backfill, "--config.file="+two), nil, "--account is required: --config.file=" + two + " has 2 accounts (a, b)"},
		{"backfill one", append(backfill, "--config.file="+two, "--account=a"), []string{"a"}, ""},
		{"backfill the only one", append(backfill, "--config.file="+one), []string{"a"}, ""},
		{"backfill an unknown one", append(backfill, "--config.file="+two, "--account=x"), nil, "its accounts: a, b"},
		{"backfill without the file", append(backfill, "--account=a", "--demo"), nil, "--account needs --config.file"},
		{"backfill's label account", append(backfill, "--config.file="+one, "--label=account=x"), nil, `--label: "account" is the account's name with --config.file`},
		{"serve every account", []string{"--config.file=" + two}, []string{"a", "b"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := NewApp().Resolve(tt.args, getenv)
			if tt.error != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.error)
				return
			}
			require.NoError(t, err)
			var names []string
			for _, s := range cfg.Sources {
				names = append(names, s.Name)
			}
			assert.Equal(t, tt.want, names)
		})
	}
	cfg, err := NewApp().Resolve(append(backfill, "--demo", "--label=account=x"), getenv)
	require.NoError(t, err, "without the file, account is a label as any other")
	assert.Equal(t, []Label{{"account", "x"}}, cfg.Backfill.Labels)
}

// TestFlagsAccount: without the file, the one account has no name and the
// month cache is --storage.path itself, as before.
func TestFlagsAccount(t *testing.T) {
	t.Parallel()
	cfg, err := NewApp().Resolve([]string{"--storage.path=/var/lib/x"}, env(map[string]string{TokenEnv: "t"}))
	require.NoError(t, err)
	require.Len(t, cfg.Sources, 1)
	assert.Empty(t, cfg.ConfigFile)
	assert.Empty(t, cfg.Sources[0].Name)
	assert.Equal(t, Store{Path: "/var/lib/x"}, cfg.Sources[0].Store)
	assert.Equal(t, cfg.Store, cfg.Sources[0].Store)
	assert.False(t, cfg.Server.EnableLifecycle)
}

// TestPlainHTTPWarning: a plain http API URL on another machine is warned
// about under the name the user gave it, a flag or a key of the file;
// loopback addresses and the demo, which sends no token there, are not.
func TestPlainHTTPWarning(t *testing.T) {
	t.Parallel()
	withToken := env(map[string]string{TokenEnv: "t"})
	warnings := func(args ...string) []string {
		t.Helper()
		getenv := withToken
		if strings.HasPrefix(args[0], "--config.file=") {
			getenv = env(nil)
		}
		cfg, err := NewApp().Resolve(append(args, "--fpt.timezone=Asia/Ho_Chi_Minh"), getenv)
		require.NoError(t, err)
		require.Len(t, cfg.Sources, 1)
		return cfg.Sources[0].Warnings
	}
	assert.Equal(t, []string{"--fpt.api-url=http://192.0.2.1/api is plain http: the API token is sent unencrypted"},
		warnings("--fpt.api-url=http://192.0.2.1/api"))
	for _, quiet := range []string{"https://192.0.2.1/api", "http://127.0.0.1:8080/api", "http://localhost/api", "http://[::1]/api"} {
		assert.Empty(t, warnings("--fpt.api-url="+quiet), quiet)
	}
	assert.Empty(t, warnings("--demo", "--fpt.api-url=http://192.0.2.1/api"))

	path := writeAccounts(t, "accounts:\n  - name: a\n    token_file: hn.token\n    api_url: http://192.0.2.1/api\n")
	assert.Equal(t, []string{"--config.file=" + path + ": line 4: accounts[0].api_url=http://192.0.2.1/api is plain http: the API token is sent unencrypted"},
		warnings("--config.file="+path))
}
