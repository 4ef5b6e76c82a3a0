package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

func TestRunRejectsBadSettings(t *testing.T) {
	t.Parallel()
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
			env := tokenEnv("")
			var stderr bytes.Buffer
			// Should validation wrongly pass, run must not serve on the default port.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			code := run(ctx, env, append(tt.args, "--web.listen-address=127.0.0.1:0"), io.Discard, &stderr)
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
	t.Parallel()
	env := noEnv
	for _, addr := range []string{"10117", "localhost", "127.0.0.1:99999", "foo:bar", ":", "127.0.0.1:-1", "[::1"} {
		t.Run(addr, func(t *testing.T) {
			storePath := filepath.Join(t.TempDir(), "store")
			var stderr bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			code := run(ctx, env, []string{"--demo", "--storage.path=" + storePath, "--web.listen-address=" + addr}, io.Discard, &stderr)
			assert.Equal(t, 2, code)
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
			assert.Contains(t, stderr.String(), "--web.listen-address: ")
			assert.Contains(t, stderr.String(), "127.0.0.1:10117", "it says what to write")
			assert.NoDirExists(t, storePath)
		})
	}
	t.Run("good forms pass", func(t *testing.T) {
		for _, addr := range []string{":10117", "127.0.0.1:0", "[::1]:10117", "localhost:http", "vsock://:10117"} {
			_, err := config.NewApp().Resolve([]string{"--demo", "--web.listen-address=" + addr}, noEnv)
			assert.NoError(t, err, addr)
		}
	})
}

// startExporter runs the real start-up path in the background and returns
// its base URL and a function that stops it and returns the exit code.
func startExporter(t *testing.T, getenv func(string) string, args ...string) (string, *testhelp.SyncBuffer, func() int) {
	t.Helper()
	logs := &testhelp.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	var code int
	exited := make(chan struct{})
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--storage.path") }) {
		// Never a data/ directory in the source tree.
		args = append([]string{"--storage.path=" + t.TempDir()}, args...)
	}
	go func() {
		defer close(exited)
		code = run(ctx, getenv, append(args, "--web.listen-address=127.0.0.1:0"), io.Discard, logs)
	}()
	t.Cleanup(func() { cancel() })
	addr := listeningAddress(t, logs, exited)
	stop := func() int {
		cancel()
		select {
		case <-exited:
			return code
		case <-time.After(testhelp.Patience):
			t.Fatal("exporter did not stop after cancellation")
			return -1
		}
	}
	return "http://" + addr, logs, stop
}

// listeningLine is exporter-toolkit's log line for the address it listens
// on, port 0 resolved.
var listeningLine = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// listeningAddress waits for the exporter's log to say where it listens,
// and fails the test if it exits first or says nothing for a minute.
func listeningAddress(t *testing.T, logs *testhelp.SyncBuffer, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.After(testhelp.Patience)
	for {
		if m := listeningLine.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		select {
		case <-exited:
			t.Fatalf("the exporter exited before listening:\n%s", logs.String())
		case <-deadline:
			t.Fatalf("the exporter did not listen:\n%s", logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestRunDemoServesMetrics(t *testing.T) {
	t.Parallel()
	env := tokenEnv("")
	base, logs, stop := startExporter(t, env, "--demo", "--collector.refresh-interval=1s", "--log.level=debug")

	testhelp.WaitFor(t, base+"/-/healthy", http.StatusOK, testhelp.Patience)
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, testhelp.Patience)
	// Ready serves today; month-to-date follows once the closed days are in.
	waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, testhelp.Patience)

	code, metrics := testhelp.Get(t, base+"/metrics")
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

	code, landing := testhelp.Get(t, base+"/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, landing, "/metrics")
	assert.Contains(t, landing, "DEMO MODE", "the landing page says the data are simulated")

	assert.Equal(t, 0, stop(), "exit code after cancellation")
	assert.Contains(t, logs.String(), "SIMULATED", "demo mode must say its data are simulated")
}

func TestRunNotReadyUntilFirstRefresh(t *testing.T) {
	t.Parallel()
	// An API that never answers keeps the exporter unready but healthy.
	blocked := make(chan struct{})
	api := newBlockingAPI(t, blocked)
	env := tokenEnv("test-token")
	base, _, stop := startExporter(t, env, "--fpt.api-url="+api, "--collector.refresh-interval=1s")

	testhelp.WaitFor(t, base+"/-/healthy", http.StatusOK, testhelp.Patience)
	code, _ := testhelp.Get(t, base+"/-/ready")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	code, metrics := testhelp.Get(t, base+"/metrics")
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

// TestRunRefusesPastedTokens: the usual ways a token is pasted wrong stop
// the exporter at start with the fix, whether it comes from the
// environment or a file, and the token is never echoed.
func TestRunRefusesPastedTokens(t *testing.T) {
	t.Parallel()
	const token = "eyJhbGciOiJIUzI1NiJ9.pasted.c2ln"
	for value, want := range map[string]string{
		"Bearer " + token:       `starts with "Bearer ": remove the prefix`,
		`"` + token + `"`:       "without quotes",
		"'" + token + "'\r\n":   "without quotes",
		"\ufeffBearer " + token: "remove the prefix",
	} {
		for _, source := range []string{"env", "file"} {
			t.Run(source+" "+want, func(t *testing.T) {
				args := []string{"--web.listen-address=127.0.0.1:0"}
				env := tokenEnv("")
				if source == "env" {
					env = tokenEnv(value)
				} else {
					path := filepath.Join(t.TempDir(), "token")
					require.NoError(t, os.WriteFile(path, []byte(value), 0o600))
					args = append(args, "--fpt.token-file="+path)
				}
				var stderr bytes.Buffer
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				assert.Equal(t, 2, run(ctx, env, args, &bytes.Buffer{}, &stderr))
				assert.Contains(t, stderr.String(), want)
				assert.NotContains(t, stderr.String(), token)
				assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), stderr.String())
			})
		}
	}
}

// TestRunLogsTokenSourceAndWarnings: with both token sources set the log
// says which one is used; a time zone other than FPT's is warned about once.
func TestRunLogsTokenSourceAndWarnings(t *testing.T) {
	t.Parallel()
	fake := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 10})
	defer fake.Close()
	path := filepath.Join(t.TempDir(), "token")
	// Saved by Notepad: a byte order mark and CRLF; the exporter must work.
	require.NoError(t, os.WriteFile(path, []byte("\ufeff"+fptapitest.DefaultToken+"\r\n"), 0o600))
	env := tokenEnv("an-env-token")

	base, logs, stop := startExporter(t, env, "--fpt.api-url="+fake.URL, "--fpt.token-file="+path,
		"--fpt.timezone=UTC", "--collector.refresh-interval=1s")
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, testhelp.Patience)
	assert.Equal(t, 0, stop())

	out := logs.String()
	assert.Contains(t, out, `msg="API token" source="file `+path+`"`)
	assert.Contains(t, out, "both --fpt.token-file and $FPTCLOUD_TOKEN are set: the token comes from the file")
	assert.Equal(t, 1, strings.Count(out, "--fpt.timezone=UTC is not FPT Cloud's billing zone"), out)
	assert.NotContains(t, out, "an-env-token")
}

