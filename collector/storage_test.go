package collector

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// smallDisk mounts a tmpfs of size bytes on a new directory and returns it;
// it needs root (CI runs as root).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		testhelp.SkipOrFail(t, "mounting a small tmpfs failed ("+err.Error()+"): root is needed")
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	return dir
}

// fill writes to dir until its file system is full, and returns the file
// that frees the space when removed.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			return path
		}
	}
}

func storageOK(t *testing.T, c *Collector, ok, failures string) {
	t.Helper()
	want, names := expo(t, map[string][]string{
		"fptcloud_exporter_storage_ok":                   {" " + ok},
		"fptcloud_exporter_storage_write_failures_total": {" " + failures},
	})
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want), names...))
}

// TestFullDiskHeals: on a file system that is full, writes fail and the
// store says so; once space is freed, the next refresh writes every day
// held only in memory, not only the last one, and a restart then reads
// only today from the API.
func TestFullDiskHeals(t *testing.T) {
	t.Parallel()
	dir := smallDisk(t, "64k")
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t))
	st := openStore(t, dir)
	filler := fill(t, dir)

	e := newEnv(t, newStub(knownDataset()), now, func(c *Config) { c.Store = st })
	require.NoError(t, e.r.Refresh(context.Background()))
	storageOK(t, e.c, "0", "2")
	assert.Contains(t, e.logs.String(), "no space left on device")

	require.NoError(t, os.Remove(filler))
	require.NoError(t, e.r.Refresh(context.Background()))
	storageOK(t, e.c, "1", "2")
	for _, day := range []billing.Date{billing.NewDate(2026, 11, 1), billing.NewDate(2026, 11, 2)} {
		_, ok, err := st.Load(day)
		require.NoError(t, err, day)
		assert.True(t, ok, "%s is on disk", day)
	}
	assert.Contains(t, e.logs.String(), "every day held in memory is written")

	src := newStub(knownDataset())
	restarted := newEnv(t, src, now, func(c *Config) { c.Store = openStore(t, dir) })
	require.NoError(t, restarted.r.Refresh(context.Background()))
	assert.Equal(t, map[string]int{"2026-11-03": 1}, src.takeCalls(), "the restart reads only today")
}

// flakyStore fails writes while full, and then lets only `room` more
// writes through: space freed for some of the unwritten days, not all.
type flakyStore struct {
	full  bool
	room  int
	saved map[string]int
}

func (s *flakyStore) Load(billing.Date) (store.Day, bool, error) { return store.Day{}, false, nil }
func (s *flakyStore) Prune(billing.Date) error                   { return nil }
func (s *flakyStore) Save(d store.Day) error {
	if s.full || s.room == 0 {
		return errors.New("write: no space left on device")
	}
	s.room--
	s.saved[d.Date.String()]++
	return nil
}

// TestStorageStaysFailingUntilEveryDayIsWritten: a store that takes one of
// the two unwritten days is still reported failing, and recovers when the
// other one is in.
func TestStorageStaysFailingUntilEveryDayIsWritten(t *testing.T) {
	t.Parallel()
	fs := &flakyStore{full: true, saved: map[string]int{}}
	e := newEnv(t, newStub(knownDataset()), time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)), func(c *Config) { c.Store = fs })
	require.NoError(t, e.r.Refresh(context.Background()))
	storageOK(t, e.c, "0", "2")

	fs.full, fs.room = false, 1
	require.NoError(t, e.r.Refresh(context.Background()))
	storageOK(t, e.c, "0", "3")
	assert.Equal(t, map[string]int{"2026-11-01": 1}, fs.saved, "oldest first")
	assert.NotContains(t, e.logs.String(), "works again")

	fs.room = 10
	require.NoError(t, e.r.Refresh(context.Background()))
	storageOK(t, e.c, "1", "3")
	assert.Equal(t, map[string]int{"2026-11-01": 1, "2026-11-02": 1}, fs.saved)
	require.NoError(t, e.r.Refresh(context.Background()))
	assert.Equal(t, map[string]int{"2026-11-01": 1, "2026-11-02": 1}, fs.saved, "nothing is written twice")
}

// tooLargeStore refuses every day as too large, as the store does past
// what it would load.
type tooLargeStore struct{ failingStore }

func (s *tooLargeStore) Save(d store.Day) error {
	s.saves++
	return errors.Join(store.ErrTooLarge, errors.New(d.Date.String()+": 70 MB"))
}

// TestDayTooLargeIsServedFromMemory: a day the store cannot hold is said
// once per write and served; it is not a failing disk, and not retried.
func TestDayTooLargeIsServedFromMemory(t *testing.T) {
	t.Parallel()
	ts := &tooLargeStore{}
	e := newEnv(t, newStub(knownDataset()), time.Date(2026, 11, 3, 10, 0, 0, 0, testhelp.HCM(t)), func(c *Config) { c.Store = ts })
	require.NoError(t, e.r.Refresh(context.Background()))
	require.NoError(t, e.r.Refresh(context.Background()))
	assert.Equal(t, 2, ts.saves, "each day is tried once: final days are not read again")
	assert.Equal(t, 2, strings.Count(e.logs.String(), "too large for the month cache"), e.logs.String())
	storageOK(t, e.c, "1", "0")
	want, names := expo(t, map[string][]string{
		"fptcloud_billing_month_to_date_cost_vnd": {lblA + " 2650.75", lblB + " 210", lblC + " 50", lblD + " 0"},
	})
	require.NoError(t, testutil.CollectAndCompare(e.c, strings.NewReader(want), names...))
}
