package collector

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// APIRequestCounter counts API requests per endpoint and code, through
// fptapi.WithObserver, which keeps fptapi free of Prometheus.
type APIRequestCounter struct {
	vec *prometheus.CounterVec
}

// NewAPIRequestCounter returns an empty counter.
func NewAPIRequestCounter() *APIRequestCounter { return NewAccountAPIRequestCounter("") }

// NewAccountAPIRequestCounter returns an empty counter whose samples carry
// account="<account>" (none when account is ""), for one account's client.
func NewAccountAPIRequestCounter(account string) *APIRequestCounter {
	return &APIRequestCounter{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: descAPIRequests.name, Help: descAPIRequests.help, ConstLabels: accountLabels(account),
	}, descAPIRequests.labels)}
}

// Observe counts one HTTP attempt. It is safe for concurrent use.
func (c *APIRequestCounter) Observe(info fptapi.RequestInfo) {
	c.vec.WithLabelValues(info.Endpoint, info.Code).Inc()
}

// Snapshotter hands out the last published snapshot; *Refresher is one.
type Snapshotter interface {
	Snapshot() *Snapshot
}

// Collector serves the last published snapshot of a Snapshotter. It never
// calls the API; a scrape reads one pointer and sends prebuilt samples.
type Collector struct {
	src  Snapshotter
	reqs *APIRequestCounter
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector for src. reqs may be nil (no API request counts).
func New(src Snapshotter, reqs *APIRequestCounter) *Collector {
	return &Collector{src: src, reqs: reqs}
}

func budgetMetrics(b Budgets, d *descs) []prometheus.Metric {
	var out []prometheus.Metric
	if b.Daily != 0 {
		out = append(out, prometheus.MustNewConstMetric(d.of(descBudgetDaily), prometheus.GaugeValue, b.Daily))
	}
	if b.Monthly != 0 {
		out = append(out, prometheus.MustNewConstMetric(d.of(descBudgetMonthly), prometheus.GaugeValue, b.Monthly))
	}
	for _, g := range slices.Sorted(maps.Keys(b.GroupDaily)) {
		out = append(out, prometheus.MustNewConstMetric(d.of(descBudgetGroupDaily), prometheus.GaugeValue, b.GroupDaily[g], g))
	}
	for _, g := range slices.Sorted(maps.Keys(b.GroupMonthly)) {
		out = append(out, prometheus.MustNewConstMetric(d.of(descBudgetGroupMonthly), prometheus.GaugeValue, b.GroupMonthly[g], g))
	}
	return out
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	var d *descs
	if c.src != nil {
		d = c.src.Snapshot().descs
	}
	for _, m := range allDescs {
		ch <- d.of(m)
	}
}

// Collect sends the samples of the served snapshot.
func (c *Collector) Collect(ch chan<- prometheus.Metric) { collect(ch, c.src.Snapshot(), c.reqs) }

// collect sends the calendar, budget and self metrics of a snapshot, and
// its billing series while they are fresh.
func collect(ch chan<- prometheus.Metric, st *Snapshot, reqs *APIRequestCounter) {
	now, loc := st.cfg.Now(), st.cfg.Location
	gaugeOf := func(m metric, v float64) {
		ch <- prometheus.MustNewConstMetric(st.descs.of(m), prometheus.GaugeValue, v)
	}
	today := billing.DateOf(now.In(loc))
	dayStart, dayEnd := today.Start(loc), today.End(loc)
	monthStart := today.MonthStart().Start(loc)
	monthEnd := billing.NewDate(today.Year, today.Month+1, 1).Start(loc)
	gaugeOf(descMonthElapsed, ratio(now.Sub(monthStart), monthEnd.Sub(monthStart)))
	gaugeOf(descMonthLength, monthEnd.Sub(monthStart).Seconds())
	gaugeOf(descDayElapsed, ratio(now.Sub(dayStart), dayEnd.Sub(dayStart)))
	for _, m := range st.budgets {
		ch <- m
	}
	collectSelf(ch, st, gaugeOf)
	if reqs != nil {
		reqs.vec.Collect(ch)
	}
	collectBilling(ch, st, now, gaugeOf)
}

// collectSelf sends the metrics of the reading itself.
func collectSelf(ch chan<- prometheus.Metric, st *Snapshot, gaugeOf func(metric, float64)) {
	if st.attempted {
		gaugeOf(descRefreshSuccess, boolFloat(st.failedInARow == 0))
		gaugeOf(descRefreshDuration, st.duration.Seconds())
		gaugeOf(descRefreshRows, float64(st.rows))
		gaugeOf(descRefreshPages, float64(st.pages))
	}
	gaugeOf(descTokenRejected, boolFloat(st.tokenRejected))
	gaugeOf(descRefreshInterval, st.cfg.RefreshInterval.Seconds())
	gaugeOf(descMaxAge, st.cfg.MaxAge.Seconds())
	ch <- prometheus.MustNewConstMetric(st.descs.of(descRefreshFailures), prometheus.CounterValue, float64(st.failures))
	// A store off by choice has no series: nothing to alert on.
	if st.cfg.Store != nil || st.cfg.StoreUnusable {
		gaugeOf(descStorageOK, boolFloat(st.cfg.Store != nil && !st.storeFailing))
		ch <- prometheus.MustNewConstMetric(st.descs.of(descStorageWriteFailures), prometheus.CounterValue, float64(st.storeFailures))
	}
	for f, field := range labelFields {
		ch <- prometheus.MustNewConstMetric(st.descs.of(descLabelValuesTruncated), prometheus.CounterValue, float64(st.cuts[f]), field)
	}
}

// collectBilling sends the billing series and the gauges that describe
// them, while the snapshot is fresh.
func collectBilling(ch chan<- prometheus.Metric, st *Snapshot, now time.Time, gaugeOf func(metric, float64)) {
	snap := st.snap
	if snap != nil {
		gaugeOf(descLastSuccess, float64(snap.at.Unix())+float64(snap.at.Nanosecond())/1e9)
	}
	if !st.fresh(now) {
		gaugeOf(descLabelSets, 0)
		gaugeOf(descFolded, 0)
		return
	}
	gaugeOf(descDataAge, now.Sub(snap.at).Seconds())
	gaugeOf(descLabelSets, float64(snap.labelSets))
	gaugeOf(descFolded, float64(snap.folded))
	gaugeOf(descClosedDaysMissing, float64(st.missingDays))
	if st.previousMissing >= 0 {
		gaugeOf(descPreviousMonthMissing, float64(st.previousMissing))
	}
	if snap.untrackedResourceRows >= 0 {
		gaugeOf(descUntrackedResourceRows, float64(snap.untrackedResourceRows))
	}
	for _, d := range st.failedDays {
		ch <- prometheus.MustNewConstMetric(st.descs.of(descClosedDayFailed), prometheus.GaugeValue, 1, d.String())
	}
	for _, m := range snap.metrics {
		ch <- m
	}
}

func ratio(part, whole time.Duration) float64 {
	return min(max(part.Seconds()/whole.Seconds(), 0), 1)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