func TestAPIURLWithoutSchemeFailsLikeAFlag(t *testing.T) {
	t.Parallel()
	env := tokenEnv("some-token")
	for _, u := range []string{"console-api.fptcloud.com/api", "ftp://console-api.fptcloud.com/api", "https://user:pw@host/api", "://"} {
		var stderr bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.Equal(t, 2, run(ctx, env, []string{"--fpt.api-url=" + u, "--web.listen-address=127.0.0.1:0"}, &bytes.Buffer{}, &stderr), u)
		assert.True(t, strings.HasPrefix(stderr.String(), config.Name+": --fpt.api-url: "), stderr.String())
		assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), stderr.String())
		assert.NotContains(t, stderr.String(), "pw")
	}
}

// TestPprofBehindFlag: no profiling pages or links by default; both with
// --web.enable-pprof.
func TestPprofBehindFlag(t *testing.T) {
	t.Parallel()
	env := tokenEnv("")
	base, _, stop := startExporter(t, env, "--demo")
	testhelp.WaitFor(t, base+"/-/healthy", http.StatusOK, testhelp.Patience)
	code, landing := testhelp.Get(t, base+"/")
	assert.Equal(t, http.StatusOK, code)
	assert.NotContains(t, landing, "debug/pprof")
	code, _ = testhelp.Get(t, base+"/debug/pprof/")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, 0, stop())

	base, _, stop = startExporter(t, env, "--demo", "--web.enable-pprof")
	testhelp.WaitFor(t, base+"/-/healthy", http.StatusOK, testhelp.Patience)
	_, landing = testhelp.Get(t, base+"/")
	assert.Contains(t, landing, "debug/pprof/heap")
	code, _ = testhelp.Get(t, base+"/debug/pprof/heap?debug=1")
	assert.Equal(t, http.StatusOK, code)
	code, _ = testhelp.Get(t, base+"/debug/pprof/")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 0, stop())
}

// TestServeCommand: the exporter is also the explicit command serve, and
// stays the default.
func TestServeCommand(t *testing.T) {
	t.Parallel()
	env := tokenEnv("")
	base, _, stop := startExporter(t, env, "serve", "--demo")
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, testhelp.Patience)
	assert.Equal(t, 0, stop())
}

// Distinctive tokens: a leak is found by a plain search of the output.
const (
	secretRight = "tok-SECRET-RIGHT-9d8c7b6a5f4e3d2c"
	secretWrong = "tok-SECRET-WRONG-1a2b3c4d5e6f7a8b"
)

