package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

func TestRunRejectsBadSettings(t *testing.T) {
	dir := t.TempDir()
	emptyToken := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(emptyToken, []byte("\n"), 0o600))

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no token", nil, "no FPT Cloud API token"},
		{"unknown time zone", []string{"--demo", "--fpt.timezone=Asia/Hanoi"}, `--fpt.timezone: unknown time zone "Asia/Hanoi"; FPT Cloud bills in Asia/Ho_Chi_Minh`},
		{"local time zone", []string{"--demo", "--fpt.timezone=Local"}, "--fpt.timezone"},
		{"page size zero", []string{"--demo", "--fpt.page-size=0"}, "--fpt.page-size: 0 is outside 1-1000"},
		{"page size too large", []string{"--demo", "--fpt.page-size=5000"}, "--fpt.page-size: 5000 is outside 1-1000"},
		{"interval under 1s", []string{"--demo", "--collector.refresh-interval=500ms"}, "--collector.refresh-interval: 500ms is outside 1s-24h0m0s"},
		{"interval over a day", []string{"--demo", "--collector.refresh-interval=25h"}, "--collector.refresh-interval"},
		{"max age under interval", []string{"--demo", "--collector.refresh-interval=1h", "--collector.max-age=30m"}, "--collector.max-age"},
		{"zero rate limit", []string{"--demo", "--fpt.rate-limit=0"}, "--fpt.rate-limit"},
		{"zero timeout", []string{"--demo", "--fpt.timeout=0s"}, "--fpt.timeout"},
		{"zero max series", []string{"--demo", "--collector.max-series=0"}, "--collector.max-series"},
		{"missing token file", []string{"--fpt.token-file=" + filepath.Join(dir, "missing")}, "--fpt.token-file: token file"},
		{"empty token file", []string{"--fpt.token-file=" + emptyToken}, "token is empty"},
		{"bad daily budget", []string{"--demo", "--budget.daily-vnd=lots"}, "--budget.daily-vnd"},
		{"negative monthly budget", []string{"--demo", "--budget.monthly-vnd=-5"}, "--budget.monthly-vnd"},
		{"group budget without amount", []string{"--demo", "--budget.billing-group-daily-vnd=team-a"}, "is not BILLING_GROUP=AMOUNT"},
		{"empty service type", []string{"--demo", "--fpt.service-type="}, "must not be empty"},
		{"unknown flag", []string{"--fpt.token=secret"}, "unknown long flag"},
		{"page size not a number", []string{"--demo", "--fpt.page-size=abc"}, "--fpt.page-size: "},
		{"interval not a duration", []string{"--demo", "--collector.refresh-interval=abc"}, "--collector.refresh-interval: "},
		{"unknown log level", []string{"--demo", "--log.level=trace"}, "--log.level: "},
		{"zero budget", []string{"--demo", "--budget.daily-vnd=0"}, "--budget.daily-vnd"},
		{"rate limit too low", []string{"--demo", "--fpt.rate-limit=1e-300"}, "--fpt.rate-limit"},
		{"relative metrics path", []string{"--demo", "--web.telemetry-path=metrics"}, "must start with /"},
		{"metrics path on a health endpoint", []string{"--demo", "--web.telemetry-path=/-/healthy"}, "health endpoint"},
		{"missing web config", []string{"--demo", "--web.config.file=" + filepath.Join(dir, "missing.yml")}, "--web.config.file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tokenEnv, "")
			var stderr bytes.Buffer
			// Should validation wrongly pass, run must not serve on the default port.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			code := run(ctx, append(tt.args, "--web.listen-address=127.0.0.1:0"), io.Discard, &stderr)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr.String(), tt.want)
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one clear line: %q", stderr.String())
		})
	}
}

