package collector

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// APIRequestCounter counts API requests per endpoint and code. Its Observe
// method is passed to fptapi.WithObserver, which keeps fptapi free of
// Prometheus.
type APIRequestCounter struct {
	vec *prometheus.CounterVec
}

// NewAPIRequestCounter returns an empty counter.
func NewAPIRequestCounter() *APIRequestCounter {
	return &APIRequestCounter{vec: prometheus.NewCounterVec(
		prometheus.CounterOpts{Name: descAPIRequests.name, Help: descAPIRequests.help}, descAPIRequests.labels)}
}

// Observe counts one HTTP attempt. It is safe for concurrent use.
func (c *APIRequestCounter) Observe(info fptapi.RequestInfo) {
	c.vec.WithLabelValues(info.Endpoint, info.Code).Inc()
}

func (c *APIRequestCounter) collect(ch chan<- prometheus.Metric) { c.vec.Collect(ch) }

// Collector serves the Refresher's last published snapshot. It never calls
// the API; a scrape reads one pointer and sends prebuilt samples.
type Collector struct {
	r       *Refresher
	reqs    *APIRequestCounter
	budgets []prometheus.Metric // fixed by configuration, built once
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector for r. reqs may be nil (no API request counts).
func New(r *Refresher, reqs *APIRequestCounter) *Collector {
	return &Collector{r: r, reqs: reqs, budgets: budgetMetrics(r.cfg.Budgets)}
}

func budgetMetrics(b Budgets) []prometheus.Metric {
	var out []prometheus.Metric
	if b.Daily != 0 {
		out = append(out, prometheus.MustNewConstMetric(descBudgetDaily.Desc, prometheus.GaugeValue, b.Daily))
	}
	if b.Monthly != 0 {
		out = append(out, prometheus.MustNewConstMetric(descBudgetMonthly.Desc, prometheus.GaugeValue, b.Monthly))
	}
	for _, g := range slices.Sorted(maps.Keys(b.GroupDaily)) {
		out = append(out, prometheus.MustNewConstMetric(descBudgetGroupDaily.Desc, prometheus.GaugeValue, b.GroupDaily[g], g))
	}
	for _, g := range slices.Sorted(maps.Keys(b.GroupMonthly)) {
		out = append(out, prometheus.MustNewConstMetric(descBudgetGroupMonthly.Desc, prometheus.GaugeValue, b.GroupMonthly[g], g))
	}
	return out
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d.Desc
	}
}

// Collect sends the calendar, budget and self metrics, and the billing
// series of the served snapshot while it is fresh: no older than MaxAge and
// describing the current billing day.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.state.Load()
	now := c.r.now()
	local := now.In(c.r.cfg.Location)

	gaugeOf := func(d metric, v float64) {
		ch <- prometheus.MustNewConstMetric(d.Desc, prometheus.GaugeValue, v)
	}
	today := dateOf(local)
	dayStart, dayEnd := today.start(c.r.cfg.Location), today.end(c.r.cfg.Location)
	monthStart := date{today.year, today.month, 1}.start(c.r.cfg.Location)
	monthEnd := date{today.year, today.month + 1, 1}.start(c.r.cfg.Location) // Date normalises month 13
	gaugeOf(descMonthElapsed, ratio(now.Sub(monthStart), monthEnd.Sub(monthStart)))
	gaugeOf(descMonthLength, monthEnd.Sub(monthStart).Seconds())
	gaugeOf(descDayElapsed, ratio(now.Sub(dayStart), dayEnd.Sub(dayStart)))

	for _, m := range c.budgets {
		ch <- m
	}

	if st.attempted {
		gaugeOf(descRefreshSuccess, boolFloat(st.success))
		gaugeOf(descRefreshDuration, st.duration.Seconds())
		gaugeOf(descRefreshRows, float64(st.rows))
		gaugeOf(descRefreshPages, float64(st.pages))
	}
	gaugeOf(descTokenRejected, boolFloat(st.tokenRejected))
	gaugeOf(descRefreshInterval, c.r.cfg.RefreshInterval.Seconds())
	gaugeOf(descMaxAge, c.r.cfg.MaxAge.Seconds())
	ch <- prometheus.MustNewConstMetric(descRefreshFailures.Desc, prometheus.CounterValue, float64(st.failures))
	// A store off by choice has no series: nothing to alert on.
	if c.r.cfg.Store != nil || c.r.cfg.StoreUnusable {
		gaugeOf(descStorageOK, boolFloat(c.r.cfg.Store != nil && !st.storeFailing))
		ch <- prometheus.MustNewConstMetric(descStorageWriteFailures.Desc, prometheus.CounterValue, float64(st.storeFailures))
	}
	for f, field := range labelFields {
		ch <- prometheus.MustNewConstMetric(descLabelValuesTruncated.Desc, prometheus.CounterValue, float64(c.r.cuts.count(f)), field)
	}
	if c.reqs != nil {
		c.reqs.collect(ch)
	}

	snap := st.snap
	if snap != nil {
		gaugeOf(descLastSuccess, float64(snap.at.Unix())+float64(snap.at.Nanosecond())/1e9)
	}
	if !c.r.fresh(snap, now) {
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
		ch <- prometheus.MustNewConstMetric(descClosedDayFailed.Desc, prometheus.GaugeValue, 1, d.String())
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