// metricValue returns the value of an unlabelled sample in an exposition.
func metricValue(exposition, name string) (float64, bool) {
	for _, line := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// waitForMetric polls base's /metrics until name has the value want.
func waitForMetric(t *testing.T, base, name string, want float64, timeout time.Duration) string {
	t.Helper()
	// The timeout counts from the metric's last change, not from the start:
	// a countdown such as the closed days still to read may take minutes on
	// a loaded machine (or under -race), and only a stall is a failure. A
	// value that keeps changing without reaching want is capped at ten
	// timeouts.
	start := time.Now()
	deadline := start.Add(timeout)
	last, seen := 0.0, false
	for {
		code, body := testhelp.Get(t, base+"/metrics")
		v, ok := metricValue(body, name)
		if code == http.StatusOK && ok && v == want {
			return body
		}
		if ok && (!seen || v != last) {
			last, seen = v, true
			deadline = time.Now().Add(timeout)
		}
		now := time.Now()
		if now.After(deadline) || now.Sub(start) > 10*timeout {
			t.Fatalf("%s never became %v: last %v (seen: %v), unchanged for %s or waited %s", name, want, last, seen, timeout, now.Sub(start).Round(time.Second))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrapeAll fetches every endpoint and returns the bodies, with their
// status codes, for scanning.
func scrapeAll(t *testing.T, base string) string {
	t.Helper()
	var b strings.Builder
	for _, path := range []string{"/", "/metrics", "/-/ready", "/-/healthy", "/nonexistent"} {
		code, body := testhelp.Get(t, base+path)
		fmt.Fprintf(&b, "%s %d\n%s\n", path, code, body)
	}
	return b.String()
}

// TestSecretsNeverInOutput runs the exporter at debug level with a token
// file, against a fake that first rejects the token (and echoes it back in
// its error message, as a careless API could), then accepts the rotated
// one; neither token appears in any log line, any page the exporter serves,
// or any start-up error.
func TestSecretsNeverInOutput(t *testing.T) {
	t.Parallel()
	env := tokenEnv("")
	fake := fptapitest.NewServer(fptapitest.Config{Token: secretRight, RowsPerDay: 40, LabelSets: 10})
	t.Cleanup(fake.Close)
	// The API echoes the token it was sent, in a 401 and in a status error.
	fake.InjectFault(fptapitest.Fault{Page: 1, Times: 1, Code: http.StatusUnauthorized, Message: "token " + secretWrong + " expired"})
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, secretWrong+"\n", time.Now().Add(-time.Hour))

	base, logs, stop := startExporter(t, env, "--fpt.api-url="+fake.URL, "--fpt.token-file="+path, "--log.level=debug",
		"--collector.refresh-interval=1s", "--fpt.rate-limit=1000")
	testhelp.WaitFor(t, base+"/-/healthy", http.StatusOK, testhelp.Patience)
	waitForMetric(t, base, "fptcloud_exporter_token_rejected", 1, testhelp.Patience)
	var bodies strings.Builder
	bodies.WriteString(scrapeAll(t, base))

	// Rotate first: the fake answers a status fault before it checks the
	// token, so a fault injected before the new token is in use could be
	// answered to a request that carried secretWrong, echoing secretRight
	// where the exporter never sent it (a false leak report).
	writeToken(t, path, secretRight+"\n", time.Now())
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, testhelp.Patience)
	waitForMetric(t, base, "fptcloud_exporter_token_rejected", 0, testhelp.Patience)
	bodies.WriteString(scrapeAll(t, base))

	// Now the API echoes the right token in a status error, until cleared:
	// a fault that fired once could be missed between two polls.
	fake.InjectFault(fptapitest.Fault{Page: 1, Status: 1, Message: "bad request for " + secretRight})
	waitForMetric(t, base, "fptcloud_exporter_refresh_success", 0, testhelp.Patience)
	bodies.WriteString(scrapeAll(t, base))
	fake.ClearFaults()
	waitForMetric(t, base, "fptcloud_exporter_refresh_success", 1, testhelp.Patience)
	bodies.WriteString(scrapeAll(t, base))
	require.Equal(t, 0, stop())

	out := logs.String()
	require.Contains(t, out, "HTTP 401", "the rejection was logged")
	require.Contains(t, out, `status \"1\"`, "the status error was logged")
	require.Contains(t, out, `msg="refresh of today done"`, "debug lines were logged")
	require.Contains(t, bodies.String(), "fptcloud_billing_cost_vnd{")
	for _, secret := range []string{secretRight, secretWrong} {
		assert.NotContains(t, out, secret, "logs")
		assert.NotContains(t, bodies.String(), secret, "served pages")
	}

	// Start-up errors about a token never quote it.
	dir := t.TempDir()
	for _, tt := range []struct {
		name    string
		content string
		env     bool // also refused from the environment (which has no size limit)
	}{
		{"white space", secretRight + " " + secretWrong, true},
		{"control", secretRight + "\x01", true},
		{"unicode space", secretRight + "\u00a0x", true},
		{"vertical tab", secretRight + "\vx", true},
		{"carriage return", secretRight + "\rX-Injected: 1", true},
		{"too large", strings.Repeat(secretRight, config.MaxTokenFileSize/len(secretRight)+1), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Should validation pass after all, the exporter must not
			// keep the test waiting nor listen beyond loopback.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			args := []string{"--log.level=debug", "--web.listen-address=127.0.0.1:0"}
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			require.NoError(t, os.WriteFile(p, []byte(tt.content), 0o600))
			var stderr bytes.Buffer
			assert.Equal(t, 2, run(ctx, env, append(args, "--fpt.token-file="+p), io.Discard, &stderr))
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
			assert.NotContains(t, stderr.String(), secretRight)
			if !tt.env {
				return
			}
			env := tokenEnv(tt.content)
			stderr.Reset()
			assert.Equal(t, 2, run(ctx, env, args, io.Discard, &stderr))
			assert.Contains(t, stderr.String(), "$"+config.TokenEnv)
			assert.NotContains(t, stderr.String(), secretRight)
		})
	}
}

// TestTokenRotationEndToEnd: FPT tokens expire; a secret manager writes
// the new one into the token file and the running exporter picks it up at
// its next refresh, with no restart.
func TestTokenRotationEndToEnd(t *testing.T) {
	t.Parallel()
	const tokenA, tokenB = "tok-ROTATE-A-0f1e2d3c", "tok-ROTATE-B-4b5a6978"
	env := tokenEnv("")
	fake := fptapitest.NewServer(fptapitest.Config{Token: tokenA, RowsPerDay: 40, LabelSets: 10})
	t.Cleanup(fake.Close)
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, tokenA+"\n", time.Now().Add(-time.Hour))

	base, logs, stop := startExporter(t, env, "--fpt.api-url="+fake.URL, "--fpt.token-file="+path,
		"--collector.refresh-interval=1s", "--fpt.rate-limit=1000")
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, testhelp.Patience)
	waitForMetric(t, base, "fptcloud_exporter_refresh_success", 1, testhelp.Patience)

	// The old token expires at the API.
	fake.SetToken(tokenB)
	body := waitForMetric(t, base, "fptcloud_exporter_token_rejected", 1, testhelp.Patience)
	v, _ := metricValue(body, "fptcloud_exporter_refresh_success")
	assert.Equal(t, 0.0, v)
	assert.Contains(t, body, "fptcloud_billing_cost_vnd{", "the last good snapshot is still served")
	// No restart: the failure counter of the one exporter process keeps
	// counting from here; a new process would start again from 0.
	failures := counterAtLeast(t, body, 1, "after the rejected token")

	// The new token lands in the file: the next refresh uses it.
	writeToken(t, path, tokenB+"\n", time.Now())
	body = waitForMetric(t, base, "fptcloud_exporter_token_rejected", 0, testhelp.Patience)
	v, _ = metricValue(body, "fptcloud_exporter_refresh_success")
	assert.Equal(t, 1.0, v)
	failures = counterAtLeast(t, body, failures, "after the rotation")
	req, ok := fake.LastRequest(fptapi.EndpointBills)
	require.True(t, ok)
	assert.Equal(t, "Bearer "+tokenB, req.Header.Get("Authorization"))

	// A secret manager that removes the file before writing the next one:
	// refreshes fail (not as a rejected token) and recover once it is back.
	require.NoError(t, os.Remove(path))
	body = waitForMetric(t, base, "fptcloud_exporter_refresh_success", 0, testhelp.Patience)
	v, _ = metricValue(body, "fptcloud_exporter_token_rejected")
	assert.Equal(t, 0.0, v, "a missing file is not a token the API rejected")
	failures = counterAtLeast(t, body, failures+1, "after the file was removed")
	writeToken(t, path, tokenB+"\n", time.Now().Add(time.Minute))
	body = waitForMetric(t, base, "fptcloud_exporter_refresh_success", 1, testhelp.Patience)
	counterAtLeast(t, body, failures, "after the file came back")

	require.Equal(t, 0, stop())
	out := logs.String()
	assert.Contains(t, out, "token invalid or expired")
	assert.Contains(t, out, "token file")
	assert.NotContains(t, out, tokenA)
	assert.NotContains(t, out, tokenB)
}

// counterAtLeast returns fptcloud_exporter_refresh_failures_total from an
// exposition and fails the test when it is below floor: the counter of the
// exporter that served the earlier bodies only grows, so a value below the
// earlier one means a new process (or a reset) served this body.
func counterAtLeast(t *testing.T, body string, floor float64, when string) float64 {
	t.Helper()
	v, ok := metricValue(body, "fptcloud_exporter_refresh_failures_total")
	require.True(t, ok, "no fptcloud_exporter_refresh_failures_total %s", when)
	require.GreaterOrEqual(t, v, floor, "fptcloud_exporter_refresh_failures_total %s: it went back, so the exporter restarted", when)
	return v
}

