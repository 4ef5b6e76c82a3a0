package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
)

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
		code, body := get(t, base+"/metrics")
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
		code, body := get(t, base+path)
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
	t.Setenv(tokenEnv, "")
	fake := fptapitest.NewServer(fptapitest.Config{Token: secretRight, RowsPerDay: 40, LabelSets: 10})
	t.Cleanup(fake.Close)
	// The API echoes the token it was sent, in a 401 and in a status error.
	fake.InjectFault(fptapitest.Fault{Page: 1, Times: 1, Code: http.StatusUnauthorized, Message: "token " + secretWrong + " expired"})
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, secretWrong+"\n", time.Now().Add(-time.Hour))

	base, logs, stop := startExporter(t, "--fpt.api-url="+fake.URL, "--fpt.token-file="+path, "--log.level=debug",
		"--collector.refresh-interval=1s", "--fpt.rate-limit=1000")
	waitFor(t, base+"/-/healthy", http.StatusOK, 10*time.Second)
	waitForMetric(t, base, "fptcloud_exporter_token_rejected", 1, 20*time.Second)
	var bodies strings.Builder
	bodies.WriteString(scrapeAll(t, base))

	// Rotate first: the fake answers a status fault before it checks the
	// token, so a fault injected before the new token is in use could be
	// answered to a request that carried secretWrong, echoing secretRight
	// where the exporter never sent it (a false leak report).
	writeToken(t, path, secretRight+"\n", time.Now())
	waitFor(t, base+"/-/ready", http.StatusOK, 20*time.Second)
	waitForMetric(t, base, "fptcloud_exporter_token_rejected", 0, 20*time.Second)
	bodies.WriteString(scrapeAll(t, base))

	// Now the API echoes the right token in a status error, until cleared:
	// a fault that fired once could be missed between two polls.
	fake.InjectFault(fptapitest.Fault{Page: 1, Status: 1, Message: "bad request for " + secretRight})
	waitForMetric(t, base, "fptcloud_exporter_refresh_success", 0, 20*time.Second)
	bodies.WriteString(scrapeAll(t, base))
	fake.ClearFaults()
	waitForMetric(t, base, "fptcloud_exporter_refresh_success", 1, 20*time.Second)
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
		{"too large", strings.Repeat(secretRight, maxTokenFileSize/len(secretRight)+1), false},
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
			assert.Equal(t, 2, run(ctx, append(args, "--fpt.token-file="+p), io.Discard, &stderr))
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
			assert.NotContains(t, stderr.String(), secretRight)
			if !tt.env {
				return
			}
			t.Setenv(tokenEnv, tt.content)
			stderr.Reset()
			assert.Equal(t, 2, run(ctx, args, io.Discard, &stderr))
			assert.Contains(t, stderr.String(), "$"+tokenEnv)
			assert.NotContains(t, stderr.String(), secretRight)
		})
	}
}

// TestTokenRotationEndToEnd: FPT tokens expire; a secret manager writes
// the new one into the token file and the running exporter picks it up at
// its next refresh, with no restart.
func TestTokenRotationEndToEnd(t *testing.T) {
	const tokenA, tokenB = "tok-ROTATE-A-0f1e2d3c", "tok-ROTATE-B-4b5a6978"
	t.Setenv(tokenEnv, "")
	fake := fptapitest.NewServer(fptapitest.Config{Token: tokenA, RowsPerDay: 40, LabelSets: 10})
	t.Cleanup(fake.Close)
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, tokenA+"\n", time.Now().Add(-time.Hour))

	base, logs, stop := startExporter(t, "--fpt.api-url="+fake.URL, "--fpt.token-file="+path,
		"--collector.refresh-interval=1s", "--fpt.rate-limit=1000")
	waitFor(t, base+"/-/ready", http.StatusOK, 20*time.Second)
	waitForMetric(t, base, "fptcloud_exporter_refresh_success", 1, 10*time.Second)

	// The old token expires at the API.
	fake.SetToken(tokenB)
	body := waitForMetric(t, base, "fptcloud_exporter_token_rejected", 1, 20*time.Second)
	v, _ := metricValue(body, "fptcloud_exporter_refresh_success")
	assert.Equal(t, 0.0, v)
	assert.Contains(t, body, "fptcloud_billing_cost_vnd{", "the last good snapshot is still served")
	// No restart: the failure counter of the one exporter process keeps
	// counting from here; a new process would start again from 0.
	failures := counterAtLeast(t, body, 1, "after the rejected token")

	// The new token lands in the file: the next refresh uses it.
	writeToken(t, path, tokenB+"\n", time.Now())
	body = waitForMetric(t, base, "fptcloud_exporter_token_rejected", 0, 20*time.Second)
	v, _ = metricValue(body, "fptcloud_exporter_refresh_success")
	assert.Equal(t, 1.0, v)
	failures = counterAtLeast(t, body, failures, "after the rotation")
	req, ok := fake.LastRequest(fptapi.EndpointBills)
	require.True(t, ok)
	assert.Equal(t, "Bearer "+tokenB, req.Header.Get("Authorization"))

	// A secret manager that removes the file before writing the next one:
	// refreshes fail (not as a rejected token) and recover once it is back.
	require.NoError(t, os.Remove(path))
	body = waitForMetric(t, base, "fptcloud_exporter_refresh_success", 0, 20*time.Second)
	v, _ = metricValue(body, "fptcloud_exporter_token_rejected")
	assert.Equal(t, 0.0, v, "a missing file is not a token the API rejected")
	failures = counterAtLeast(t, body, failures+1, "after the file was removed")
	writeToken(t, path, tokenB+"\n", time.Now().Add(time.Minute))
	body = waitForMetric(t, base, "fptcloud_exporter_refresh_success", 1, 20*time.Second)
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
