package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/google/renameio/v2"
	"github.com/prometheus/common/model"
	"golang.org/x/term"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// The backfill command writes the history of closed billing days as
// OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`, under
// the metric names the exporter serves, so that dashboards and rules built
// on the live series show the history too.

const commandBackfill = "backfill"

// backfillFlags are the backfill command's own flags; the API, token,
// filter and storage flags are the exporter's.
type backfillFlags struct {
	from, to *string
	output   *string
	labels   *[]string
}

func addBackfillCommand(app *kingpin.Application) *backfillFlags {
	cmd := app.Command(commandBackfill, "Write the cost of closed billing days as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`, "+
		"one sample per day and label set at the day's last second, under the exporter's metric names.")
	return &backfillFlags{
		from: cmd.Flag("from", "First billing day to write (YYYY-MM-DD, in --fpt.timezone). The days of its month before it are read too: month-to-date needs them.").
			Required().PlaceHolder("YYYY-MM-DD").String(),
		to: cmd.Flag("to", "Last billing day to write (YYYY-MM-DD); it must be closed: before today, and past its late window ("+
			lateWindow()+" after its end).").Required().PlaceHolder("YYYY-MM-DD").String(),
		output: cmd.Flag("output", "File to write (replaced atomically when complete); - is standard output.").Default("-").PlaceHolder("FILE").String(),
		labels: cmd.Flag("label", "Label added to every series, as NAME=VALUE, e.g. job=fptcloud and instance=HOST:PORT, so that the backfilled series "+
			"line up with the scraped ones. Repeatable.").PlaceHolder("NAME=VALUE").Strings(),
	}
}

// runBackfill is the backfill command: it returns the exit code.
func runBackfill(ctx context.Context, f *flags, s *settings, stdout, stderr io.Writer) int {
	b := f.backfill
	from, to, err := parseRange(*b.from, *b.to, s.location, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 2
	}
	extra, err := parseExtraLabels(*b.labels)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 2
	}
	logger, _ := newLogger(stderr, &f.log)
	if *f.demo {
		// The exporter's demo API, so that the backfill and promtool can be
		// tried without an account.
		stop, err := startDemoAPI(s, f.rateLimitSet)
		if err != nil {
			level.Error(logger).Log("msg", "backfill failed", "err", err)
			return 1
		}
		defer stop()
		level.Warn(logger).Log("msg", "demo mode: backfilling SIMULATED billing data from a built-in fake FPT Cloud API, not your account: keep it out of a Prometheus that holds real data")
	}
	client, err := newAPIClient(s)
	if err != nil {
		level.Error(logger).Log("msg", "backfill failed", "err", err)
		return 1
	}
	monthCache, _ := openStore(f, s, logger) // the backfill runs without one, as the exporter does
	if monthCache != nil {
		// One writer per store: beside a running exporter, the backfill
		// reads the days it stored and writes none.
		unlock, err := lockStore(f)
		if err != nil {
			level.Info(logger).Log("msg", "the month cache is in use: reading it, writing nothing", "err", err)
			monthCache = readOnlyStore{monthCache}
		} else {
			defer unlock()
		}
	}
	bf := &backfiller{
		src:      client,
		loc:      s.location,
		filters:  s.filters,
		store:    monthCache,
		logger:   logger,
		progress: newProgress(stderr),
	}
	if err := bf.run(ctx, from, to, extra, *b.output, stdout); err != nil {
		level.Error(logger).Log("msg", "backfill failed", "err", err)
		return 1
	}
	return 0
}

