package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const twoAccounts = `accounts:
  - name: hn-prod
    token_file: /etc/fptcloud/hn-prod.token
    api_url: https://console-api.fptcloud.com/api
    timezone: Asia/Ho_Chi_Minh
    rate_limit: 5
    service_types: [instance]
    billing_groups: []
    billing_configs: []
    budgets:
      daily_vnd: 5tr
      monthly_vnd: 150.000.000
      billing_group_daily_vnd: {"Khối Công nghệ": 2tr}
      billing_group_monthly_vnd: {"Khối Công nghệ": 60000000}
  - name: jp.tokyo_1
    token_env: FPT_TOKEN_JP
`

func TestParseFile(t *testing.T) {
	t.Parallel()
	f, err := ParseFile([]byte(twoAccounts))
	require.NoError(t, err)
	require.Len(t, f.Accounts, 2)
	hn := f.Accounts[0]
	assert.Equal(t, "hn-prod", hn.Name)
	assert.Equal(t, "/etc/fptcloud/hn-prod.token", hn.TokenFile)
	assert.Equal(t, "https://console-api.fptcloud.com/api", hn.APIURL)
	assert.Equal(t, "Asia/Ho_Chi_Minh", hn.Timezone)
	require.NotNil(t, hn.RateLimit)
	assert.Equal(t, 5.0, *hn.RateLimit)
	assert.Equal(t, []string{"instance"}, hn.ServiceTypes)
	assert.Equal(t, Amount("5tr"), hn.Budgets.DailyVND)
	assert.Equal(t, Amount("150.000.000"), hn.Budgets.MonthlyVND)
	assert.Equal(t, map[string]Amount{"Khối Công nghệ": "2tr"}, hn.Budgets.BillingGroupDailyVND)
	assert.Equal(t, map[string]Amount{"Khối Công nghệ": "60000000"}, hn.Budgets.BillingGroupMonthlyVND, "a YAML number is an amount too")

	jp := f.Accounts[1]
	assert.Equal(t, "FPT_TOKEN_JP", jp.TokenEnv)
	assert.Nil(t, jp.RateLimit, "an omitted rate limit is the flag's default, not 0")
	assert.Equal(t, []string{"hn-prod", "jp.tokyo_1"}, f.Names())
}

func TestParseFileRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "empty"},
		{"no accounts", "accounts: []\n", "line 1: accounts: needs at least one account"},
		{"unknown top-level key", "account:\n  - name: a\n", "line 1: account: unknown key (known: accounts)"},
		{"unknown account key", "accounts:\n  - name: a\n    token_env: T\n    token_fil: /x\n", "line 4: accounts[0].token_fil: unknown key"},
		{"unknown budget key", "accounts:\n  - name: a\n    token_env: T\n    budgets:\n      dayly_vnd: 5tr\n", "line 5: accounts[0].budgets.dayly_vnd: unknown key"},
		{"wrong type", "accounts:\n  - name: a\n    token_env: T\n    rate_limit: fast\n", "line 4: accounts[0].rate_limit: cannot unmarshal !!str `fast` into float64"},
		{"a list where a mapping goes", "accounts:\n  - name: a\n    token_env: T\n    budgets: [1]\n", "line 4: accounts[0].budgets: must be a mapping"},
		{"accounts not a list", "accounts: {name: a}\n", "line 1: accounts: must be a list"},
		{"a key twice", "accounts:\n  - name: a\n    token_env: T\n    name: b\n", "line 4: accounts[0].name: given twice (first on line 2)"},
		{"a group budget twice", "accounts:\n  - name: a\n    token_env: T\n    budgets:\n      billing_group_daily_vnd:\n        g: 1tr\n        g: 2tr\n", "line 7: accounts[0].budgets.billing_group_daily_vnd.g: given twice (first on line 6)"},
		{"an amount that is a list", "accounts:\n  - name: a\n    token_env: T\n    budgets:\n      daily_vnd: [1]\n", "line 5: accounts[0].budgets.daily_vnd: must be an amount"},
		{"a duplicate name", "accounts:\n  - name: a\n    token_env: T\n  - name: a\n    token_env: U\n", `line 4: accounts[1].name: "a" is already the name of accounts[0] (line 2)`},
		{"no name", "accounts:\n  - token_env: T\n", "line 2: accounts[0].name: required"},
		{"a name with a slash", "accounts:\n  - name: a/b\n    token_env: T\n", `accounts[0].name: "a/b" is not a name`},
		{"a name too long", "accounts:\n  - name: " + strings.Repeat("a", 64) + "\n    token_env: T\n", "is not a name"},
		{"no token", "accounts:\n  - name: a\n", "line 2: accounts[0]: exactly one of token_file and token_env"},
		{"two tokens", "accounts:\n  - name: a\n    token_env: T\n    token_file: /t\n", "exactly one of token_file and token_env"},
		{"two documents", "accounts:\n  - name: a\n    token_env: T\n---\naccounts: []\n", "line 4: a second YAML document"},
		{"accounts with no value", "accounts:\n", "line 1: accounts: needs at least one account"},
		{"a list at the top", "- name: a\n", "line 1: the file: must be a mapping"},
		{"not YAML", "accounts: [\n", "not YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseFile([]byte(tt.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.yml")
	require.NoError(t, os.WriteFile(path, []byte(twoAccounts), 0o600))
	f, err := LoadFile(path)
	require.NoError(t, err)
	assert.Len(t, f.Accounts, 2)

	_, err = LoadFile(filepath.Join(dir, "missing.yml"))
	require.ErrorIs(t, err, os.ErrNotExist)

	big := filepath.Join(dir, "big.yml")
	require.NoError(t, os.WriteFile(big, []byte("# "+strings.Repeat("x", maxFileSize)+"\n"), 0o600))
	_, err = LoadFile(big)
	require.ErrorContains(t, err, "larger than")

	fifo := filepath.Join(dir, "fifo.yml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	_, err = LoadFile(fifo)
	require.ErrorContains(t, err, "not a regular file")

	bad := filepath.Join(dir, "bad.yml")
	require.NoError(t, os.WriteFile(bad, []byte("accounts:\n  - name: a\n"), 0o600))
	_, err = LoadFile(bad)
	require.ErrorContains(t, err, bad+": line 2")
}
