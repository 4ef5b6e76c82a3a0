package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

var testID = Identity{APIURL: "https://console-api.fptcloud.com/api", Filters: []string{""}, TimeZone: "Asia/Ho_Chi_Minh"}

func testDay(date string) Day {
	d, err := billing.ParseDate(date)
	if err != nil {
		panic(err)
	}
	return Day{
		Date:   d,
		ReadAt: time.Date(2026, 11, 28, 3, 4, 5, 0, time.UTC),
		Final:  true,
		Costs: []billing.Cost{
			{Labels: billing.Labels{VPCID: "vpc-1", VPCName: `Mạng "chính"`, Service: "instance", BillingGroup: "Nhóm", Tag: "env=prod"}, TotalPrice: 344183.5},
			{Labels: billing.Labels{VPCID: "vpc-2", VPCName: "line1\nline2", Service: "storage"}, TotalPrice: 0.1 + 0.2},
		},
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s, err := Open(dir, testID)
	require.NoError(t, err)
	_, ok, err := s.Load(billing.NewDate(2026, 11, 3))
	require.NoError(t, err)
	assert.False(t, ok, "nothing stored yet")

	want := testDay("2026-11-03")
	require.NoError(t, s.Save(want))
	got, ok, err := s.Load(billing.NewDate(2026, 11, 3))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, want, got, "every float64 comes back bit for bit")

	// Billing data is for the exporter's user only.
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	info, err = os.Stat(filepath.Join(dir, "2026-11-03.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// A second save replaces the first, leaving no temporary file behind.
	want.Final = false
	require.NoError(t, s.Save(want))
	got, _, err = s.Load(billing.NewDate(2026, 11, 3))
	require.NoError(t, err)
	assert.False(t, got.Final)
	assert.Equal(t, []string{"2026-11-03.json"}, names(t, dir))
}

// TestUntrustedFiles: every way a file can be wrong is an error that names
// the file and says why, and no data.
func TestUntrustedFiles(t *testing.T) {
	t.Parallel()
	const date = "2026-11-03"
	tests := []struct {
		name   string
		id     Identity // the identity of the store that reads the file
		damage func(t *testing.T, path string)
		reason string
	}{
		{"truncated", testID, func(t *testing.T, path string) {
			b := readAll(t, path)
			writeAll(t, path, b[:len(b)/2])
		}, "truncated or corrupt"},
		{"empty", testID, func(t *testing.T, path string) { writeAll(t, path, nil) }, "truncated or corrupt"},
		{"a flipped byte", testID, func(t *testing.T, path string) {
			b := readAll(t, path)
			i := strings.Index(string(b), "344183.5")
			b[i] = '9'
			writeAll(t, path, b)
		}, "checksum mismatch"},
		{"a newer format version", testID, func(t *testing.T, path string) {
			rewriteEntry(t, path, `"format":1`, `"format":2`)
		}, "newer than this exporter's"},
		{"an older format version", testID, func(t *testing.T, path string) {
			rewriteEntry(t, path, `"format":1`, `"format":0`)
		}, "format version 0"},
		{"another day's file", testID, func(t *testing.T, path string) {
			rewriteEntry(t, path, `"date":"2026-11-03"`, `"date":"2026-11-04"`)
		}, `holds day "2026-11-04"`},
		{"another API URL", Identity{APIURL: "https://console-api.fptcloud.jp/api", Filters: []string{""}, TimeZone: "Asia/Ho_Chi_Minh"},
			nil, "another API URL"},
		{"other filters", Identity{APIURL: testID.APIURL, Filters: []string{"service_type=storage"}, TimeZone: "Asia/Ho_Chi_Minh"},
			nil, "other filters"},
		{"another time zone", Identity{APIURL: testID.APIURL, Filters: []string{""}, TimeZone: "UTC"},
			nil, "time zone"},
		{"not JSON at all", testID, func(t *testing.T, path string) { writeAll(t, path, []byte("\x00\x01garbage")) }, "truncated or corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Open(dir, testID)
			require.NoError(t, err)
			require.NoError(t, w.Save(testDay(date)))
			path := filepath.Join(dir, date+".json")
			if tt.damage != nil {
				tt.damage(t, path)
			}
			r, err := Open(dir, tt.id)
			require.NoError(t, err)
			got, ok, err := r.Load(testDay(date).Date)
			require.Error(t, err)
			assert.False(t, ok)
			assert.Zero(t, got)
			assert.Contains(t, err.Error(), path, "the error names the file")
			assert.Contains(t, err.Error(), tt.reason)
		})
	}
}

func TestUnreadableFile(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	dir := t.TempDir()
	s, err := Open(dir, testID)
	require.NoError(t, err)
	require.NoError(t, s.Save(testDay("2026-11-03")))
	require.NoError(t, os.Chmod(filepath.Join(dir, "2026-11-03.json"), 0))
	_, ok, err := s.Load(billing.NewDate(2026, 11, 3))
	require.Error(t, err)
	assert.False(t, ok)
}

func TestOpenUnusableDirectory(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	file := filepath.Join(parent, "a-file")
	writeAll(t, file, []byte("x"))
	_, err := Open(filepath.Join(file, "data"), testID)
	require.Error(t, err, "a path under a regular file cannot be a directory")

	_, err = Open("", testID)
	require.Error(t, err)

	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(parent, "read-only")
		require.NoError(t, os.Mkdir(ro, 0o500))
		_, err = Open(ro, testID)
		require.ErrorContains(t, err, "not writable")
	}
}

