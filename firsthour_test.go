package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
)

// TestRunRefusesPastedTokens: the usual ways a token is pasted wrong stop
// the exporter at start with the fix, whether it comes from the
// environment or a file, and the token is never echoed.
func TestRunRefusesPastedTokens(t *testing.T) {
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
				t.Setenv(tokenEnv, "")
				if source == "env" {
					t.Setenv(tokenEnv, value)
				} else {
					path := filepath.Join(t.TempDir(), "token")
					require.NoError(t, os.WriteFile(path, []byte(value), 0o600))
					args = append(args, "--fpt.token-file="+path)
				}
				var stderr bytes.Buffer
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				assert.Equal(t, 2, run(ctx, args, &bytes.Buffer{}, &stderr))
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
	fake := fptapitest.NewServer(fptapitest.Config{RowsPerDay: 10})
	defer fake.Close()
	path := filepath.Join(t.TempDir(), "token")
	// Saved by Notepad: a byte order mark and CRLF; the exporter must work.
	require.NoError(t, os.WriteFile(path, []byte("\ufeff"+fptapitest.DefaultToken+"\r\n"), 0o600))
	t.Setenv(tokenEnv, "an-env-token")

	base, logs, stop := startExporter(t, "--fpt.api-url="+fake.URL, "--fpt.token-file="+path,
		"--fpt.timezone=UTC", "--collector.refresh-interval=1s")
	waitFor(t, base+"/-/ready", http.StatusOK, 30*time.Second)
	assert.Equal(t, 0, stop())

	out := logs.String()
	assert.Contains(t, out, `msg="API token" source="file `+path+`"`)
	assert.Contains(t, out, "both --fpt.token-file and $FPTCLOUD_TOKEN are set: the token comes from the file")
	assert.Equal(t, 1, strings.Count(out, "--fpt.timezone=UTC is not FPT Cloud's billing zone"), out)
	assert.NotContains(t, out, "an-env-token")
}

func TestAPIURLWithoutSchemeFailsLikeAFlag(t *testing.T) {
	t.Setenv(tokenEnv, "some-token")
	for _, u := range []string{"console-api.fptcloud.com/api", "ftp://console-api.fptcloud.com/api", "https://user:pw@host/api", "://"} {
		var stderr bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.Equal(t, 2, run(ctx, []string{"--fpt.api-url=" + u, "--web.listen-address=127.0.0.1:0"}, &bytes.Buffer{}, &stderr), u)
		assert.True(t, strings.HasPrefix(stderr.String(), exporterName+": --fpt.api-url: "), stderr.String())
		assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), stderr.String())
		assert.NotContains(t, stderr.String(), "pw")
	}
	assert.Contains(t, apiURLWarning("https://console-api.fptcloud.com/api/v1"), "does not end in /api")
	assert.Contains(t, apiURLWarning("https://console-api.fptcloud.com"), "does not end in /api")
	assert.Empty(t, apiURLWarning("https://console-api.fptcloud.com/api/"))
	assert.Empty(t, apiURLWarning(fptapi.DefaultBaseURL))
}

func TestTimezoneWarning(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	warning := func(name string) string {
		loc, err := time.LoadLocation(name)
		require.NoError(t, err)
		return timezoneWarning(loc, now)
	}
	// Zones whose days start when FPT's do.
	for _, name := range []string{"Asia/Ho_Chi_Minh", "Asia/Saigon", "Asia/Bangkok", "Etc/GMT-7"} {
		assert.Empty(t, warning(name), name)
	}
	assert.Equal(t, "--fpt.timezone=UTC is not FPT Cloud's billing zone Asia/Ho_Chi_Minh: billing days and months will start at another hour than FPT's (UTC+00:00, not UTC+07:00)",
		warning("UTC"))
	assert.Contains(t, warning("Asia/Singapore"), "(UTC+08:00, not UTC+07:00)")
	// A zone with summer time (UTC+11 in November).
	assert.Contains(t, warning("Australia/Sydney"), "is not FPT Cloud's billing zone")
}

// TestPprofBehindFlag: no profiling pages or links by default; both with
// --web.enable-pprof.
func TestPprofBehindFlag(t *testing.T) {
	t.Setenv(tokenEnv, "")
	base, _, stop := startExporter(t, "--demo")
	waitFor(t, base+"/-/healthy", http.StatusOK, 10*time.Second)
	code, landing := get(t, base+"/")
	assert.Equal(t, http.StatusOK, code)
	assert.NotContains(t, landing, "debug/pprof")
	code, _ = get(t, base+"/debug/pprof/")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, 0, stop())

	base, _, stop = startExporter(t, "--demo", "--web.enable-pprof")
	waitFor(t, base+"/-/healthy", http.StatusOK, 10*time.Second)
	_, landing = get(t, base+"/")
	assert.Contains(t, landing, "debug/pprof/heap")
	code, _ = get(t, base+"/debug/pprof/heap?debug=1")
	assert.Equal(t, http.StatusOK, code)
	code, _ = get(t, base+"/debug/pprof/")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 0, stop())
}

// TestHelpShowsOneMaxAgeDefault: the default of --collector.max-age follows
// the refresh interval, so --help states the rule and no fixed value.
func TestHelpShowsOneMaxAgeDefault(t *testing.T) {
	app, _ := newApp()
	var help bytes.Buffer
	app.UsageWriter(&help)
	app.Terminate(nil)
	_, _ = app.Parse([]string{"--help"})
	text := strings.Join(strings.Fields(help.String()), " ")
	assert.Contains(t, text, "--collector.max-age=DURATION Billing series disappear")
	assert.Contains(t, text, "Default: 1h0m0s or 3 refresh intervals, whichever is longer")
	assert.NotContains(t, text, `--collector.max-age="1h0m0s"`)
	assert.Contains(t, text, "--fpt.billing-config=CONFIG")
	assert.Contains(t, text, "check")
}

func TestDefaultCommandIsTheExporter(t *testing.T) {
	app, _ := newApp()
	command, err := app.Parse([]string{"--demo"})
	require.NoError(t, err)
	assert.Equal(t, commandServe, command)
	command, err = app.Parse([]string{"check", "--demo"})
	require.NoError(t, err)
	assert.Equal(t, commandCheck, command)
}