// parseRange parses --from and --to as billing days in loc and refuses a
// range that is empty or reaches a day that is not final at now: today, the
// future, or yesterday while its late rows may still arrive. Once in a
// Prometheus block, a sample cannot be corrected by the next scrape.
func parseRange(fromArg, toArg string, loc *time.Location, now time.Time) (from, to time.Time, err error) {
	if from, err = time.ParseInLocation(time.DateOnly, fromArg, loc); err != nil {
		return from, to, fmt.Errorf("--from: %q is not a date (YYYY-MM-DD)", fromArg)
	}
	if to, err = time.ParseInLocation(time.DateOnly, toArg, loc); err != nil {
		return from, to, fmt.Errorf("--to: %q is not a date (YYYY-MM-DD)", toArg)
	}
	if from.After(to) {
		return from, to, fmt.Errorf("--from=%s is after --to=%s", fromArg, toArg)
	}
	today := startOfDay(now.In(loc))
	if !to.Before(today) {
		return from, to, fmt.Errorf("--to=%s: the billing day is not closed (today in %s is %s): the last day must be before today",
			toArg, loc, today.Format(time.DateOnly))
	}
	if final := nextDay(to).Add(collector.DefaultLateWindow); now.Before(final) {
		return from, to, fmt.Errorf("--to=%s: late bills of that day may still arrive until %s (%s after its end): wait until then, or end the range a day earlier",
			toArg, final.Format("2006-01-02 15:04 MST"), lateWindow())
	}
	return from, to, nil
}

// lateWindow is how long after its end a day's bills may still change, as
// the exporter counts it, in words.
func lateWindow() string { return fmt.Sprintf("%g hours", collector.DefaultLateWindow.Hours()) }

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func nextDay(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, day.Location())
}

func startOfMonth(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, day.Location())
}

// labelPair is one label of an exposed series.
type labelPair struct{ name, value string }

// parseExtraLabels parses the --label values. A billing label cannot be
// overridden: the series would no longer be the exporter's.
func parseExtraLabels(args []string) ([]labelPair, error) {
	var out []labelPair
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("--label: %q is not NAME=VALUE", a)
		// The classic label name syntax, which every Prometheus release accepts.
		case !model.LegacyValidation.IsValidLabelName(name) || strings.HasPrefix(name, "__"):
			return nil, fmt.Errorf("--label: %q is not a label name (letters, digits and _, not starting with a digit or __)", name)
		case slices.Contains(collector.BillingLabels(), name):
			return nil, fmt.Errorf("--label: %q is a label of the billing series themselves", name)
		case slices.ContainsFunc(out, func(p labelPair) bool { return p.name == name }):
			return nil, fmt.Errorf("--label: %q given twice", name)
		}
		out = append(out, labelPair{name, value})
	}
	return out, nil
}

// dayStore is what the backfill needs of the exporter's month cache.
type dayStore interface {
	Load(date string) (store.Day, bool, error)
	Save(day store.Day) error
}

// backfiller reads closed days, from the store when it holds them final,
// else from the API, saving what it read so that a second run resumes.
type backfiller struct {
	src      collector.BillSource
	loc      *time.Location
	filters  []fptapi.Filter
	store    dayStore // nil: none
	logger   log.Logger
	progress func(done, total int) // nil: silent

	fromStore, fromAPI int
	storeWarned        bool
}