// TestBadListenAddress: an address the server cannot listen on for its
// form is a bad flag like any other: exit 2, one line naming the flag, and
// nothing created on disk.
func TestBadListenAddress(t *testing.T) {
	for _, addr := range []string{"10117", "localhost", "127.0.0.1:99999", "foo:bar", ":", "127.0.0.1:-1", "[::1"} {
		t.Run(addr, func(t *testing.T) {
			storePath := filepath.Join(t.TempDir(), "store")
			var stderr bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			code := run(ctx, []string{"--demo", "--storage.path=" + storePath, "--web.listen-address=" + addr}, io.Discard, &stderr)
			assert.Equal(t, 2, code)
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
			assert.Contains(t, stderr.String(), "--web.listen-address: ")
			assert.Contains(t, stderr.String(), "127.0.0.1:10117", "it says what to write")
			assert.NoDirExists(t, storePath)
		})
	}
	t.Run("good forms pass", func(t *testing.T) {
		for _, addr := range []string{":10117", "127.0.0.1:0", "[::1]:10117", "localhost:http", "vsock://:10117"} {
			assert.NoError(t, checkListenAddress(addr), addr)
		}
	})
}

// startExporter runs the real start-up path in the background and returns
// its base URL and a function that stops it and returns the exit code.
func startExporter(t *testing.T, args ...string) (string, *testhelp.SyncBuffer, func() int) {
	t.Helper()
	addr := testhelp.FreeAddr(t)
	logs := &testhelp.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--storage.path") }) {
		// Never a data/ directory in the source tree.
		args = append([]string{"--storage.path=" + t.TempDir()}, args...)
	}
	go func() { done <- run(ctx, append(args, "--web.listen-address="+addr), io.Discard, logs) }()
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(20 * time.Second):
			t.Fatal("exporter did not stop within 20s of cancellation")
			return -1
		}
	}
	t.Cleanup(func() { cancel() })
	return "http://" + addr, logs, stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// waitFor polls url until it answers want, or fails the test after timeout.
func waitFor(t *testing.T, url string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := get(t, url)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %d %q, want %d within %s", url, code, body, want, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRunDemoServesMetrics(t *testing.T) {
	t.Setenv(tokenEnv, "")
	base, logs, stop := startExporter(t, "--demo", "--collector.refresh-interval=1s", "--log.level=debug")

	waitFor(t, base+"/-/healthy", http.StatusOK, 10*time.Second)
	waitFor(t, base+"/-/ready", http.StatusOK, 60*time.Second)
	// Ready serves today; month-to-date follows once the closed days are in.
	waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, 60*time.Second)

	code, metrics := get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		"fptcloud_billing_cost_vnd{",
		"fptcloud_billing_month_to_date_cost_vnd{",
		"fptcloud_billing_vcpus{",
		"fptcloud_billing_ram_bytes{",
		"fptcloud_billing_disk_bytes{",
		"fptcloud_exporter_refresh_success 1",
		"fptcloud_exporter_last_success_timestamp_seconds ",
		"fptcloud_exporter_refresh_duration_seconds ",
		`fptcloud_exporter_api_requests_total{code="200",endpoint="bills"}`,
		"fptcloud_exporter_build_info{",
	} {
		assert.Contains(t, metrics, want)
	}

	code, landing := get(t, base+"/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, landing, "/metrics")
	assert.Contains(t, landing, "DEMO MODE", "the landing page says the data are simulated")

	assert.Equal(t, 0, stop(), "exit code after cancellation")
	assert.Contains(t, logs.String(), "SIMULATED", "demo mode must say its data are simulated")
}

func TestRunNotReadyUntilFirstRefresh(t *testing.T) {
	// An API that never answers keeps the exporter unready but healthy.
	blocked := make(chan struct{})
	api := newBlockingAPI(t, blocked)
	t.Setenv(tokenEnv, "test-token")
	base, _, stop := startExporter(t, "--fpt.api-url="+api, "--collector.refresh-interval=1s")

	waitFor(t, base+"/-/healthy", http.StatusOK, 10*time.Second)
	code, _ := get(t, base+"/-/ready")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	code, metrics := get(t, base+"/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.NotContains(t, metrics, "fptcloud_billing_cost_vnd{")
	close(blocked)
	assert.Equal(t, 0, stop())
}

// newBlockingAPI serves an API whose requests hang until release is closed
// or the request is cancelled.
func newBlockingAPI(t *testing.T, release <-chan struct{}) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		}),
		ReadHeaderTimeout: time.Second,
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/api"
}
