package backfill

import (
	"bufio"
	"bytes"
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
func buildHistory(days []billing.Day, first, from billing.Date, loc *time.Location) *history {
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

// writeOpenMetrics writes the history as OpenMetrics text: one family
// after the other, each series' samples together and in time order, as
// promtool requires, and series in label order so that a run is
// reproducible. A family is encoded a series at a time, so that memory
// holds the history and one series' samples, never a family or the file.
func (h *history) writeOpenMetrics(w io.Writer, extra []config.Label) error {
	keys := slices.SortedFunc(maps.Keys(h.series), billing.Compare)
	calendar := labelPairs(extra)
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := h.writeSeries(bw, "fptcloud_billing_cost_vnd", helpCost, keys, extra, dayCost); err != nil {
		return err
	}
	if err := h.writeSeries(bw, "fptcloud_billing_month_to_date_cost_vnd", helpMonthToDate, keys, extra, monthToDate); err != nil {
		return err
	}
	if err := h.writeCalendar(bw, "fptcloud_billing_month_elapsed_ratio", helpElapsed, calendar, monthElapsed); err != nil {
		return err
	}
	if err := h.writeCalendar(bw, "fptcloud_billing_month_length_seconds", helpMonthLength, calendar, monthLength); err != nil {
		return err
	}
	if _, err := expfmt.FinalizeOpenMetrics(bw); err != nil {
		return fmt.Errorf("writing OpenMetrics: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing OpenMetrics: %w", err)
	}
	return nil
}

// The values of the families: ok is false for a day without a sample.
func dayCost(p point) (v float64, ok bool)     { return p.cost, p.hasCost }
func monthToDate(p point) (v float64, ok bool) { return p.monthToDate, true }
func monthElapsed(c calendarPoint) float64     { return c.monthElapsed }
func monthLength(c calendarPoint) float64      { return c.monthLenS }

// writeSeries writes the family name of every label set in keys, with the
// values value picks from its points.
func (h *history) writeSeries(w io.Writer, name, help string, keys []billing.Labels, extra []config.Label,
	value func(point) (float64, bool)) error {
	fw := &familyWriter{w: w, name: name, help: help}
	var samples []sample
	for _, k := range keys {
		samples = samples[:0]
		for _, p := range h.series[k] {
			if v, ok := value(p); ok {
				samples = append(samples, sample{v, p.ts})
			}
		}
		if err := fw.series(labelPairs(extra, billingLabels(k)...), samples); err != nil {
			return fmt.Errorf("writing OpenMetrics: %w", err)
		}
	}
	return nil
}

// writeCalendar writes the family name, one series of a value every day.
func (h *history) writeCalendar(w io.Writer, name, help string, labels []*dto.LabelPair, value func(calendarPoint) float64) error {
	samples := make([]sample, len(h.calendar))
	for i, c := range h.calendar {
		samples[i] = sample{value(c), c.ts}
	}
	fw := &familyWriter{w: w, name: name, help: help}
	if err := fw.series(labels, samples); err != nil {
		return fmt.Errorf("writing OpenMetrics: %w", err)
	}
	return nil
}

// familyWriter encodes one gauge family through expfmt, a series at a
// time. expfmt writes a family's metadata at every call: the first series
// is written with it, the later ones without their repeated TYPE line, so
// that the file holds the family once.
type familyWriter struct {
	w          io.Writer
	name, help string
	started    bool
	buf        bytes.Buffer
}

// series writes the samples of one label set, in time order.
func (f *familyWriter) series(labels []*dto.LabelPair, samples []sample) error {
	if len(samples) == 0 {
		return nil
	}
	metrics, gauges := make([]dto.Metric, len(samples)), make([]dto.Gauge, len(samples))
	values, stamps := make([]float64, len(samples)), make([]int64, len(samples))
	mf := &dto.MetricFamily{Name: &f.name, Type: dto.MetricType_GAUGE.Enum(), Metric: make([]*dto.Metric, len(samples))}
	for i, s := range samples {
		values[i], stamps[i] = s.value, s.ts*1000
		gauges[i].Value = &values[i]
		metrics[i].Label, metrics[i].Gauge, metrics[i].TimestampMs = labels, &gauges[i], &stamps[i]
		mf.Metric[i] = &metrics[i]
	}
	if !f.started {
		f.started = true
		mf.Help = &f.help
		_, err := expfmt.MetricFamilyToOpenMetrics(f.w, mf)
		return err
	}
	f.buf.Reset()
	if _, err := expfmt.MetricFamilyToOpenMetrics(&f.buf, mf); err != nil {
		return err
	}
	typeLine := "# TYPE " + f.name + " gauge\n"
	rest, ok := bytes.CutPrefix(f.buf.Bytes(), []byte(typeLine))
	if !ok {
		return fmt.Errorf("expfmt wrote %s without its TYPE line first", f.name)
	}
	_, err := f.w.Write(rest)
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
