package collector

import (
	"cmp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// accountLabel is the label that tells the accounts of one exporter apart.
const accountLabel = "account"

// accountLabels are the const labels of an account's samples: none for the
// single account of the flags.
func accountLabels(account string) prometheus.Labels {
	if account == "" {
		return nil
	}
	return prometheus.Labels{accountLabel: account}
}

// descs are the descriptors of one reader's samples: the package's own
// without an account, else copies with account="<name>" as a const label,
// made with the reader so that a sample costs a scrape the same.
type descs struct {
	byBase  map[*prometheus.Desc]*prometheus.Desc // nil: no account
	account *dto.LabelPair                        // the billing gauges' first pair; nil: no account
}

func newDescs(account string) *descs {
	if account == "" {
		return &descs{}
	}
	d := &descs{byBase: make(map[*prometheus.Desc]*prometheus.Desc, len(allDescs))}
	for _, m := range allDescs {
		d.byBase[m.Desc] = prometheus.NewDesc(m.name, m.help, m.labels, accountLabels(account))
	}
	name, value := accountLabel, account
	d.account = &dto.LabelPair{Name: &name, Value: &value}
	return d
}

// of returns the descriptor of m for this reader.
func (d *descs) of(m metric) *prometheus.Desc {
	if d == nil || d.byBase == nil {
		return m.Desc
	}
	return d.byBase[m.Desc]
}

// Account is one reader as Accounts serves it.
type Account struct {
	Name     string // its account label; "" for the single account of the flags
	Source   Snapshotter
	Requests *APIRequestCounter // nil: no API request counts
}

// Accounts serves the snapshots of several readers from one
// prometheus.Collector: a scrape loads the list of accounts (replaced whole
// by a reload) and each one's snapshot pointer, so that no reader holds up
// another. Name order is the registry's (account is every family's first
// label), so that its sort stays one pass.
type Accounts struct {
	list atomic.Pointer[[]Account]
}

var _ prometheus.Collector = (*Accounts)(nil)

// NewAccounts returns a Collector serving accounts.
func NewAccounts(accounts []Account) *Accounts {
	a := &Accounts{}
	a.Set(accounts)
	return a
}

// Set replaces the accounts served, from the next scrape on.
func (a *Accounts) Set(accounts []Account) {
	list := slices.SortedFunc(slices.Values(accounts), func(x, y Account) int { return cmp.Compare(x.Name, y.Name) })
	a.list.Store(&list)
}

// Describe sends nothing: the accounts, and so the descriptors, change at a
// reload, after the registry asked. The registry still refuses two samples
// alike at every scrape.
func (a *Accounts) Describe(chan<- *prometheus.Desc) {}

// Collect sends every account's samples.
func (a *Accounts) Collect(ch chan<- prometheus.Metric) {
	for _, acc := range *a.list.Load() {
		collect(ch, acc.Source.Snapshot(), acc.Requests)
	}
}

// Ready reports whether every account has served today or failed its first
// read of it, and at least one serves: an account that cannot be read must
// not hold up the others, and a start that serves nothing is not ready.
func (a *Accounts) Ready() bool {
	serving := false
	for _, acc := range *a.list.Load() {
		st := acc.Source.Snapshot()
		if st.snap == nil && !st.attempted {
			return false
		}
		serving = serving || st.snap != nil
	}
	return serving
}

var (
	reloadSuccessOpts = prometheus.GaugeOpts{Name: "fptcloud_exporter_config_last_reload_successful",
		Help: "1 if the last reload of --config.file succeeded, else 0."}
	reloadTimestampOpts = prometheus.GaugeOpts{Name: "fptcloud_exporter_config_last_reload_success_timestamp_seconds",
		Help: "Unix time of the last successful load of --config.file, the start's included."}
)

// ReloadStatus is the outcome of the last reload of the accounts file, as
// Prometheus exposes its own. Only an exporter with a file registers it.
type ReloadStatus struct {
	success, timestamp prometheus.Gauge
}

var _ prometheus.Collector = (*ReloadStatus)(nil)

// NewReloadStatus returns the status of a file loaded at loaded.
func NewReloadStatus(loaded time.Time) *ReloadStatus {
	s := &ReloadStatus{
		success:   prometheus.NewGauge(reloadSuccessOpts),
		timestamp: prometheus.NewGauge(reloadTimestampOpts),
	}
	s.Succeeded(loaded)
	return s
}

// Succeeded records a successful reload at t.
func (s *ReloadStatus) Succeeded(t time.Time) {
	s.success.Set(1)
	s.timestamp.Set(float64(t.UnixNano()) / 1e9)
}

// Failed records a failed reload; the time of the last success stays.
func (s *ReloadStatus) Failed() { s.success.Set(0) }

// Describe sends the two gauges' descriptions.
func (s *ReloadStatus) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(s, ch) }

// Collect sends the two gauges.
func (s *ReloadStatus) Collect(ch chan<- prometheus.Metric) {
	ch <- s.success
	ch <- s.timestamp
}
