package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

// twoAccounts starts a fake API for each of two accounts and writes an
// accounts file naming them; the second account's token is one its API
// rejects.
func twoAccounts(t *testing.T) (path string, hn, jp *fptapitest.Server) {
	t.Helper()
	hn = fptapitest.NewServer(fptapitest.Config{Token: "hn-token", RowsPerDay: 40, LabelSets: 8})
	t.Cleanup(hn.Close)
	jp = fptapitest.NewServer(fptapitest.Config{Token: "jp-token", RowsPerDay: 40, LabelSets: 8, Seed: 2})
	t.Cleanup(jp.Close)
	path = filepath.Join(t.TempDir(), "accounts.yml")
	yaml := fmt.Sprintf("accounts:\n  - name: hn-prod\n    token_env: HN\n    api_url: %s\n  - name: jp\n    token_env: JP\n    api_url: %s\n", hn.URL, jp.URL)
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path, hn, jp
}

// runAccountsCheck runs check with the accounts' tokens in the environment.
func runAccountsCheck(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	getenv := func(k string) string {
		return map[string]string{"HN": "hn-token", "JP": "wrong-token"}[k]
	}
	var out, errOut bytes.Buffer
	code = runCommand(context.Background(), append([]string{"check"}, args...), getenv, &out, &errOut)
	assert.NotContains(t, out.String()+errOut.String(), "hn-token", "the check never prints a token")
	return code, out.String(), errOut.String()
}

func TestCheckAccounts(t *testing.T) {
	t.Parallel()
	path, hn, jp := twoAccounts(t)

	code, out, errOut := runAccountsCheck(t, "--config.file="+path)
	require.Equal(t, 1, code, "one account fails: the check fails\n%s%s", out, errOut)
	hnAt, jpAt := strings.Index(out, "=== account hn-prod ===\n"), strings.Index(out, "=== account jp ===\n")
	require.GreaterOrEqual(t, hnAt, 0, out)
	require.Greater(t, jpAt, hnAt, "sections in the file's order:\n%s", out)
	hnSection, jpSection := out[hnAt:jpAt], out[jpAt:]
	assert.Contains(t, hnSection, "API URL:         "+hn.URL)
	assert.Contains(t, hnSection, "from environment $HN")
	assert.Contains(t, hnSection, "OK: a deployment with these settings would work")
	assert.Contains(t, jpSection, "API URL:         "+jp.URL)
	assert.Contains(t, jpSection, "FAILED: token rejected")
	assert.Contains(t, out, "summary of "+path+": 1 of 2 accounts would work\n")
	assert.Regexp(t, `(?m)^  hn-prod +OK$`, out)
	assert.Regexp(t, `(?m)^  jp +FAILED: token rejected: `, out)
	assert.True(t, strings.HasSuffix(out, "FAILED: jp would not work\n"), out)
	assert.Equal(t, 1, hn.Requests(fptapi.EndpointBills))

	code, out, _ = runAccountsCheck(t, "--config.file="+path, "--output=json")
	require.Equal(t, 1, code)
	var r struct {
		OK         bool   `json:"ok"`
		ConfigFile string `json:"config_file"`
		Accounts   []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Reason string `json:"reason"`
			APIURL string `json:"api_url"`
			Rows   int    `json:"rows"`
		} `json:"accounts"`
		Failed []string `json:"failed"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	assert.False(t, r.OK)
	assert.Equal(t, path, r.ConfigFile)
	require.Len(t, r.Accounts, 2)
	assert.Equal(t, "hn-prod", r.Accounts[0].Name)
	assert.True(t, r.Accounts[0].OK)
	assert.Equal(t, 40, r.Accounts[0].Rows)
	assert.Equal(t, hn.URL, r.Accounts[0].APIURL)
	assert.Equal(t, "jp", r.Accounts[1].Name)
	assert.False(t, r.Accounts[1].OK)
	assert.True(t, strings.HasPrefix(r.Accounts[1].Reason, "token rejected"), r.Accounts[1].Reason)
	assert.Equal(t, []string{"jp"}, r.Failed)
}

func TestCheckOneAccount(t *testing.T) {
	t.Parallel()
	path, _, jp := twoAccounts(t)

	code, out, errOut := runAccountsCheck(t, "--config.file="+path, "--account=hn-prod")
	require.Equal(t, 0, code, "the failing account is not checked\n%s%s", out, errOut)
	assert.Contains(t, out, "=== account hn-prod ===")
	assert.NotContains(t, out, "=== account jp ===")
	assert.Contains(t, out, "1 of 1 accounts would work")
	assert.True(t, strings.HasSuffix(out, "OK: a deployment with these accounts would work\n"), out)
	assert.Equal(t, 0, jp.Requests(fptapi.EndpointBills))

	code, out, errOut = runAccountsCheck(t, "--config.file="+path, "--account=hcm")
	assert.Equal(t, 2, code, out)
	assert.Equal(t, config.Name+": --account=hcm: no such account in --config.file="+path+"; its accounts: hn-prod, jp\n", errOut)
}

func TestCheckAccountsDemo(t *testing.T) {
	t.Parallel()
	code, out, errOut := runAccountsCheck(t, "--demo", "--config.file=../../deploy/accounts.example.yml", "--output=json")
	require.Equal(t, 0, code, "the example file works in the demo, without its tokens\n%s%s", out, errOut)
	var r AccountsReport
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Len(t, r.Accounts, 3)
	costs := map[float64]bool{}
	for _, a := range r.Accounts {
		assert.True(t, a.OK, a.Name)
		assert.Equal(t, "the demo's fake API", a.TokenSource)
		costs[a.CostVND] = true
	}
	assert.Len(t, costs, 3, "each account has data of its own")
}

// TestCheckAccountNamesItsKeys: a name the account lacks is reported under
// the key of the file it was given in, not a flag.
func TestCheckAccountNamesItsKeys(t *testing.T) {
	t.Parallel()
	fake := fptapitest.NewServer(fptapitest.Config{Token: "hn-token", RowsPerDay: 40, LabelSets: 8})
	t.Cleanup(fake.Close)
	path := filepath.Join(t.TempDir(), "accounts.yml")
	yaml := fmt.Sprintf("accounts:\n  - name: hn\n    token_env: HN\n    api_url: %s\n    billing_groups: [Khoi Cong nghe]\n"+
		"    budgets:\n      billing_group_daily_vnd: {Nope: 1tr}\n", fake.URL)
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	code, out, _ := runAccountsCheck(t, "--config.file="+path)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, `billing_groups="Khoi Cong nghe" (did you mean "Khối Công nghệ"?) names no billing group or config of the account`)
	assert.Contains(t, out, `budgets.billing_group_daily_vnd: "Nope" is not a billing group of the account`)
	assert.NotContains(t, out, "--fpt.billing-group=")
}