// TestFullDisk: a write that fails part-way leaves the previous file, which
// still loads; the error says which file.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir, testID)
	require.NoError(t, err)
	require.NoError(t, s.Save(testDay("2026-11-03")))
	s.writeFile = func(string, []byte) error { return errors.New("no space left on device") }
	changed := testDay("2026-11-03")
	changed.Costs[0].TotalPrice = 1
	err = s.Save(changed)
	require.ErrorContains(t, err, "no space left on device")
	require.ErrorContains(t, err, "2026-11-03.json")
	got, ok, err := s.Load(billing.NewDate(2026, 11, 3))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, testDay("2026-11-03"), got)
}

func TestPrune(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir, testID)
	require.NoError(t, err)
	for _, d := range []string{"2026-09-30", "2026-10-31", "2026-11-01", "2026-11-28"} {
		require.NoError(t, s.Save(testDay(d)))
	}
	writeAll(t, filepath.Join(dir, "README.txt"), []byte("not ours"))
	require.NoError(t, s.Prune(billing.NewDate(2026, 11, 1)))
	assert.Equal(t, []string{"2026-11-01.json", "2026-11-28.json", "README.txt"}, names(t, dir))
}

// TestOpenRemovesTemporaries: what a crash in the middle of a save left in
// the temporary files' directory is removed at the next start, whatever
// its name; other files stay, and so does a temporary file young enough to
// be another process's save in progress.
func TestOpenRemovesTemporaries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, tmpDir), 0o700))
	crashed := filepath.Join(dir, tmpDir, ".2026-11-03.json123456")
	writeAll(t, crashed, []byte(`{"sha`))
	old := time.Now().Add(-2 * temporaryMaxAge)
	require.NoError(t, os.Chtimes(crashed, old, old))
	writeAll(t, filepath.Join(dir, tmpDir, "any-name"), []byte(`{"sha`))
	writeAll(t, filepath.Join(dir, ".2026-11-05.json123456"), nil) // not in tmpDir: not the store's
	require.NoError(t, os.Chtimes(filepath.Join(dir, ".2026-11-05.json123456"), old, old))
	writeAll(t, filepath.Join(dir, ".keep"), nil)
	_, err := Open(dir, testID)
	require.NoError(t, err)
	assert.Equal(t, []string{".2026-11-05.json123456", ".keep", tmpDir}, names(t, dir))
	assert.Equal(t, []string{"any-name"}, names(t, filepath.Join(dir, tmpDir)))
}

// TestOpenDuringAnotherSave: the backfill command and the exporter share a
// directory; one opening the store in the middle of the other's Save does
// not break that Save.
func TestOpenDuringAnotherSave(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writer, err := Open(dir, testID)
	require.NoError(t, err)
	write := writer.writeFile
	writer.writeFile = func(path string, data []byte) error {
		// A temporary file, as Save leaves it just before the rename.
		tmp := filepath.Join(dir, tmpDir, "."+filepath.Base(path)+"42")
		writeAll(t, tmp, data)
		_, err := Open(dir, testID) // the other process starts now
		require.NoError(t, err)
		if _, err := os.Stat(tmp); err != nil {
			return err
		}
		require.NoError(t, os.Remove(tmp))
		return write(path, data)
	}
	require.NoError(t, writer.Save(testDay("2026-11-03")))
}

