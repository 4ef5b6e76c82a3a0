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

// sample is one value of a series at a time, Unix seconds: a day's last
// second.
type sample struct {
	value float64
	ts    int64
}

// history is what a backfill writes, from --from on: per label set its
// daily cost (on the days it had rows) and month-to-date, and the month
// gauges as the exporter serves them, so that panels and rules dividing by
// them work on backfilled days too.
type history struct {
	cost, monthToDate    map[billing.Labels][]sample
	elapsed, monthLength []sample
}

// buildHistory turns the days (one per day from first on, in order; first
// is the 1st of from's month) into series. Month-to-date is the running sum
// of the month's days, carried by every label set seen in the month so far,
// as the exporter publishes it.
func buildHistory(days []billing.Day, first, from billing.Date, loc *time.Location) *history {
	h := &history{cost: map[billing.Labels][]sample{}, monthToDate: map[billing.Labels][]sample{}}
	var mtd map[billing.Labels]float64
	for i, day := range days {
		d := first.AddDays(i)
		if mtd == nil || d.Day == 1 {
			mtd = make(map[billing.Labels]float64)
		}
		today := make(map[billing.Labels]float64, len(day.Costs))
		for _, c := range day.Costs {
			today[c.Labels] += c.TotalPrice
			mtd[c.Labels] += c.TotalPrice
		}
		if d.Before(from) {
			continue
		}
		ts := d.End(loc).Unix() - 1
		for k, v := range today {
			h.cost[k] = append(h.cost[k], sample{collector.RoundVND(v), ts})
		}
		for k, v := range mtd {
			h.monthToDate[k] = append(h.monthToDate[k], sample{collector.RoundVND(v), ts})
		}
		monthStart := d.MonthStart().Start(loc)
		length := monthStart.AddDate(0, 1, 0).Sub(monthStart).Seconds()
		h.elapsed = append(h.elapsed, sample{float64(ts-monthStart.Unix()) / length, ts})
		h.monthLength = append(h.monthLength, sample{length, ts})
	}
	return h
}

func (h *history) samples() int {
	n := len(h.elapsed) + len(h.monthLength)
	for k, s := range h.monthToDate {
		n += len(s) + len(h.cost[k])
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

// writeOpenMetrics writes the history as OpenMetrics text: one family
// after the other, each series' samples together and in time order, as
// promtool requires, and series in label order so that a run is
// reproducible. A family is encoded a series at a time, so that memory
// holds the history and one series' samples, never a family or the file.
func (h *history) writeOpenMetrics(w io.Writer, extra []config.Label) error {
	if err := h.encode(bufio.NewWriterSize(w, 64<<10), extra); err != nil {
		return fmt.Errorf("writing OpenMetrics: %w", err)
	}
	return nil
}

// encode writes the four families and the end of the text, then flushes w.
func (h *history) encode(w *bufio.Writer, extra []config.Label) error {
	keys := slices.SortedFunc(maps.Keys(h.monthToDate), billing.Compare)
	for _, f := range []struct {
		name, help string
		series     map[billing.Labels][]sample
	}{
		{"fptcloud_billing_cost_vnd", helpCost, h.cost},
		{"fptcloud_billing_month_to_date_cost_vnd", helpMonthToDate, h.monthToDate},
	} {
		fw := &familyWriter{w: w, name: f.name, help: f.help}
		for _, k := range keys {
			if err := fw.series(labelPairs(extra, billingLabels(k)...), f.series[k]); err != nil {
				return err
			}
		}
	}
	calendar := labelPairs(extra)
	if err := (&familyWriter{w: w, name: "fptcloud_billing_month_elapsed_ratio", help: helpElapsed}).series(calendar, h.elapsed); err != nil {
		return err
	}
	if err := (&familyWriter{w: w, name: "fptcloud_billing_month_length_seconds", help: helpMonthLength}).series(calendar, h.monthLength); err != nil {
		return err
	}
	if _, err := expfmt.FinalizeOpenMetrics(w); err != nil {
		return err
	}
	return w.Flush()
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
	mf := &dto.MetricFamily{Name: &f.name, Type: dto.MetricType_GAUGE.Enum(), Metric: make([]*dto.Metric, len(samples))}
	for i, s := range samples {
		mf.Metric[i] = &dto.Metric{Label: labels, Gauge: &dto.Gauge{Value: new(s.value)}, TimestampMs: new(s.ts * 1000)}
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