// TestShutdownLetsInFlightScrapesFinish cancels the server's context while a
// scrape is being served: the scrape still gets its answer and the shutdown
// is clean. A scrape that outlasts
// the grace period is cut off, and the shutdown is still clean.
func TestShutdownLetsInFlightScrapesFinish(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		grace       time.Duration
		releaseLate bool // release the scrape only after the grace period
		wantAnswer  bool
	}{
		{name: "scrape finishes within the grace period", grace: 10 * time.Second, wantAnswer: true},
		{name: "scrape outlasts the grace period", grace: 100 * time.Millisecond, releaseLate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				select {
				case <-release:
				case <-r.Context().Done():
				}
				_, _ = w.Write([]byte("metrics\n"))
			})
			flags := &web.FlagConfig{WebListenAddresses: &[]string{"127.0.0.1:0"}, WebSystemdSocket: new(bool), WebConfigFile: new(string)}
			logs := &testhelp.SyncBuffer{}
			_, slogger := newLogger(logs, &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done, exited := make(chan error, 1), make(chan struct{})
			go func() {
				done <- listenAndServe(ctx, handler, flags, tt.grace, log.NewNopLogger(), slogger)
				close(exited)
			}()
			addr := listeningAddress(t, logs, exited)

			type answer struct {
				code int
				err  error
			}
			answers := make(chan answer, 1)
			go func() {
				for {
					resp, err := http.Get("http://" + addr + "/metrics")
					if err != nil && ctx.Err() == nil {
						time.Sleep(10 * time.Millisecond) // not listening yet
						continue
					}
					if err != nil {
						answers <- answer{err: err}
						return
					}
					resp.Body.Close()
					answers <- answer{code: resp.StatusCode}
					return
				}
			}()
			select {
			case <-entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the scrape never reached the handler")
			}
			cancel()
			if tt.releaseLate {
				require.NoError(t, <-done, "cut-off scrapes still make a clean shutdown")
				close(release)
				a := <-answers
				assert.Error(t, a.err, "the cut-off scrape gets no answer")
				return
			}
			select {
			case err := <-done:
				t.Fatalf("returned %v while a scrape was still in flight", err)
			case <-time.After(100 * time.Millisecond):
			}
			close(release)
			a := <-answers
			require.NoError(t, a.err)
			assert.Equal(t, http.StatusOK, a.code, "the in-flight scrape is answered")
			require.NoError(t, <-done)
		})
	}
}

// selfSigned writes a fresh self-signed certificate for 127.0.0.1 and its
// key into dir, and returns their paths and a pool that trusts it. Nothing
// is committed: the key exists only for the test.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "fptcloud_exporter test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)

	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// fetch GETs url with client, with basic auth when user is not empty.
func fetch(client *http.Client, url, user, password string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestWebConfigTLSAndBasicAuth runs the exporter with --web.config.file
// holding a TLS certificate and a basic-auth user, and scrapes it the ways
// a Prometheus server and a stranger would.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	t.Parallel()
	const user, password = "prometheus", "s3cret-Scrape-Pass"
	env := tokenEnv("")
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	// The lowest cost keeps the test fast; exporter-toolkit accepts any.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	webConfig := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webConfig, fmt.Appendf(nil,
		"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n",
		certFile, keyFile, user, hash), 0o600))

	base, logs, stop := startExporter(t, env, "--demo", "--web.config.file="+webConfig)
	tlsBase := strings.Replace(base, "http://", "https://", 1)
	trusting := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		// A bound for a hung server, not a speed test: under -race on a
		// loaded machine one TLS handshake can take many seconds.
		Timeout: testhelp.Patience,
	}
	t.Cleanup(trusting.CloseIdleConnections)

	// Up, over TLS, with credentials.
	deadline := time.Now().Add(testhelp.Patience)
	for {
		code, _, err := fetch(trusting, tlsBase+"/-/ready", user, password)
		if err == nil && code == http.StatusOK {
			break
		}
		require.True(t, time.Now().Before(deadline), "not ready over TLS: %d %v", code, err)
		time.Sleep(100 * time.Millisecond)
	}

	code, body, err := fetch(trusting, tlsBase+"/metrics", user, password)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "fptcloud_billing_cost_vnd{")
	assert.Contains(t, body, "fptcloud_exporter_refresh_success 1")

	for _, tt := range []struct {
		name, user, password string
	}{
		{"no credentials", "", ""},
		{"wrong password", user, "wrong-password"},
		{"unknown user", "admin", password},
		{"empty password", user, ""},
	} {
		for _, path := range []string{"/metrics", "/", "/-/healthy", "/-/ready"} {
			code, body, err := fetch(trusting, tlsBase+path, tt.user, tt.password)
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnauthorized, code, "%s on %s", tt.name, path)
			assert.NotContains(t, body, "fptcloud_", "%s on %s", tt.name, path)
		}
	}

	// Plain HTTP to the TLS port gets no metrics, with or without
	// credentials (Go's TLS server answers 400 to a plain request).
	plain := &http.Client{Timeout: testhelp.Patience}
	code, body, err = fetch(plain, base+"/metrics", user, password)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "HTTP request to an HTTPS server")
	assert.NotContains(t, body, "fptcloud_")

	// A client that does not trust the certificate refuses the server.
	_, _, err = fetch(&http.Client{Timeout: testhelp.Patience}, tlsBase+"/metrics", user, password)
	var unknownCA x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknownCA)

	require.Equal(t, 0, stop())
	assert.Contains(t, logs.String(), "TLS is enabled")
	assert.NotContains(t, logs.String(), password)
	assert.NotContains(t, logs.String(), string(hash))
}

// storeFixture starts a fake API with cfg, and returns it with a fresh
// --storage.path and the flags of an exporter on both. The previous month
// is read after the current one: left out, so that the counts are the
// current month's.
func storeFixture(t *testing.T, cfg fptapitest.Config) (*fptapitest.Server, string, []string) {
	t.Helper()
	fake := fptapitest.NewServer(cfg)
	t.Cleanup(fake.Close)
	dir := filepath.Join(t.TempDir(), "cache")
	return fake, dir, []string{"--fpt.api-url=" + fake.URL, "--storage.path=" + dir, "--no-collector.previous-month",
		"--fpt.rate-limit=1000", "--collector.refresh-interval=1h"}
}

