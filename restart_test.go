package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
)

// storeFixture starts a fake API with cfg, and returns it with a fresh
// --storage.path and the flags of an exporter on both. The previous month
// is read after the current one: left out, so that the counts are the
// current month's.
func storeFixture(t *testing.T, cfg fptapitest.Config) (*fptapitest.Server, string, []string) {
	t.Helper()
	fake := fptapitest.NewServer(cfg)
	t.Cleanup(fake.Close)
	t.Setenv(tokenEnv, fptapitest.DefaultToken)
	dir := filepath.Join(t.TempDir(), "cache")
	return fake, dir, []string{"--fpt.api-url=" + fake.URL, "--storage.path=" + dir, "--no-collector.previous-month",
		"--fpt.rate-limit=1000", "--collector.refresh-interval=1h"}
}

// TestRestartWithStore runs the real exporter twice on one --storage.path:
// the first run writes one private file per closed day, the second reads
// no closed day from the API; SIGHUP refreshes at once and does not kill.
func TestRestartWithStore(t *testing.T) {
	fake, dir, args := storeFixture(t, fptapitest.Config{RowsPerDay: 200, LabelSets: 20})
	today := time.Now().In(mustHCM(t)).Day()

	base, logs, stop := startExporter(t, args...)
	waitFor(t, base+"/-/ready", http.StatusOK, 30*time.Second)
	body := waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, 30*time.Second)
	first := fake.Requests(fptapi.EndpointBills)
	for name, want := range map[string]float64{"fptcloud_exporter_storage_ok": 1, "fptcloud_exporter_storage_write_failures_total": 0} {
		v, ok := metricValue(body, name)
		assert.True(t, ok && v == want, "%s: %v (present: %v), want %v", name, v, ok, want)
	}

	// SIGHUP: one log line, one more refresh of today, and the process lives.
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="SIGHUP: refreshing today's bills now"`) },
		10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return fake.Requests(fptapi.EndpointBills) > first }, 10*time.Second, 10*time.Millisecond)
	// Its end is logged at info level (the log level here), unlike a
	// scheduled refresh's.
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="refresh of today done"`) },
		10*time.Second, 10*time.Millisecond, logs.String())
	code, _ := get(t, base+"/-/healthy")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 0, stop())
	assert.Contains(t, logs.String(), `msg=stopped`)

	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	assert.Len(t, files, today-1, "one file per closed day of the month")
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}

	fake.ResetRequests()
	base, logs, stop = startExporter(t, args...)
	waitFor(t, base+"/-/ready", http.StatusOK, 30*time.Second)
	waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, 30*time.Second)
	assert.Equal(t, 0, stop())
	req, ok := fake.LastRequest(fptapi.EndpointBills)
	require.True(t, ok)
	assert.Contains(t, string(req.Body), time.Now().In(mustHCM(t)).Format(time.DateOnly), "the restart read today")
	assert.LessOrEqual(t, fake.Requests(fptapi.EndpointBills), 2*(200/100+1), "today, and yesterday in its late window, at most")
	assert.Contains(t, logs.String(), `msg="month cache loaded from the store"`)
}

// TestUnusableStorePath: a --storage.path that cannot be a directory is one
// warning and fptcloud_exporter_storage_ok 0, for an alert; the exporter
// runs on in memory.
func TestUnusableStorePath(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	base, logs, stop := startExporter(t, "--demo", "--storage.path="+filepath.Join(blocker, "data"))
	waitFor(t, base+"/-/ready", http.StatusOK, 30*time.Second)
	_, body := get(t, base+"/metrics")
	v, ok := metricValue(body, "fptcloud_exporter_storage_ok")
	assert.True(t, ok && v == 0, "fptcloud_exporter_storage_ok: %v (present: %v), want 0", v, ok)
	assert.Equal(t, 0, stop())
	assert.Equal(t, 1, strings.Count(logs.String(), "cannot use --storage.path"), logs.String())
}

func mustHCM(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	return loc
}

// TestRestartUnderAnotherNameOfTheZone: Asia/Saigon, the billing zone's old
// name, has FPT's days: the month cache written under Asia/Ho_Chi_Minh stays
// valid, where another zone's days would be read again.
func TestRestartUnderAnotherNameOfTheZone(t *testing.T) {
	_, _, args := storeFixture(t, fptapitest.Config{RowsPerDay: 20, LabelSets: 5})
	closedDays := time.Now().In(mustHCM(t)).Day() - 1

	base, _, stop := startExporter(t, append(args, "--fpt.timezone=Asia/Ho_Chi_Minh")...)
	waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, 30*time.Second)
	assert.Equal(t, 0, stop())

	base, logs, stop := startExporter(t, append(args, "--fpt.timezone=Asia/Saigon")...)
	waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, 30*time.Second)
	assert.Equal(t, 0, stop())
	assert.NotContains(t, logs.String(), "another configuration")
	assert.NotContains(t, logs.String(), "is not FPT Cloud's billing zone")
	assert.Contains(t, logs.String(), fmt.Sprintf("closed_days_loaded=%d ", closedDays))

	assert.Equal(t, "Asia/Ho_Chi_Minh", storeTimeZone(time.FixedZone("UTC+7", 7*3600), time.Now()))
	assert.Equal(t, "UTC", storeTimeZone(time.UTC, time.Now()))
}
