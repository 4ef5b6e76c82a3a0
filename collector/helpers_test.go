package collector

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // the tests need Asia/Ho_Chi_Minh on any machine

	"github.com/go-kit/log"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// fakeClock is an injectable clock; tests move it instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// failure makes the stub fail one page of one day's query.
type failure struct {
	day  string // "YYYY-MM-DD"; "" = any day
	page int    // 1-based; the pages before it are delivered first
	err  error
}

// stubSource is an in-memory BillSource: it pages a fixed dataset through a
// reused buffer, counts queries per day, fails on demand and can block.
type stubSource struct {
	pageSize int
	loc      *time.Location // when set, every query's day must be midnight in it

	mu    sync.Mutex
	days  map[string][]fptapi.Bill
	calls map[string]int
	fail  *failure
	gate  chan struct{} // when set, each query waits for a receive on entered then gate
	entry chan struct{}

	inFlight, maxInFlight atomic.Int32
}

func newStub(days map[string][]fptapi.Bill) *stubSource {
	return &stubSource{pageSize: 2, days: days, calls: make(map[string]int)}
}

func (s *stubSource) setDay(day string, rows []fptapi.Bill) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.days[day] = rows
}

func (s *stubSource) setFailure(f *failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

// takeCalls returns the queries per day since the last call, and resets them.
func (s *stubSource) takeCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = make(map[string]int)
	return c
}

func (s *stubSource) Bills(ctx context.Context, day time.Time, f fptapi.Filter, fn func([]fptapi.Bill) error) error {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if s.loc != nil && (day.Location().String() != s.loc.String() || day.Hour() != 0 || day.Minute() != 0) {
		return fmt.Errorf("stub: day %s is not a midnight in %s", day, s.loc)
	}
	key := day.Format("2006-01-02")
	s.mu.Lock()
	s.calls[key]++
	var rows []fptapi.Bill
	for _, b := range s.days[key] {
		if (f.ServiceType == "" || f.ServiceType == b.Service) && (f.BillingGroupName == "" || f.BillingGroupName == b.BillingGroupName) {
			rows = append(rows, b)
		}
	}
	fail, gate, entry := s.fail, s.gate, s.entry
	s.mu.Unlock()

	if gate != nil {
		entry <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	buf := make([]fptapi.Bill, 0, s.pageSize)
	for page := 1; ; page++ {
		if fail != nil && (fail.day == "" || fail.day == key) && fail.page == page {
			return fail.err
		}
		if len(rows) == 0 {
			return nil
		}
		k := min(s.pageSize, len(rows))
		buf = append(buf[:0], rows[:k]...)
		rows = rows[k:]
		if err := fn(buf); err != nil {
			return err
		}
		clear(buf) // a caller that kept the slice would see zeroed rows
	}
}

type testEnv struct {
	src   *stubSource
	clock *fakeClock
	logs  *testhelp.SyncBuffer
	r     *Refresher
	c     *Collector
	reqs  *APIRequestCounter
}

// newEnv builds a Refresher on src in Asia/Ho_Chi_Minh at now; edit tweaks
// the Config first.
func newEnv(t testing.TB, src BillSource, now time.Time, edit func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{clock: &fakeClock{t: now}, logs: &testhelp.SyncBuffer{}, reqs: NewAPIRequestCounter()}
	if s, ok := src.(*stubSource); ok {
		e.src = s
	}
	cfg := Config{
		Source:          src,
		Location:        testhelp.HCM(t),
		RefreshInterval: 15 * time.Minute,
		MaxAge:          time.Hour,
		Now:             e.clock.Now,
		Logger:          log.NewLogfmtLogger(e.logs),
	}
	if edit != nil {
		edit(&cfg)
	}
	r, err := NewRefresher(cfg)
	require.NoError(t, err)
	e.r = r
	e.c = New(r, e.reqs)
	return e
}

var (
	descNameHelp = regexp.MustCompile(`^Desc\{fqName: ("(?:[^"\\]|\\.)*"), help: ("(?:[^"\\]|\\.)*")`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// header returns the HELP and TYPE lines of one of the collector's metrics,
// so expected expositions state samples, not help texts.
func header(t testing.TB, name string) string {
	t.Helper()
	for _, d := range allDescs {
		m := descNameHelp.FindStringSubmatch(d.String())
		require.NotNil(t, m, d.String())
		fq, err := strconv.Unquote(m[1])
		require.NoError(t, err)
		if fq != name {
			continue
		}
		help, err := strconv.Unquote(m[2])
		require.NoError(t, err)
		typ := "gauge"
		if strings.HasSuffix(name, "_total") {
			typ = "counter"
		}
		return fmt.Sprintf("# HELP %s %s\n# TYPE %s %s\n", name, helpEscaper.Replace(help), name, typ)
	}
	t.Fatalf("no metric %s", name)
	return ""
}

// expo builds an expected exposition: for each metric name, its header and
// the sample lines given for it (each line without the metric name).
func expo(t testing.TB, samples map[string][]string) (string, []string) {
	t.Helper()
	var b strings.Builder
	var names []string
	for name, lines := range samples {
		names = append(names, name)
		if len(lines) == 0 {
			continue
		}
		b.WriteString(header(t, name))
		for _, l := range lines {
			b.WriteString(name + l + "\n")
		}
	}
	return b.String(), names
}

// monthComplete reports whether r serves today and a complete month.
func monthComplete(r *Refresher) bool {
	st := r.state.Load()
	return st.snap != nil && st.missingDays == 0
}

// patience is how long a test waits for progress before it gives up: the
// rest of the test binary's time, or ten minutes without a deadline. It is
// an overall limit for a machine however loaded, never a measure of speed.
func patience(t *testing.T) time.Duration {
	if d, ok := t.Deadline(); ok {
		return time.Until(d) * 9 / 10
	}
	return 10 * time.Minute
}
