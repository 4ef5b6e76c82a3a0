// Package backfill is the backfill command: it writes the history of
// closed billing days as OpenMetrics text for `promtool tsdb
// create-blocks-from openmetrics`, under the metric names the exporter
// serves, so that dashboards and rules built on the live series show the
// history too.
package backfill

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/google/renameio/v2"
	"golang.org/x/term"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

// Run is the backfill command on the configuration's source: it returns
// the exit code.
func Run(ctx context.Context, cfg *config.Config, logger log.Logger, stdout, stderr io.Writer) int {
	src := cfg.Sources[0]
	settings := cfg.Backfill
	if src.Name != "" {
		logger = log.With(logger, "account", src.Name)
		// The account's series, as the exporter labels them.
		settings.Labels = append(slices.Clip(settings.Labels), config.Label{Name: config.AccountLabel, Value: src.Name})
	}
	if err := run(ctx, &src, settings, logger, stdout, stderr); err != nil {
		level.Error(logger).Log("msg", "backfill failed", "err", err)
		return 1
	}
	return 0
}

// run backfills from one source: it reads the days, then writes the file.
func run(ctx context.Context, src *config.Source, bf config.Backfill, logger log.Logger, stdout, stderr io.Writer) error {
	stop, err := src.StartSimulated()
	if err != nil {
		return err
	}
	defer stop()
	if src.Simulated != nil {
		// The exporter's demo API, so that the backfill and promtool can be
		// tried without an account.
		level.Warn(logger).Log("msg", "demo mode: backfilling SIMULATED billing data from a built-in fake FPT Cloud API, not your account: keep it out of a Prometheus that holds real data")
	}
	client, err := src.NewClient()
	if err != nil {
		return err
	}
	days, unlock := openStore(src.Store, src.Identity, logger)
	defer unlock()
	start := time.Now()
	// The output is opened first: a file that cannot be written must not
	// be found out after half an hour of reading. A file is written under a
	// temporary name and takes its name only when complete, so that an
	// interrupted run never leaves a file that looks complete.
	out := stdout
	var pending *renameio.PendingFile
	if bf.Output != "-" && bf.Output != "" {
		if pending, err = renameio.NewPendingFile(bf.Output, renameio.WithPermissions(0o644)); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		defer func() { _ = pending.Cleanup() }()
		out = pending
	}
	b := &backfiller{src: client, loc: src.Location, filters: src.Filters, store: days, logger: logger, progress: newProgress(stderr)}
	first := bf.From.MonthStart()
	read, err := b.readDays(ctx, first, bf.To)
	if err != nil {
		return err
	}
	h := buildHistory(read, first, bf.From, src.Location)
	if err := h.writeOpenMetrics(out, bf.Labels); err != nil {
		return err
	}
	if pending != nil {
		if err := pending.CloseAtomicallyReplace(); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
	}
	level.Info(logger).Log("msg", "backfill written", "output", bf.Output,
		"from", bf.From.String(), "to", bf.To.String(),
		"days_from_store", b.fromStore, "days_from_api", b.fromAPI,
		"label_sets", len(h.monthToDate), "samples", h.samples(), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// openStore opens the month cache, if any, to resume from. One writer per
// store: beside a running exporter, the backfill reads the days it stored
// and writes none.
func openStore(s config.Store, id store.Identity, logger log.Logger) (collector.DayStore, func()) {
	opened, _ := s.Open(id, logger) // the backfill runs without one, as the exporter does
	if opened == nil {
		return nil, func() {}
	}
	unlock, err := s.Lock()
	if err != nil {
		level.Info(logger).Log("msg", "the month cache is in use: reading it, writing nothing", "err", err)
		return readOnlyStore{opened}, func() {}
	}
	return opened, unlock
}

// readOnlyStore reads a store another process writes, and writes nothing.
type readOnlyStore struct{ collector.DayStore }

func (readOnlyStore) Save(billing.Day) error { return nil }

// backfiller reads closed days, from the store when it holds them final,
// else from the API, saving what it read so that a second run resumes.
type backfiller struct {
	src      collector.BillSource
	loc      *time.Location
	filters  []fptapi.Filter
	store    collector.DayStore // nil: none
	logger   log.Logger
	progress func(done, total int)

	fromStore, fromAPI int
	storeWarned        bool
}

// readDays returns the sums of every day from first to last, in order.
func (b *backfiller) readDays(ctx context.Context, first, last billing.Date) ([]billing.Day, error) {
	total := 0
	for d := first; !last.Before(d); d = d.AddDays(1) {
		total++
	}
	days := make([]billing.Day, 0, total)
	for d := first; !last.Before(d); d = d.AddDays(1) {
		day, err := b.readDay(ctx, d)
		if err != nil {
			if len(days) > 0 {
				b.progress(-1, total) // ends the progress line before the error
			}
			return nil, err
		}
		days = append(days, day)
		b.progress(len(days), total)
	}
	return days, nil
}

func (b *backfiller) readDay(ctx context.Context, d billing.Date) (billing.Day, error) {
	if b.store != nil {
		day, ok, err := b.store.Load(d)
		switch {
		case err != nil:
			level.Warn(b.logger).Log("msg", "stored day cannot be trusted: reading it again", "err", err)
		case ok && day.Final:
			b.fromStore++
			return day, nil
		}
	}
	day, err := collector.DayCosts(ctx, b.src, b.loc, b.filters, d.Start(b.loc))
	if err != nil {
		return billing.Day{}, fmt.Errorf("reading billing day %s: %w", d, err)
	}
	b.fromAPI++
	// The configuration let only days past their late window through.
	day.Final = true
	if b.store != nil {
		if err := b.store.Save(day); err != nil && !b.storeWarned {
			b.storeWarned = true
			level.Warn(b.logger).Log("msg", "cannot save days to --storage.path: a second run will read them again", "err", err)
		}
	}
	return day, nil
}

// newProgress shows days done, days to do and the time left on one
// rewritten line of w, when w is a terminal; a log file or a CI job gets
// the final log line only. A negative done ends the line early.
func newProgress(w io.Writer) func(done, total int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func(int, int) {}
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
