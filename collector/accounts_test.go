package collector

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// accountEnv is a refreshed reader of the known dataset with budgets and
// top resources, so that every kind of family is served.
func accountEnv(t *testing.T, account string) *testEnv {
	t.Helper()
	loc := testhelp.HCM(t)
	e := newEnv(t, newStub(knownDataset()), time.Date(2026, 11, 3, 10, 0, 0, 0, loc), func(c *Config) {
		c.Account = account
		c.TopResources = 5
		c.Budgets = Budgets{Daily: 1e6, Monthly: 3e7, GroupDaily: map[string]float64{"g": 1}, GroupMonthly: map[string]float64{"g": 2}}
	})
	e.reqs = NewAccountAPIRequestCounter(account)
	e.reqs.Observe(fptapi.RequestInfo{Endpoint: fptapi.EndpointBills, Code: "200"})
	require.NoError(t, e.r.Refresh(context.Background()))
	return e
}

func gather(t *testing.T, c prometheus.Collector) []*dto.MetricFamily {
	t.Helper()
	// Pedantic: every sample is checked against its descriptor, the
	// account label of the prebuilt gauges included.
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	return mfs
}

func exposition(t *testing.T, mfs []*dto.MetricFamily) string {
	t.Helper()
	var b bytes.Buffer
	for _, mf := range mfs {
		_, err := expfmt.MetricFamilyToText(&b, mf)
		require.NoError(t, err)
	}
	return b.String()
}

// TestAccountLabelOnEveryFamily: with accounts, every sample of every
// family carries its account, and each account serves what it would alone.
func TestAccountLabelOnEveryFamily(t *testing.T) {
	t.Parallel()
	single := accountEnv(t, "")
	alone := gather(t, New(single.r, single.reqs))
	perFamily := map[string]int{}
	for _, mf := range alone {
		perFamily[mf.GetName()] = len(mf.GetMetric())
	}

	hn, hcm := accountEnv(t, "hn-prod"), accountEnv(t, "hcm-prod")
	both := gather(t, NewAccounts([]Account{
		{Name: "hn-prod", Source: hn.r, Requests: hn.reqs},
		{Name: "hcm-prod", Source: hcm.r, Requests: hcm.reqs},
	}))
	require.Len(t, both, len(alone), "the same families")
	for _, mf := range both {
		counts := map[string]int{}
		for _, m := range mf.GetMetric() {
			require.NotEmpty(t, m.GetLabel(), mf.GetName())
			first := m.GetLabel()[0]
			require.Equal(t, "account", first.GetName(), "%s: account is the first label", mf.GetName())
			counts[first.GetValue()]++
		}
		want := perFamily[mf.GetName()]
		assert.Equal(t, map[string]int{"hn-prod": want, "hcm-prod": want}, counts, mf.GetName())
	}
}

// TestAccountsWithoutNameUnchanged: the single account of the flags served
// through Accounts is the exposition of its Collector, byte for byte.
func TestAccountsWithoutNameUnchanged(t *testing.T) {
	t.Parallel()
	e := accountEnv(t, "")
	want := exposition(t, gather(t, New(e.r, e.reqs)))
	got := exposition(t, gather(t, NewAccounts([]Account{{Source: e.r, Requests: e.reqs}})))
	assert.Equal(t, want, got)
	assert.NotContains(t, got, "account=")
}

// TestAccountsSet: a list replaced is what the next scrape serves.
func TestAccountsSet(t *testing.T) {
	t.Parallel()
	a, b := accountEnv(t, "a"), accountEnv(t, "b")
	accounts := NewAccounts([]Account{{Name: "a", Source: a.r}, {Name: "b", Source: b.r}})
	assert.Contains(t, exposition(t, gather(t, accounts)), `account="b"`)
	accounts.Set([]Account{{Name: "a", Source: a.r}})
	got := exposition(t, gather(t, accounts))
	assert.NotContains(t, got, `account="b"`)
	assert.Contains(t, got, `account="a"`)
}

func TestAccountsReady(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t))
	newReader := func(name string, fail bool) *testEnv {
		src := newStub(knownDataset())
		if fail {
			src.setFailure(&failure{page: 1, err: errors.New("down")})
		}
		return newEnv(t, src, now, func(c *Config) { c.Account = name })
	}
	served, failed, pending := newReader("served", false), newReader("failed", true), newReader("pending", false)
	require.NoError(t, served.r.Refresh(context.Background()))
	require.Error(t, failed.r.Refresh(context.Background()))
	acc := func(envs ...*testEnv) *Accounts {
		var list []Account
		for _, e := range envs {
			list = append(list, Account{Name: e.r.cfg.Account, Source: e.r})
		}
		return NewAccounts(list)
	}
	assert.True(t, acc(served).Ready())
	assert.True(t, acc(served, failed).Ready(), "a failed account does not hold the others")
	assert.False(t, acc(served, pending).Ready(), "an account still on its first read")
	assert.False(t, acc(failed).Ready(), "nothing served")
	assert.False(t, acc().Ready(), "no account")
}