// TestRestartWithStore runs the real exporter twice on one --storage.path:
// the first run writes one private file per closed day, the second reads
// no closed day from the API; SIGHUP refreshes at once and does not kill.
func TestRestartWithStore(t *testing.T) {
	t.Parallel()
	env := tokenEnv(fptapitest.DefaultToken) // the fixture's fake API
	fake, dir, args := storeFixture(t, fptapitest.Config{RowsPerDay: 200, LabelSets: 20})
	today := time.Now().In(testhelp.HCM(t)).Day()
	// Every bills request's body, through a recorder in front of the fake:
	// in yesterday's late window the restart reads yesterday after today,
	// so that today was read is in some request, not always the last.
	var mu sync.Mutex
	var bodies []string
	recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		mu.Lock()
		bodies = append(bodies, string(body))
		mu.Unlock()
		fake.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(recorder.Close)
	args[0] = "--fpt.api-url=" + recorder.URL + "/api"

	base, logs, stop := startExporter(t, env, args...)
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, testhelp.Patience)
	body := waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, testhelp.Patience)
	first := fake.Requests(fptapi.EndpointBills)
	for name, want := range map[string]float64{"fptcloud_exporter_storage_ok": 1, "fptcloud_exporter_storage_write_failures_total": 0} {
		v, ok := metricValue(body, name)
		assert.True(t, ok && v == want, "%s: %v (present: %v), want %v", name, v, ok, want)
	}

	// SIGHUP: one log line, one more refresh of today, and the process lives.
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="SIGHUP: refreshing today's bills now"`) },
		testhelp.Patience, 10*time.Millisecond)
	require.Eventually(t, func() bool { return fake.Requests(fptapi.EndpointBills) > first }, testhelp.Patience, 10*time.Millisecond)
	// Its end is logged at info level (the log level here), unlike a
	// scheduled refresh's.
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="refresh of today done"`) },
		testhelp.Patience, 10*time.Millisecond, logs.String())
	code, _ := testhelp.Get(t, base+"/-/healthy")
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
	mu.Lock()
	bodies = nil
	mu.Unlock()
	base, logs, stop = startExporter(t, env, args...)
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, testhelp.Patience)
	waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, testhelp.Patience)
	assert.Equal(t, 0, stop())
	mu.Lock()
	restart := strings.Join(bodies, "\n")
	mu.Unlock()
	assert.Contains(t, restart, `"search_date":"`+time.Now().In(testhelp.HCM(t)).Format(time.DateOnly)+`"`, "the restart read today")
	assert.LessOrEqual(t, fake.Requests(fptapi.EndpointBills), 2*(200/100+1), "today, and yesterday in its late window, at most")
	assert.Contains(t, logs.String(), `msg="month cache loaded from the store"`)
}

// TestUnusableStorePath: a --storage.path that cannot be a directory is one
// warning and fptcloud_exporter_storage_ok 0, for an alert; the exporter
// runs on in memory.
func TestUnusableStorePath(t *testing.T) {
	t.Parallel()
	env := noEnv
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	base, logs, stop := startExporter(t, env, "--demo", "--storage.path="+filepath.Join(blocker, "data"))
	testhelp.WaitFor(t, base+"/-/ready", http.StatusOK, testhelp.Patience)
	_, body := testhelp.Get(t, base+"/metrics")
	v, ok := metricValue(body, "fptcloud_exporter_storage_ok")
	assert.True(t, ok && v == 0, "fptcloud_exporter_storage_ok: %v (present: %v), want 0", v, ok)
	assert.Equal(t, 0, stop())
	assert.Equal(t, 1, strings.Count(logs.String(), "cannot use --storage.path"), logs.String())
}

// TestRestartUnderAnotherNameOfTheZone: Asia/Saigon, the billing zone's old
// name, has FPT's days: the month cache written under Asia/Ho_Chi_Minh stays
// valid, where another zone's days would be read again.
func TestRestartUnderAnotherNameOfTheZone(t *testing.T) {
	t.Parallel()
	env := tokenEnv(fptapitest.DefaultToken) // the fixture's fake API
	_, _, args := storeFixture(t, fptapitest.Config{RowsPerDay: 20, LabelSets: 5})
	closedDays := time.Now().In(testhelp.HCM(t)).Day() - 1

	base, _, stop := startExporter(t, env, append(args, "--fpt.timezone=Asia/Ho_Chi_Minh")...)
	waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, testhelp.Patience)
	assert.Equal(t, 0, stop())

	base, logs, stop := startExporter(t, env, append(args, "--fpt.timezone=Asia/Saigon")...)
	waitForMetric(t, base, "fptcloud_exporter_closed_day_reads_missing", 0, testhelp.Patience)
	assert.Equal(t, 0, stop())
	assert.NotContains(t, logs.String(), "another configuration")
	assert.NotContains(t, logs.String(), "is not FPT Cloud's billing zone")
	assert.Contains(t, logs.String(), fmt.Sprintf("closed_days_loaded=%d ", closedDays))
}

// logfmtPair matches key=value, with a value in quotes or up to a space.
var logfmtPair = regexp.MustCompile(`(?:^| )([a-z_]+)=("[^"]*"|\S*)`)

