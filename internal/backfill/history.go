package backfill

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

// point is one day of one series.
type point struct {
	ts          int64 // the day's last second, Unix seconds
	cost        float64
	hasCost     bool // the label set had rows that day
	monthToDate float64
}

// history is what a backfill writes: per label set, one point per day
// from --from on, and the billing calendar of each day.
type history struct {
	series   map[billing.Labels][]point
	calendar []calendarPoint
}

// calendarPoint holds the month gauges as the exporter serves them at a
// day's last second, so that panels and rules dividing by them work on
// backfilled days too.
type calendarPoint struct {
	ts                      int64
	monthElapsed, monthLenS float64
}

// buildHistory turns the days (one per day from first on, in order; first
// is the 1st of from's month) into series. Month-to-date is the running sum
// of the month's days, carried by every label set seen in the month so far,
// as the exporter publishes it.
func buildHistory(days []store.Day, first, from billing.Date, loc *time.Location) *history {
	h := &history{series: make(map[billing.Labels][]point)}
	var mtd map[billing.Labels]float64
	for i, day := range days {
		d := first.AddDays(i)
		if mtd == nil || d.Day == 1 {
			mtd = make(map[billing.Labels]float64)
		}
		today := make(map[billing.Labels]float64, len(day.Costs))
		for _, c := range day.Costs {
			k := billing.Labels{VPCID: c.VPCID, VPCName: c.VPCName, Service: c.Service, BillingGroup: c.BillingGroup, Tag: c.Tag}
			today[k] += c.TotalPrice
			mtd[k] += c.TotalPrice
		}
		if d.Before(from) {
			continue
		}
		ts := d.End(loc).Unix() - 1
		for k, v := range mtd {
			cost, has := today[k]
			h.series[k] = append(h.series[k], point{ts: ts, cost: collector.RoundVND(cost), hasCost: has,
				monthToDate: collector.RoundVND(v)})
		}
		monthStart := d.MonthStart().Start(loc)
		length := monthStart.AddDate(0, 1, 0).Sub(monthStart).Seconds()
		h.calendar = append(h.calendar, calendarPoint{ts: ts,
			monthElapsed: float64(ts-monthStart.Unix()) / length, monthLenS: length})
	}
	return h
}

func (h *history) samples() int {
	n := len(h.calendar) * 2
	for _, ps := range h.series {
		for _, p := range ps {
			n++
			if p.hasCost {
				n++
			}
		}
	}
	return n
}

// Help texts of the backfilled families. Prometheus keeps no metadata in
// its blocks, so they are for a reader of the file.
const (
	helpCost        = "Cost of one billing day (sum of total_price, VND before VAT), per label set, at the day's last second in the billing time zone."
	helpMonthToDate = "Cost from the 1st of the billing month through the day (sum of total_price, VND before VAT), per label set, at the day's last second."
	helpElapsed     = "Fraction of the billing month elapsed at the day's last second, in the billing time zone."
	helpMonthLength = "Length of the billing month in the billing time zone, in seconds."
)

// sample is one value of a series at a time, Unix seconds.
type sample struct {
	value float64
	ts    int64
}