func (b *backfiller) run(ctx context.Context, from, to time.Time, extra []labelPair, output string, stdout io.Writer) error {
	start := time.Now()
	// The output is opened first: a file that cannot be written must not
	// be found out after half an hour of reading.
	w, commit, cleanup, err := openOutput(output, stdout)
	if err != nil {
		return err
	}
	defer cleanup()
	days, err := b.readDays(ctx, startOfMonth(from), to)
	if err != nil {
		return err
	}
	h := buildHistory(days, startOfMonth(from), from)
	if err := h.writeOpenMetrics(w, extra); err != nil {
		return err
	}
	if err := commit(); err != nil {
		return err
	}
	level.Info(b.logger).Log("msg", "backfill written", "output", output,
		"from", from.Format(time.DateOnly), "to", to.Format(time.DateOnly),
		"days_from_store", b.fromStore, "days_from_api", b.fromAPI,
		"label_sets", len(h.series), "samples", h.samples(), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// readDays returns the sums of every day from first to last, in order.
func (b *backfiller) readDays(ctx context.Context, first, last time.Time) ([]store.Day, error) {
	total := 0
	for d := first; !d.After(last); d = nextDay(d) {
		total++
	}
	days := make([]store.Day, 0, total)
	for d := first; !d.After(last); d = nextDay(d) {
		day, err := b.readDay(ctx, d)
		if err != nil {
			if b.progress != nil && len(days) > 0 {
				b.progress(-1, total) // ends the progress line before the error
			}
			return nil, err
		}
		days = append(days, day)
		if b.progress != nil {
			b.progress(len(days), total)
		}
	}
	return days, nil
}

func (b *backfiller) readDay(ctx context.Context, d time.Time) (store.Day, error) {
	date := d.Format(time.DateOnly)
	if b.store != nil {
		day, ok, err := b.store.Load(date)
		switch {
		case err != nil:
			level.Warn(b.logger).Log("msg", "stored day cannot be trusted: reading it again", "err", err)
		case ok && day.Final:
			b.fromStore++
			return day, nil
		}
	}
	day, err := collector.DayCosts(ctx, b.src, b.loc, b.filters, d)
	if err != nil {
		return store.Day{}, fmt.Errorf("reading billing day %s: %w", date, err)
	}
	b.fromAPI++
	// parseRange let only days past their late window through.
	day.Final = true
	if b.store != nil {
		if err := b.store.Save(day); err != nil && !b.storeWarned {
			b.storeWarned = true
			level.Warn(b.logger).Log("msg", "cannot save days to --storage.path: a second run will read them again", "err", err)
		}
	}
	return day, nil
}

// seriesKey is the five billing label values of a series.
type seriesKey struct{ billingGroup, service, tag, vpcID, vpcName string }

func (k seriesKey) values() []string {
	return []string{k.billingGroup, k.service, k.tag, k.vpcID, k.vpcName} // order of collector.BillingLabels
}

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
	series   map[seriesKey][]point
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
func buildHistory(days []store.Day, first, from time.Time) *history {
	h := &history{series: make(map[seriesKey][]point)}
	var month time.Month
	var mtd map[seriesKey]float64
	for i, day := range days {
		d := first.AddDate(0, 0, i)
		if mtd == nil || d.Month() != month {
			month, mtd = d.Month(), make(map[seriesKey]float64)
		}
		today := make(map[seriesKey]float64, len(day.Costs))
		for _, c := range day.Costs {
			k := seriesKey{c.BillingGroup, c.Service, c.Tag, c.VPCID, c.VPCName}
			today[k] += c.TotalPrice
			mtd[k] += c.TotalPrice
		}
		if d.Before(from) {
			continue
		}
		end := nextDay(d)
		ts := end.Unix() - 1
		for k, v := range mtd {
			cost, has := today[k]
			h.series[k] = append(h.series[k], point{ts: ts, cost: collector.RoundVND(cost), hasCost: has,
				monthToDate: collector.RoundVND(v)})
		}
		monthStart, monthEnd := startOfMonth(d), startOfMonth(d).AddDate(0, 1, 0)
		length := monthEnd.Sub(monthStart).Seconds()
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

// writeOpenMetrics writes the history as OpenMetrics text: one family
// after the other, each series' samples together and in time order, as
// promtool requires, and series in label order so that a run is
// reproducible.
func (h *history) writeOpenMetrics(w io.Writer, extra []labelPair) error {
	keys := make([]seriesKey, 0, len(h.series))
	for k := range h.series {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b seriesKey) int { return slices.Compare(a.values(), b.values()) })
	names := collector.BillingLabels()
	labels := make([]string, len(keys))
	for i, k := range keys {
		pairs := slices.Clone(extra)
		for j, v := range k.values() {
			pairs = append(pairs, labelPair{names[j], v})
		}
		labels[i] = formatLabels(pairs)
	}
	calendarLabels := formatLabels(slices.Clone(extra))

	bw := bufio.NewWriterSize(w, 64<<10)
	writeFamily(bw, "fptcloud_billing_cost_vnd", helpCost, func(sample func(labels string, v float64, ts int64)) {
		for i, k := range keys {
			for _, p := range h.series[k] {
				if p.hasCost {
					sample(labels[i], p.cost, p.ts)
				}
			}
		}
	})
	writeFamily(bw, "fptcloud_billing_month_to_date_cost_vnd", helpMonthToDate, func(sample func(string, float64, int64)) {
		for i, k := range keys {
			for _, p := range h.series[k] {
				sample(labels[i], p.monthToDate, p.ts)
			}
		}
	})
	writeFamily(bw, "fptcloud_billing_month_elapsed_ratio", helpElapsed, func(sample func(string, float64, int64)) {
		for _, c := range h.calendar {
			sample(calendarLabels, c.monthElapsed, c.ts)
		}
	})
	writeFamily(bw, "fptcloud_billing_month_length_seconds", helpMonthLength, func(sample func(string, float64, int64)) {
		for _, c := range h.calendar {
			sample(calendarLabels, c.monthLenS, c.ts)
		}
	})
	_, _ = bw.WriteString("# EOF\n") // an error stays in bw for Flush
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing OpenMetrics: %w", err)
	}
	return nil
}

// writeFamily writes one gauge family.
func writeFamily(bw *bufio.Writer, name, help string, each func(sample func(labels string, v float64, ts int64))) {
	fmt.Fprintf(bw, "# TYPE %s gauge\n# HELP %s %s\n", name, name, escapeHelp(help))
	var buf []byte
	each(func(labels string, v float64, ts int64) {
		buf = append(buf[:0], name...)
		buf = append(buf, labels...)
		buf = append(buf, ' ')
		buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, '\n')
		_, _ = bw.Write(buf) // an error stays in bw for Flush
	})
}

// formatLabels renders {name="value",...} sorted by name; "" for none.
func formatLabels(pairs []labelPair) string {
	if len(pairs) == 0 {
		return ""
	}
	slices.SortFunc(pairs, func(a, b labelPair) int { return cmp.Compare(a.name, b.name) })
	var sb strings.Builder
	sb.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(p.name)
		sb.WriteString(`="`)
		sb.WriteString(labelValueEscaper.Replace(strings.ToValidUTF8(p.value, "\uFFFD")))
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	return sb.String()
}

// OpenMetrics escapes backslash, double quote and line feed in label
// values, and backslash and line feed in help texts.
var (
	labelValueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper       = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

// openOutput opens the named file, or stdout for "-". A file is written
// under a temporary name and takes its name only at commit, so that an
// interrupted run never leaves a file that looks complete; cleanup
// removes the temporary file if commit was not reached.
func openOutput(name string, stdout io.Writer) (w io.Writer, commit func() error, cleanup func(), err error) {
	if name == "-" || name == "" {
		return stdout, func() error { return nil }, func() {}, nil
	}
	pf, err := renameio.NewPendingFile(name, renameio.WithPermissions(0o644))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--output: %w", err)
	}
	commit = func() error {
		if err := pf.CloseAtomicallyReplace(); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		return nil
	}
	return pf, commit, func() { _ = pf.Cleanup() }, nil
}

// newProgress shows days done, days to do and the time left on one
// rewritten line of w, when w is a terminal; else it returns nil: a log
// file or a CI job gets the final log line only. A negative done ends the
// line early.
func newProgress(w io.Writer) func(done, total int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	start := time.Now()
	return func(done, total int) {
		if done < 0 {
			fmt.Fprintln(f)
			return
		}
		left := time.Duration(float64(time.Since(start)) / float64(done) * float64(total-done)).Round(time.Second)
		fmt.Fprintf(f, "\rbackfill: %d/%d days read, about %s left   ", done, total, left)
		if done == total {
			fmt.Fprintln(f)
		}
	}
}

// readOnlyStore reads a store another process writes, and writes nothing.
type readOnlyStore struct{ collector.DayStore }

func (readOnlyStore) Save(store.Day) error { return nil }