func TestNoTokenInFiles(t *testing.T) {
	t.Parallel()
	// The store is never given the token; the identity has no field for it.
	dir := t.TempDir()
	s, err := Open(dir, testID)
	require.NoError(t, err)
	require.NoError(t, s.Save(testDay("2026-11-03")))
	b := readAll(t, filepath.Join(dir, "2026-11-03.json"))
	for _, word := range []string{"token", "Bearer", "authorization"} {
		assert.NotContains(t, strings.ToLower(string(b)), strings.ToLower(word))
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func writeAll(t *testing.T, path string, b []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// rewriteEntry changes the entry and recomputes its checksum, as a file
// written by another version would be: only the content is wrong.
func rewriteEntry(t *testing.T, path, old, replacement string) {
	t.Helper()
	var f file
	require.NoError(t, json.Unmarshal(readAll(t, path), &f))
	entry := strings.Replace(string(f.Entry), old, replacement, 1)
	require.NotEqual(t, string(f.Entry), entry, "%s not in the entry", old)
	writeAll(t, path, seal([]byte(entry)))
}

// names lists dir, leaving out the temporary files' directory when it is
// empty: a Save leaves no temporary file behind.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if e.Name() == tmpDir && e.IsDir() {
			tmp, err := os.ReadDir(filepath.Join(dir, tmpDir))
			require.NoError(t, err)
			if len(tmp) == 0 {
				continue
			}
		}
		out = append(out, e.Name())
	}
	return out
}

// TestLoadRefusesNonRegularFiles: only a regular file is read. Anything
// else named like a day file is untrusted at once, without blocking and
// without reading it, and the error says what it is.
func TestLoadRefusesNonRegularFiles(t *testing.T) {
	t.Parallel()
	const date = "2026-11-03"
	tests := []struct {
		name   string
		make   func(t *testing.T, path string)
		reason string
	}{
		{"named pipe", func(t *testing.T, path string) {
			require.NoError(t, syscall.Mkfifo(path, 0o600))
		}, "is a named pipe, not a regular file"},
		{"socket", func(t *testing.T, path string) {
			require.NoError(t, unix.Mknod(path, unix.S_IFSOCK|0o600, 0))
		}, "is a socket, not a regular file"},
		{"character device", func(t *testing.T, path string) {
			err := unix.Mknod(path, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 5))) // /dev/zero
			if errors.Is(err, unix.EPERM) {
				t.Skip("no CAP_MKNOD here; the link to /dev/zero covers the device")
			}
			require.NoError(t, err)
		}, "is a character device, not a regular file"},
		{"link to /dev/zero", func(t *testing.T, path string) {
			require.NoError(t, os.Symlink("/dev/zero", path))
		}, "is a symbolic link, not a regular file"},
		{"link to a valid day file", func(t *testing.T, path string) {
			other, err := Open(t.TempDir(), testID)
			require.NoError(t, err)
			require.NoError(t, other.Save(testDay(date)))
			require.NoError(t, os.Symlink(other.path(date), path))
		}, "is a symbolic link, not a regular file"},
		{"dangling link", func(t *testing.T, path string) {
			require.NoError(t, os.Symlink(filepath.Join(filepath.Dir(path), "nowhere"), path))
		}, "is a symbolic link, not a regular file"},
		{"directory", func(t *testing.T, path string) {
			require.NoError(t, os.Mkdir(path, 0o700))
		}, "is a directory, not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), testID)
			require.NoError(t, err)
			path := s.path(date)
			tt.make(t, path)
			got, ok, err := loadWithin(t, s, date)
			require.Error(t, err)
			assert.False(t, ok)
			assert.Zero(t, got)
			assert.Contains(t, err.Error(), path, "the error names the file")
			assert.Contains(t, err.Error(), tt.reason)
		})
	}
}

