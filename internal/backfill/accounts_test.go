package backfill

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// runAccountsBackfill runs backfill with the accounts' tokens in the
// environment.
func runAccountsBackfill(t *testing.T, args ...string) (int, string) {
	t.Helper()
	getenv := func(k string) string { return map[string]string{"HN": "hn-token", "JP": "jp-token"}[k] }
	var stderr bytes.Buffer
	cfg, err := config.NewApp().Resolve(append([]string{config.CommandBackfill, "--fpt.rate-limit=1000"}, args...), getenv)
	if err != nil {
		return 2, err.Error()
	}
	code := Run(context.Background(), cfg, log.NewLogfmtLogger(log.NewSyncWriter(&stderr)), &bytes.Buffer{}, &stderr)
	return code, stderr.String()
}

// TestBackfillAccount: the history of the account --account names, from
// its API and into its own store directory, its series labelled with its
// name besides the --label ones.
func TestBackfillAccount(t *testing.T) {
	t.Parallel()
	loc := testhelp.HCM(t)
	hn := fptapitest.NewServer(fptapitest.Config{Token: "hn-token", RowsPerDay: 60, LabelSets: 6, Location: loc})
	t.Cleanup(hn.Close)
	jp := fptapitest.NewServer(fptapitest.Config{Token: "jp-token", RowsPerDay: 60, LabelSets: 6, Location: loc, Seed: 9})
	t.Cleanup(jp.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "accounts.yml")
	yaml := fmt.Sprintf("accounts:\n  - name: hn-prod\n    token_env: HN\n    api_url: %s\n  - name: jp\n    token_env: JP\n    api_url: %s\n", hn.URL, jp.URL)
	require.NoError(t, os.WriteFile(file, []byte(yaml), 0o600))

	month := backfillMonth(t, loc)
	from, to := month.AddDate(0, 0, 2), month.AddDate(0, 0, 4)
	out, storeDir := filepath.Join(dir, "jp.om"), filepath.Join(dir, "store")
	args := []string{"--config.file=" + file, "--account=jp", "--from=" + from.Format(time.DateOnly), "--to=" + to.Format(time.DateOnly),
		"--output=" + out, "--storage.path=" + storeDir, "--label=job=fptcloud"}
	code, stderr := runAccountsBackfill(t, args...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 0, hn.Requests(fptapi.EndpointBills), "only the account asked for is read")
	assert.Positive(t, jp.Requests(fptapi.EndpointBills))

	got := parseBackfill(t, out, map[string]string{"account": "jp", "job": "fptcloud"})
	wantCost, wantMTD := expectedSums(t, jp, from, to)
	assertSums(t, "cost", wantCost, got["fptcloud_billing_cost_vnd"])
	assertSums(t, "month to date", wantMTD, got["fptcloud_billing_month_to_date_cost_vnd"])
	for _, calendar := range []string{"fptcloud_billing_month_elapsed_ratio", "fptcloud_billing_month_length_seconds"} {
		assert.Len(t, got[calendar], 3, calendar)
	}

	stored, err := os.ReadDir(filepath.Join(storeDir, "jp"))
	require.NoError(t, err)
	assert.NotEmpty(t, stored, "the account's days are in its own directory")
	_, err = os.Stat(filepath.Join(storeDir, "hn-prod"))
	require.ErrorIs(t, err, os.ErrNotExist)

	jp.ResetRequests()
	code, stderr = runAccountsBackfill(t, args...)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 0, jp.Requests(fptapi.EndpointBills), "a second run resumes from the account's store")
	assert.Contains(t, stderr, "days_from_store=5 days_from_api=0")
	assert.Contains(t, stderr, "account=jp", "the log names the account")

	code, stderr = runAccountsBackfill(t, "--config.file="+file, "--from="+from.Format(time.DateOnly), "--to="+to.Format(time.DateOnly))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--account is required")
}
