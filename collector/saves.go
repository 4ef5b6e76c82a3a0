package collector

import (
	"errors"
	"maps"
	"slices"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// saver writes closed days to the store, and writes again those whose
// write failed until it succeeds.
type saver struct {
	store  DayStore // nil: no store
	logger log.Logger
	// unsaved holds the days whose last write failed: the store is
	// healthy only when none is left, so that a restart reads only today.
	unsaved  map[billing.Date]billing.Day
	failures uint64 // failed writes since start
}

// failing reports whether a day held in memory is not written.
func (s *saver) failing() bool { return len(s.unsaved) > 0 }

// save writes a closed day; on failure the exporter runs on in memory.
func (s *saver) save(day billing.Day) {
	if s.store == nil {
		return
	}
	err := s.store.Save(day)
	if errors.Is(err, store.ErrTooLarge) {
		// No disk would help: the day is served from memory, and a
		// restart reads it from the API again.
		delete(s.unsaved, day.Date)
		level.Warn(s.logger).Log("msg", "a closed day is too large for the month cache: serving it from memory; a restart reads it again",
			"day", day.Date, "err", err)
		return
	}
	s.note(day, err)
	if err == nil {
		s.retry() // the store works: write what an earlier failure left
	}
}

// retry writes again, oldest first, the days whose write failed, until
// one fails.
func (s *saver) retry() {
	for _, date := range slices.SortedFunc(maps.Keys(s.unsaved), billing.CompareDates) {
		day := s.unsaved[date]
		err := s.store.Save(day)
		s.note(day, err)
		if err != nil {
			return
		}
	}
}

// note records the outcome of a write of day.
func (s *saver) note(day billing.Day, err error) {
	failing := s.failing()
	if err != nil {
		s.failures++
		s.unsaved[day.Date] = day
	} else {
		delete(s.unsaved, day.Date) // written, or overwritten by a newer read of the day
	}
	switch {
	case err != nil && !failing:
		level.Warn(s.logger).Log("msg", "cannot write the month cache: running on in memory; a restart will read these days again", "err", err)
	case err != nil:
		level.Debug(s.logger).Log("msg", "cannot write the month cache", "err", err, "days_unsaved", len(s.unsaved))
	case failing && !s.failing():
		level.Info(s.logger).Log("msg", "writing the month cache works again: every day held in memory is written")
	}
}

// dropBefore forgets the unwritten days before keepFrom, which the store
// would prune anyway.
func (s *saver) dropBefore(keepFrom billing.Date) {
	maps.DeleteFunc(s.unsaved, func(date billing.Date, _ billing.Day) bool { return date.Before(keepFrom) })
}