// loadWithin is s.Load of date, failing the test if it blocks.
func loadWithin(t *testing.T, s *Store, date string) (Day, bool, error) {
	t.Helper()
	type result struct {
		day Day
		ok  bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		day, ok, err := s.Load(testDay(date).Date)
		done <- result{day, ok, err}
	}()
	select {
	case r := <-done:
		return r.day, r.ok, r.err
	case <-time.After(patience(t)):
		t.Fatalf("Load(%s) blocked", date)
		return Day{}, false, nil
	}
}

// TestLoadRefusesOversizedFile: a file over the limit is refused on its
// size, before it is read (it is sparse: reading it would take 64 MiB).
func TestLoadRefusesOversizedFile(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir(), testID)
	require.NoError(t, err)
	path := s.path("2026-11-03")
	writeAll(t, path, nil)
	require.NoError(t, os.Truncate(path, maxFileSize+1))
	_, ok, err := loadWithin(t, s, "2026-11-03")
	assert.False(t, ok)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, fmt.Sprintf("%d bytes is over the %d-byte limit", maxFileSize+1, maxFileSize))
}

// TestSaveResetsMode: whatever the mode of the file a Save replaces (one
// made unreadable, one readable by all) and whatever the umask, the new
// file is 0600 and loads.
func TestSaveResetsMode(t *testing.T) {
	const date = "2026-11-03"
	for _, mode := range []os.FileMode{0o000, 0o644, 0o400} {
		t.Run(mode.String(), func(t *testing.T) {
			s, err := Open(t.TempDir(), testID)
			require.NoError(t, err)
			require.NoError(t, s.Save(testDay(date)))
			require.NoError(t, os.Chmod(s.path(date), mode))
			require.NoError(t, s.Save(testDay(date)))
			assertMode(t, s.path(date), 0o600)
			_, ok, err := s.Load(testDay(date).Date)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, []string{date + ".json"}, names(t, s.dir), "no temporary file left")
		})
	}
	t.Run("umask", func(t *testing.T) {
		s, err := Open(t.TempDir(), testID)
		require.NoError(t, err)
		old := syscall.Umask(0o277) // the umask is the process's: restored at once
		errNew := s.Save(testDay(date))
		errOld := s.Save(testDay(date))
		syscall.Umask(old)
		require.NoError(t, errNew)
		require.NoError(t, errOld)
		assertMode(t, s.path(date), 0o600)
	})
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Lstat(path)
	require.NoError(t, err)
	assert.True(t, info.Mode().IsRegular(), "%s is %s", path, info.Mode())
	assert.Equal(t, want, info.Mode().Perm(), path)
}

// TestSaveRecreatesDirectory: a directory removed under the running
// exporter comes back, 0700, at the next Save.
func TestSaveRecreatesDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(dir, testID)
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, s.Save(testDay("2026-11-03")))
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	assertMode(t, s.path("2026-11-03"), 0o600)
	got, ok, err := s.Load(billing.NewDate(2026, 11, 3))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, testDay("2026-11-03"), got)
}

// TestSaveTooLarge: a day larger than Load reads is not written, the
// previous file stays, and the error says which day and both sizes.
func TestSaveTooLarge(t *testing.T) {
	t.Parallel()
	const date = "2026-11-03"
	s, err := Open(t.TempDir(), testID)
	require.NoError(t, err)
	assert.Equal(t, int64(maxFileSize), s.maxSize, "Load's limit is Save's")
	require.NoError(t, s.Save(testDay(date)))
	size := int64(len(readAll(t, s.path(date))))

	s.maxSize = size // exactly the limit is written
	require.NoError(t, s.Save(testDay(date)))

	before, err := os.Stat(s.path(date))
	require.NoError(t, err)
	s.maxSize = size - 1
	err = s.Save(testDay(date))
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Contains(t, err.Error(), date)
	assert.Contains(t, err.Error(), fmt.Sprintf("%d bytes, over the %d-byte limit", size, size-1))
	after, err := os.Stat(s.path(date))
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after), "the previous file is left as it was")
	assert.Equal(t, []string{date + ".json"}, names(t, s.dir), "no temporary file left")
}

// patience is how long a test waits for progress before it gives up: the
// rest of the test binary's time, or ten minutes without a deadline. It is
// an overall limit for a machine however loaded, never a measure of speed.
func patience(t *testing.T) time.Duration {
	if d, ok := t.Deadline(); ok {
		return time.Until(d) * 9 / 10
	}
	return 10 * time.Minute
}