// TestLogLinesShareKeys: the project's lines and exporter-toolkit's (through
// slog) carry the same keys, with the time as ts in UTC, in both formats.
func TestLogLinesShareKeys(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"logfmt", "json"} {
		t.Run(format, func(t *testing.T) {
			cfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}
			require.NoError(t, cfg.Format.Set(format))
			var buf bytes.Buffer
			logger, slogger := newLogger(&buf, cfg)
			level.Info(logger).Log("msg", "from the project")
			slogger.Info("from exporter-toolkit")

			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			require.Len(t, lines, 2, buf.String())
			for _, line := range lines {
				fields := map[string]string{}
				if format == "json" {
					require.NoError(t, json.Unmarshal([]byte(line), &fields), line)
				} else {
					for _, m := range logfmtPair.FindAllStringSubmatch(line, -1) {
						fields[m[1]] = m[2]
					}
				}
				assert.Equal(t, []string{"caller", "level", "msg", "ts"}, slices.Sorted(maps.Keys(fields)), line)
				ts, err := time.Parse(time.RFC3339Nano, fields["ts"])
				if assert.NoError(t, err, line) {
					assert.Equal(t, time.UTC, ts.Location(), line)
				}
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite testdata/demo.prom from the current code")

// TestDemoGolden holds the demo's exposition, at a fixed clock, to
// testdata/demo.prom: every metric name, label, help text and type the
// exporter serves is in that file, so a change to the metric contract shows
// in review as a diff of it. After an intended change, regenerate it with
//
//	go test -run TestDemoGolden -update .
func TestDemoGolden(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	// Mid-afternoon mid-month: today is partial and fourteen days are closed.
	now := time.Date(2026, time.November, 15, 14, 30, 0, 0, loc)
	clock := func() time.Time { return now }

	fakeCfg := config.DemoAPI(loc)
	fakeCfg.Now = clock
	fake := fptapitest.NewServer(fakeCfg)
	t.Cleanup(fake.Close)

	requests := collector.NewAPIRequestCounter()
	client, err := fptapi.NewClient(fptapitest.DefaultToken,
		fptapi.WithBaseURL(fake.URL),
		fptapi.WithPageSize(100),             // --fpt.page-size's default: it sets the request count
		fptapi.WithRateLimit(math.Inf(1), 1), // as in demo mode
		fptapi.WithObserver(requests.Observe),
	)
	require.NoError(t, err)
	refresher, err := collector.NewRefresher(collector.Config{
		Source:        client,
		Location:      loc,
		Now:           clock,
		TopResources:  collector.DefaultTopResources, // --collector.top-resources' default
		PreviousMonth: true,                          // --collector.previous-month's default
		Budgets: collector.Budgets{
			Daily:      5e6,
			Monthly:    150e6,
			GroupDaily: map[string]float64{fake.BillingGroups()[0].Name: 1e6},
		},
	})
	require.NoError(t, err)
	require.NoError(t, refresher.Refresh(t.Context()))

	// The exporter's collector alone: the Go runtime, process and build
	// metrics vary from run to run and are not this project's contract.
	registry := prometheus.NewRegistry()
	registry.MustRegister(collector.New(refresher, requests))
	families, err := registry.Gather()
	require.NoError(t, err)
	// promtool check metrics' rules (base units, suffixes, help), in-process.
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	require.NoError(t, err)
	assert.Empty(t, problems, "the exposition lints clean")
	var got bytes.Buffer
	for _, mf := range families {
		_, err := expfmt.MetricFamilyToText(&got, mf)
		require.NoError(t, err)
	}

	path := filepath.Join("testdata", "demo.prom")
	if *update {
		require.NoError(t, os.WriteFile(path, got.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestDemoGolden -update . to create it")
	assert.Equal(t, string(want), got.String(),
		"the exposition differs from %s; if the change is intended, run go test -run TestDemoGolden -update .", path)
}

// noEnv is an environment without a token.
func noEnv(string) string { return "" }

// tokenEnv is an environment with token in $FPTCLOUD_TOKEN and nothing
// else: tests pass it to run rather than set the process's, so that they
// can run in parallel.
func tokenEnv(token string) func(string) string {
	return func(k string) string {
		if k == config.TokenEnv {
			return token
		}
		return ""
	}
}

// writeToken writes a token file with a distinct modification time, as a
// rotation by a secret manager would.
func writeToken(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	require.NoError(t, os.Chtimes(path, mtime, mtime))
}

// fakeAccount is a named source read from a fake API of its own.
type fakeAccount struct {
	name string
	fake *fptapitest.Server
}

// newFakeAccount serves an account's bills, its data seeded by its name so
// that accounts differ.
func newFakeAccount(t *testing.T, name string) fakeAccount {
	t.Helper()
	fake := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 40, LabelSets: 10, Seed: int64(len(name)) * 7919})
	t.Cleanup(fake.Close)
	return fakeAccount{name: name, fake: fake}
}

// accountsConfig resolves the flags once, as the exporter does, and makes
// one named source per account, as the accounts file will.
func accountsConfig(t *testing.T, storePath string, accounts ...fakeAccount) *config.Config {
	t.Helper()
	cfg, err := config.NewApp().Resolve([]string{
		"--fpt.api-url=http://127.0.0.1:1/api", "--web.listen-address=127.0.0.1:0", "--storage.path=" + storePath,
		"--collector.refresh-interval=1h", "--fpt.rate-limit=1000", "--no-collector.previous-month",
	}, tokenEnv(fptapitest.DefaultToken))
	require.NoError(t, err)
	cfg.Sources = sourcesOf(cfg.Sources[0], accounts...)
	return cfg
}

func sourcesOf(base config.Source, accounts ...fakeAccount) []config.Source {
	var out []config.Source
	for _, a := range accounts {
		src := base
		src.Name, src.APIURL, src.Identity.APIURL = a.name, a.fake.URL, a.fake.URL
		if root := base.Store.Path; root != "" {
			if base.Name != "" { // base is an account already: its directory's parent is the root
				root = filepath.Dir(root)
			}
			src.Store.Path = filepath.Join(root, a.name) // as the accounts file resolves it
		}
		out = append(out, src)
	}
	return out
}

// served is an exporter run by serve, with a SIGHUP channel of its own.
type served struct {
	base string
	hup  chan os.Signal
	logs *testhelp.SyncBuffer
	stop func() // ends serve and waits for it; also at the test's end
}

func startServe(t *testing.T, cfg *config.Config, lc lifecycle) *served {
	t.Helper()
	s := &served{hup: make(chan os.Signal, 1), logs: &testhelp.SyncBuffer{}}
	logger, slogger := newLogger(s.logs, &cfg.Log)
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		if err := serve(ctx, s.hup, cfg, lc, logger, slogger); err != nil {
			s.logs.Write([]byte("serve: " + err.Error() + "\n"))
		}
	}()
	s.stop = sync.OnceFunc(func() {
		cancel()
		<-exited
	})
	t.Cleanup(s.stop)
	s.base = "http://" + listeningAddress(t, s.logs, exited)
	return s
}

// accountValue returns the value of name{account="account"}, a sample with
// no other label, in an exposition.
func accountValue(exposition, name, account string) (float64, bool) {
	prefix := fmt.Sprintf("%s{account=%q} ", name, account)
	for line := range strings.Lines(exposition) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// waitForAccount polls /metrics until name{account} is want.
func (s *served) waitForAccount(t *testing.T, name, account string, want float64) string {
	t.Helper()
	deadline := time.Now().Add(testhelp.Patience)
	for {
		_, body := testhelp.Get(t, s.base+"/metrics")
		if v, ok := accountValue(body, name, account); ok && v == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s{account=%q} never became %v:\n%s", name, account, want, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitComplete waits until account serves today and its whole month.
func (s *served) waitComplete(t *testing.T, account string) string {
	t.Helper()
	s.waitForAccount(t, "fptcloud_exporter_refresh_success", account, 1)
	return s.waitForAccount(t, "fptcloud_exporter_closed_day_reads_missing", account, 0)
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestAccountsIsolatedUnderFaults: an account whose token is rejected,
// whose API is down or slow, or whose answers are malformed shows it in its
// own self-metrics and one log line naming it; the other account serves
// its whole month, unaffected.
func TestAccountsIsolatedUnderFaults(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]func(*fptapitest.Server){
		"token rejected": func(s *fptapitest.Server) { s.SetToken("another-token") },
		"api down":       func(s *fptapitest.Server) { s.InjectFault(fptapitest.Fault{Reset: true}) },
		"api slow":       func(s *fptapitest.Server) { s.InjectFault(fptapitest.Fault{Delay: time.Hour}) },
		"malformed":      func(s *fptapitest.Server) { s.InjectFault(fptapitest.Fault{Truncate: true}) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			good, bad := newFakeAccount(t, "good"), newFakeAccount(t, "bad")
			fault(bad.fake)
			cfg := accountsConfig(t, t.TempDir(), good, bad)
			cfg.Sources[1].Timeout = 24 * time.Hour // a slow answer is waited for, however slow the machine
			s := startServe(t, cfg, lifecycle{})

			body := s.waitComplete(t, "good")
			sets, _ := accountValue(body, "fptcloud_exporter_label_sets", "good")
			assert.Equal(t, 10.0, sets, "the good account serves all its label sets")
			assert.Contains(t, body, `fptcloud_billing_month_to_date_cost_vnd{account="good",`)
			assert.NotContains(t, body, `fptcloud_billing_cost_vnd{account="bad",`)
			assert.Contains(t, body, `fptcloud_billing_month_elapsed_ratio{account="bad"}`, "the bad account's own series stay")
			if name == "api slow" {
				_, ok := accountValue(body, "fptcloud_exporter_refresh_success", "bad")
				assert.False(t, ok, "its first read is still waiting")
				return
			}
			body = s.waitForAccount(t, "fptcloud_exporter_refresh_success", "bad", 0)
			rejected, _ := accountValue(body, "fptcloud_exporter_token_rejected", "bad")
			assert.Equal(t, name == "token rejected", rejected == 1)
			assert.Contains(t, s.logs.String(), `account=bad`)
			assert.Regexp(t, `level=(error|warn) [^\n]*account=bad [^\n]*msg="refresh failed"`, s.logs.String())
			assert.NotRegexp(t, `level=(error|warn) [^\n]*account=good`, s.logs.String())
			assert.NotContains(t, s.logs.String(), fptapitest.DefaultToken)
			code, _ := testhelp.Get(t, s.base+"/-/ready")
			assert.Equal(t, http.StatusOK, code, "one account serves and the other failed its first read")
		})
	}
}

// TestReadyWaitsForEveryAccount: not ready while an account is on its first
// read, even with another serving; ready once it failed; never ready when
// none serves.
func TestReadyWaitsForEveryAccount(t *testing.T) {
	t.Parallel()
	good, slow := newFakeAccount(t, "good"), newFakeAccount(t, "slow")
	release := make(chan struct{})
	cfg := accountsConfig(t, t.TempDir(), good, slow)
	cfg.Sources[1].APIURL = newGatedAPI(t, slow.fake, release)
	s := startServe(t, cfg, lifecycle{})
	s.waitForAccount(t, "fptcloud_exporter_refresh_success", "good", 1)
	code, _ := testhelp.Get(t, s.base+"/-/ready")
	assert.Equal(t, http.StatusServiceUnavailable, code, "slow's first read has not ended")
	close(release)
	s.waitForAccount(t, "fptcloud_exporter_refresh_success", "slow", 0)
	testhelp.WaitFor(t, s.base+"/-/ready", http.StatusOK, testhelp.Patience)

	bad1, bad2 := newFakeAccount(t, "bad1"), newFakeAccount(t, "bad2")
	bad1.fake.SetToken("x")
	bad2.fake.SetToken("y")
	s = startServe(t, accountsConfig(t, t.TempDir(), bad1, bad2), lifecycle{})
	s.waitForAccount(t, "fptcloud_exporter_refresh_success", "bad1", 0)
	s.waitForAccount(t, "fptcloud_exporter_refresh_success", "bad2", 0)
	code, _ = testhelp.Get(t, s.base+"/-/ready")
	assert.Equal(t, http.StatusServiceUnavailable, code, "no account serves")
}

// newGatedAPI forwards to fake once release is closed, and answers 401
// then: a first read that waits, then fails.
func newGatedAPI(t *testing.T, fake *fptapitest.Server, release <-chan struct{}) string {
	t.Helper()
	fake.SetToken("not-the-exporters")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}), ReadHeaderTimeout: time.Second}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/api"
}

// switchable is a reload function whose answer a test sets.
type switchable struct {
	mu      sync.Mutex
	sources []config.Source
	err     error
	calls   atomic.Int32
}

func (s *switchable) set(sources []config.Source, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sources, s.err = sources, err
}

func (s *switchable) reload() ([]config.Source, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return append([]config.Source(nil), s.sources...), nil
}

// TestReloadAccounts: an added account starts reading, a changed one
// starts again from its store, an unchanged one makes no request, a
// removed one is gone at the next scrape, and a failed reload changes
// nothing.
func TestReloadAccounts(t *testing.T) {
	t.Parallel()
	a, b, c := newFakeAccount(t, "a"), newFakeAccount(t, "b"), newFakeAccount(t, "c")
	cfg := accountsConfig(t, t.TempDir(), a, b)
	base := cfg.Sources[0]
	files := &switchable{}
	s := startServe(t, cfg, lifecycle{reload: files.reload, enableLifecycle: true})
	s.waitComplete(t, "a")
	body := s.waitComplete(t, "b")
	assert.Contains(t, body, "fptcloud_exporter_config_last_reload_successful 1")
	aRequests := a.fake.Requests(fptapi.EndpointBills)

	// b changed (a budget), c added, a the same.
	next := sourcesOf(base, a, b, c)
	next[1].Budgets.Daily = 12345
	files.set(next, nil)
	b.fake.ResetRequests()
	code, msg := post(t, s.base+"/-/reload")
	require.Equal(t, http.StatusOK, code, msg)
	s.waitComplete(t, "c")
	body = s.waitForAccount(t, "fptcloud_budget_daily_vnd", "b", 12345)
	s.waitComplete(t, "b")
	assert.Positive(t, c.fake.Requests(fptapi.EndpointBills))
	assert.LessOrEqual(t, b.fake.Requests(fptapi.EndpointBills), 2, "b read today and yesterday at most, a page each: its store held the rest")
	assert.Contains(t, body, "fptcloud_exporter_config_last_reload_successful 1")

	// b removed, by SIGHUP this time.
	files.set(sourcesOf(base, a, c), nil)
	calls := files.calls.Load()
	s.hup <- syscall.SIGHUP
	require.Eventually(t, func() bool {
		_, body := testhelp.Get(t, s.base+"/metrics")
		return !strings.Contains(body, `account="b"`)
	}, testhelp.Patience, 10*time.Millisecond)
	assert.Equal(t, calls+1, files.calls.Load())

	// A file that fails to load: nothing changes.
	files.set(nil, errors.New("line 3: accounts[0].name: required"))
	code, msg = post(t, s.base+"/-/reload")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, msg, "line 3")
	_, body = testhelp.Get(t, s.base+"/metrics")
	assert.Contains(t, body, "fptcloud_exporter_config_last_reload_successful 0")
	assert.Contains(t, body, `fptcloud_billing_cost_vnd{account="a",`)
	assert.Contains(t, body, `fptcloud_billing_cost_vnd{account="c",`)
	assert.Contains(t, s.logs.String(), "reloading the accounts file failed; nothing changed")

	assert.Equal(t, aRequests, a.fake.Requests(fptapi.EndpointBills), "a was never touched")
}

// TestRestartReadsOnlyTodayPerAccount: each account keeps its closed days
// in its own directory, so a restart reads only today (and yesterday in
// its late window) for every account.
func TestRestartReadsOnlyTodayPerAccount(t *testing.T) {
	t.Parallel()
	a, b := newFakeAccount(t, "a"), newFakeAccount(t, "b")
	dir := t.TempDir()
	first := startServe(t, accountsConfig(t, dir, a, b), lifecycle{})
	first.waitComplete(t, "a")
	first.waitComplete(t, "b")
	first.stop()
	today := time.Now().In(testhelp.HCM(t)).Day()
	for _, name := range []string{"a", "b"} {
		files, err := filepath.Glob(filepath.Join(dir, name, "*.json"))
		require.NoError(t, err)
		assert.Len(t, files, today-1, "account %s: one file per closed day, in its own directory", name)
	}

	a.fake.ResetRequests()
	b.fake.ResetRequests()
	again := startServe(t, accountsConfig(t, dir, a, b), lifecycle{})
	again.waitComplete(t, "a")
	again.waitComplete(t, "b")
	for _, acc := range []fakeAccount{a, b} {
		assert.LessOrEqual(t, acc.fake.Requests(fptapi.EndpointBills), 2, "account %s: today, and yesterday in its late window, a page each", acc.name)
	}
}

// TestReloadEndpoint: /-/reload answers as Prometheus' does.
func TestReloadEndpoint(t *testing.T) {
	t.Parallel()
	a := newFakeAccount(t, "a")
	files := &switchable{}
	files.set(sourcesOf(accountsConfig(t, t.TempDir(), a).Sources[0], a), nil)
	off := startServe(t, accountsConfig(t, t.TempDir(), a), lifecycle{reload: files.reload})
	code, _ := post(t, off.base+"/-/reload")
	assert.Equal(t, http.StatusForbidden, code, "without --web.enable-lifecycle")
	code, _ = testhelp.Get(t, off.base+"/-/reload")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.Zero(t, files.calls.Load())

	// Without an accounts file there are no reload gauges.
	cfg, err := config.NewApp().Resolve([]string{"--demo", "--web.listen-address=127.0.0.1:0"}, noEnv)
	require.NoError(t, err)
	plain := startServe(t, cfg, lifecycle{})
	testhelp.WaitFor(t, plain.base+"/-/ready", http.StatusOK, testhelp.Patience)
	_, body := testhelp.Get(t, plain.base+"/metrics")
	assert.NotContains(t, body, "fptcloud_exporter_config_last_reload")
	assert.NotContains(t, body, "account=")
}

// TestSameSource: two resolutions of the same flags are the same source
// (a reload leaves it alone); a change of any field is not.
func TestSameSource(t *testing.T) {
	t.Parallel()
	args := []string{"--fpt.api-url=https://example.com/api", "--budget.daily-vnd=5tr", "--fpt.service-type=instance"}
	resolve := func(extra ...string) config.Source {
		cfg, err := config.NewApp().Resolve(append(args, extra...), tokenEnv("t"))
		require.NoError(t, err)
		return cfg.Sources[0]
	}
	first, second := resolve(), resolve()
	assert.True(t, sameSource(&first, &second))
	for _, extra := range []string{"--budget.monthly-vnd=6tr", "--fpt.timezone=UTC", "--fpt.service-type=storage", "--fpt.rate-limit=2"} {
		other := resolve(extra)
		assert.False(t, sameSource(&first, &other), extra)
	}
	renamed := second
	renamed.Name = "x"
	assert.False(t, sameSource(&first, &renamed))
}

// TestAccountLabelContract: with named accounts, every family of the
// exporter's own carries account on every sample, the process-wide ones
// (build info, Go, process, promhttp, the reload gauges) never do.
func TestAccountLabelContract(t *testing.T) {
	t.Parallel()
	a, b := newFakeAccount(t, "a"), newFakeAccount(t, "b")
	cfg := accountsConfig(t, t.TempDir(), a, b)
	cfg.Sources[0].Budgets = collector.Budgets{Daily: 1, Monthly: 2, GroupDaily: map[string]float64{"g": 3}, GroupMonthly: map[string]float64{"g": 4}}
	cfg.Sources[1].Budgets = cfg.Sources[0].Budgets
	files := &switchable{}
	s := startServe(t, cfg, lifecycle{reload: files.reload})
	s.waitComplete(t, "a")
	s.waitComplete(t, "b")

	resp, err := http.Get(s.base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	processWide := regexp.MustCompile(`^(go_|process_|promhttp_|fptcloud_exporter_build_info$|fptcloud_exporter_config_last_reload_)`)
	for name, mf := range families {
		accounts := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "account" {
					accounts[lp.GetValue()] = true
				}
			}
			if processWide.MatchString(name) {
				assert.NotContains(t, m.String(), `name:"account"`, name)
				continue
			}
			require.True(t, slices.ContainsFunc(m.GetLabel(), func(lp *dto.LabelPair) bool { return lp.GetName() == "account" }),
				"%s: a sample without account: %v", name, m)
		}
		if !processWide.MatchString(name) {
			assert.Equal(t, map[string]bool{"a": true, "b": true}, accounts, "%s is served for both accounts", name)
		}
	}
	for _, name := range append(collector.MetricNames(), collector.ReloadMetricNames()...) {
		if !strings.Contains(name, "previous_month") && !strings.Contains(name, "closed_day_failed") && !strings.Contains(name, "storage") {
			assert.Contains(t, families, name)
		}
	}
}

// TestSameValueUnexported: fields a reflection cannot read out, as the
// config side's own, are compared all the same.
func TestSameValueUnexported(t *testing.T) {
	t.Parallel()
	type inner struct {
		list []string
		set  map[string]float64
		n    int
	}
	type outer struct {
		Zone  *time.Location
		entry inner
	}
	hcm := testhelp.HCM(t)
	again, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	a := outer{Zone: hcm, entry: inner{list: []string{"x"}, set: map[string]float64{"g": 1}, n: 1}}
	b := outer{Zone: again, entry: inner{list: []string{"x"}, set: map[string]float64{"g": 1}, n: 1}}
	assert.True(t, sameValue(reflect.ValueOf(a), reflect.ValueOf(b)))
	b.entry.set = map[string]float64{"g": 2}
	assert.False(t, sameValue(reflect.ValueOf(a), reflect.ValueOf(b)))
	b.entry.set, b.entry.list = a.entry.set, nil
	assert.False(t, sameValue(reflect.ValueOf(a), reflect.ValueOf(b)))
	a.entry.list = []string{}
	assert.True(t, sameValue(reflect.ValueOf(a), reflect.ValueOf(b)), "empty is none")
}
