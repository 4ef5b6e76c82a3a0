package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
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

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

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
		out = append(out, src)
	}
	return out
}

// served is an exporter run by serve, with a SIGHUP channel of its own.
type served struct {
	base string
	hup  chan os.Signal
	logs *testhelp.SyncBuffer
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
	t.Cleanup(func() {
		cancel()
		<-exited
	})
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
		_, body := get(t, s.base+"/metrics")
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
			code, _ := get(t, s.base+"/-/ready")
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
	code, _ := get(t, s.base+"/-/ready")
	assert.Equal(t, http.StatusServiceUnavailable, code, "slow's first read has not ended")
	close(release)
	s.waitForAccount(t, "fptcloud_exporter_refresh_success", "slow", 0)
	waitFor(t, s.base+"/-/ready", http.StatusOK, testhelp.Patience)

	bad1, bad2 := newFakeAccount(t, "bad1"), newFakeAccount(t, "bad2")
	bad1.fake.SetToken("x")
	bad2.fake.SetToken("y")
	s = startServe(t, accountsConfig(t, t.TempDir(), bad1, bad2), lifecycle{})
	s.waitForAccount(t, "fptcloud_exporter_refresh_success", "bad1", 0)
	s.waitForAccount(t, "fptcloud_exporter_refresh_success", "bad2", 0)
	code, _ = get(t, s.base+"/-/ready")
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
		_, body := get(t, s.base+"/metrics")
		return !strings.Contains(body, `account="b"`)
	}, testhelp.Patience, 10*time.Millisecond)
	assert.Equal(t, calls+1, files.calls.Load())

	// A file that fails to load: nothing changes.
	files.set(nil, errors.New("line 3: accounts[0].name: required"))
	code, msg = post(t, s.base+"/-/reload")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, msg, "line 3")
	_, body = get(t, s.base+"/metrics")
	assert.Contains(t, body, "fptcloud_exporter_config_last_reload_successful 0")
	assert.Contains(t, body, `fptcloud_billing_cost_vnd{account="a",`)
	assert.Contains(t, body, `fptcloud_billing_cost_vnd{account="c",`)
	assert.Contains(t, s.logs.String(), "reloading the accounts file failed; nothing changed")

	assert.Equal(t, aRequests, a.fake.Requests(fptapi.EndpointBills), "a was never touched")
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
	code, _ = get(t, off.base+"/-/reload")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.Zero(t, files.calls.Load())

	// Without an accounts file there are no reload gauges.
	cfg, err := config.NewApp().Resolve([]string{"--demo", "--web.listen-address=127.0.0.1:0"}, noEnv)
	require.NoError(t, err)
	plain := startServe(t, cfg, lifecycle{})
	waitFor(t, plain.base+"/-/ready", http.StatusOK, testhelp.Patience)
	_, body := get(t, plain.base+"/metrics")
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
	hcm := mustHCM(t)
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