// writeOpenMetrics writes the history as OpenMetrics text, one family
// after the other: each family is built and encoded alone, so that memory
// holds the history and one family, never the whole file. Each series'
// samples are together and in time order, as promtool requires, and series
// in label order, so that a run is reproducible.
func (h *history) writeOpenMetrics(w io.Writer, extra []config.Label) error {
	keys := slices.SortedFunc(maps.Keys(h.series), billing.Compare)
	labels := make([][]*dto.LabelPair, len(keys))
	for i, k := range keys {
		labels[i] = labelPairs(extra, billingLabels(k)...)
	}
	calendarLabels := labelPairs(extra)

	bw := bufio.NewWriterSize(w, 64<<10)
	families := []struct {
		name, help string
		each       func(emit func(labels []*dto.LabelPair, s sample))
	}{
		{"fptcloud_billing_cost_vnd", helpCost, func(emit func([]*dto.LabelPair, sample)) {
			for i, k := range keys {
				for _, p := range h.series[k] {
					if p.hasCost {
						emit(labels[i], sample{p.cost, p.ts})
					}
				}
			}
		}},
		{"fptcloud_billing_month_to_date_cost_vnd", helpMonthToDate, func(emit func([]*dto.LabelPair, sample)) {
			for i, k := range keys {
				for _, p := range h.series[k] {
					emit(labels[i], sample{p.monthToDate, p.ts})
				}
			}
		}},
		{"fptcloud_billing_month_elapsed_ratio", helpElapsed, func(emit func([]*dto.LabelPair, sample)) {
			for _, c := range h.calendar {
				emit(calendarLabels, sample{c.monthElapsed, c.ts})
			}
		}},
		{"fptcloud_billing_month_length_seconds", helpMonthLength, func(emit func([]*dto.LabelPair, sample)) {
			for _, c := range h.calendar {
				emit(calendarLabels, sample{c.monthLenS, c.ts})
			}
		}},
	}
	for _, f := range families {
		if err := writeFamily(bw, f.name, f.help, f.each); err != nil {
			return fmt.Errorf("writing OpenMetrics: %w", err)
		}
	}
	if _, err := expfmt.FinalizeOpenMetrics(bw); err != nil {
		return fmt.Errorf("writing OpenMetrics: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing OpenMetrics: %w", err)
	}
	return nil
}

// writeFamily encodes one gauge family of the samples each emits. The
// family's metrics, gauges and timestamps are allocated in one slice each:
// a family is one short-lived batch, not a million small objects.
func writeFamily(w io.Writer, name, help string, each func(emit func(labels []*dto.LabelPair, s sample))) error {
	n := 0
	each(func([]*dto.LabelPair, sample) { n++ })
	if n == 0 {
		return nil // a family without samples has nothing to say
	}
	metrics, gauges := make([]dto.Metric, n), make([]dto.Gauge, n)
	values, stamps := make([]float64, n), make([]int64, n)
	mf := &dto.MetricFamily{Name: &name, Help: &help, Type: dto.MetricType_GAUGE.Enum(), Metric: make([]*dto.Metric, n)}
	i := 0
	each(func(labels []*dto.LabelPair, s sample) {
		values[i], stamps[i] = s.value, s.ts*1000
		gauges[i].Value = &values[i]
		metrics[i].Label, metrics[i].Gauge, metrics[i].TimestampMs = labels, &gauges[i], &stamps[i]
		mf.Metric[i] = &metrics[i]
		i++
	})
	_, err := expfmt.MetricFamilyToOpenMetrics(w, mf)
	return err
}

// billingLabels are a series' billing labels under their exported names.
func billingLabels(k billing.Labels) []config.Label {
	return []config.Label{
		{Name: "billing_group", Value: k.BillingGroup},
		{Name: "service", Value: k.Service},
		{Name: "tag", Value: k.Tag},
		{Name: "vpc_id", Value: k.VPCID},
		{Name: "vpc_name", Value: k.VPCName},
	}
}

// labelPairs are the extra and the own labels of a series, sorted by name,
// with values made valid UTF-8, as OpenMetrics requires (the API's bytes
// are not checked); nil for none.
func labelPairs(extra []config.Label, own ...config.Label) []*dto.LabelPair {
	all := slices.Concat(extra, own)
	if len(all) == 0 {
		return nil
	}
	slices.SortFunc(all, func(a, b config.Label) int { return cmp.Compare(a.Name, b.Name) })
	pairs := make([]*dto.LabelPair, len(all))
	for i, l := range all {
		name, value := l.Name, strings.ToValidUTF8(l.Value, "\uFFFD")
		pairs[i] = &dto.LabelPair{Name: &name, Value: &value}
	}
	return pairs
}
