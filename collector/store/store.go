// Package store keeps the sums of closed billing days on disk, one file a
// day, so that a restarted exporter reads from the API only what it would
// have read had it kept running: today, and yesterday while late rows may
// still arrive.
//
// A file holds a day's sums (never raw rows, nothing that identifies the
// API token) and the identity of what was read. One whose checksum, format
// version or identity does not match is untrusted and never served. Lock
// makes one process at a time the writer of a store directory.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// FormatVersion is the version of the file format this package writes and
// reads. A change to what a file means bumps it: older files are then read
// again from the API, never misread.
const FormatVersion = 1

// maxFileSize bounds what Load reads and Save writes: a day at the default
// limits (10,000 label sets, 50,000 resources) is about 15 MB.
const maxFileSize = 64 << 20

// ErrTooLarge marks a day that Save refused to write because Load would
// refuse to read it back: the day can be served from memory only.
var ErrTooLarge = errors.New("too large for a day file")

// ErrOtherIdentity marks a day file written for another API URL, other
// filters or another time zone: after a change of configuration every file
// is such, and callers may say so once.
var ErrOtherIdentity = errors.New("written for another configuration")

// Identity is what a day's sums depend on besides the day. Sums read under
// another identity are not this exporter's data.
type Identity struct {
	APIURL   string   `json:"api_url"`
	Filters  []string `json:"filters"` // one string per query filter, in query order
	TimeZone string   `json:"timezone"`
}

// Day is the billing package's day: the store takes and returns it and
// converts it to its file format (dayFile) at its own edge.
type Day = billing.Day

// dayFile is a day as a file holds it.
type dayFile struct {
	Date                  string         `json:"date"` // YYYY-MM-DD in the billing time zone
	ReadAt                time.Time      `json:"read_at"`
	Final                 bool           `json:"final"`
	Costs                 []costFile     `json:"costs"`
	PerResource           bool           `json:"per_resource,omitempty"`
	Resources             []resourceFile `json:"resources,omitempty"`
	UntrackedResourceRows int            `json:"untracked_resource_rows,omitempty"`
}

// labelsFile, costFile and resourceFile are billing's types as a file
// holds them.
type labelsFile struct {
	VPCID        string `json:"vpc_id"`
	VPCName      string `json:"vpc_name"`
	Service      string `json:"service"`
	BillingGroup string `json:"billing_group"`
	Tag          string `json:"tag"`
}

type costFile struct {
	labelsFile
	TotalPrice float64 `json:"total_price"`
}

type resourceFile struct {
	labelsFile
	InfraID    string  `json:"infra_id"`
	Name       string  `json:"name"`
	TotalPrice float64 `json:"total_price"`
}

// toFile converts d to its file format. Costs is never nil: [] in a file,
// not null.
func toFile(d Day) dayFile {
	f := dayFile{Date: d.Date.String(), ReadAt: d.ReadAt, Final: d.Final, Costs: make([]costFile, 0, len(d.Costs)),
		PerResource: d.PerResource, UntrackedResourceRows: d.UntrackedResourceRows}
	for _, c := range d.Costs {
		f.Costs = append(f.Costs, costFile{labelsFile(c.Labels), c.TotalPrice})
	}
	for _, r := range d.Resources {
		f.Resources = append(f.Resources, resourceFile{labelsFile(r.Labels), r.InfraID, r.Name, r.TotalPrice})
	}
	return f
}

// fromFile is the day of file f, whose date decode has checked. Costs is
// never nil, Resources nil when empty.
func fromFile(f dayFile, date billing.Date) Day {
	d := Day{Date: date, ReadAt: f.ReadAt, Final: f.Final, Costs: make([]billing.Cost, 0, len(f.Costs)),
		PerResource: f.PerResource, UntrackedResourceRows: f.UntrackedResourceRows}
	for _, c := range f.Costs {
		d.Costs = append(d.Costs, billing.Cost{Labels: billing.Labels(c.labelsFile), TotalPrice: c.TotalPrice})
	}
	for _, r := range f.Resources {
		d.Resources = append(d.Resources, billing.ResourceCost{Labels: billing.Labels(r.labelsFile),
			InfraID: r.InfraID, Name: r.Name, TotalPrice: r.TotalPrice})
	}
	return d
}

// entry is what a file's checksum covers.
type entry struct {
	Format   int     `json:"format"`
	Identity         // inlined: api_url, filters, timezone
	Day      dayFile `json:"day"`
}

// file is a day file: the entry's bytes exactly as written, and their
// SHA-256, so that a flipped byte anywhere in the entry is caught.
type file struct {
	SHA256 string          `json:"sha256"`
	Entry  json.RawMessage `json:"entry"`
}

// Store is a directory of day files for one identity.
type Store struct {
	dir string
	id  Identity
	// writeFile and maxSize are writeAtomic and maxFileSize; tests replace
	// them to simulate a full disk or a day over the limit.
	writeFile func(path string, data []byte) error
	maxSize   int64
}

// Open prepares dir (created 0700 if missing) for id's day files and checks
// that it can be written. An error means the caller should run without a
// store.
func Open(dir string, id Identity) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: no directory")
	}
	if err := os.MkdirAll(filepath.Join(dir, tmpDir), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	probe, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return nil, fmt.Errorf("store: directory %s is not writable: %w", dir, err)
	}
	_ = probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// "https://…/api/" and "https://…/api" are the same API.
	id.APIURL = strings.TrimRight(id.APIURL, "/")
	s := &Store{dir: dir, id: id, writeFile: writeAtomic, maxSize: maxFileSize}
	s.removeTemporaries()
	return s, nil
}

func (s *Store) path(date string) string { return filepath.Join(s.dir, date+".json") }

// Load returns the stored sums of date. ok is false when there are none;
// err is non-nil when a file is there but cannot be trusted (unreadable,
// truncated, corrupt, of another format version or identity): the day must
// then be read again, and the error names the file and the reason.
func (s *Store) Load(date billing.Date) (day Day, ok bool, err error) {
	path := s.path(date.String())
	raw, err := readRegular(path, s.maxSize)
	if errors.Is(err, fs.ErrNotExist) {
		return Day{}, false, nil
	}
	if err == nil {
		day, err = s.decode(raw, date)
	}
	if err != nil {
		return Day{}, false, fmt.Errorf("store file %s: %w", path, err)
	}
	return day, true, nil
}

// readRegular reads path if it is a regular file of at most limit bytes.
// Anything else is refused before a byte is read: a FIFO would block the
// reader, a device or a link could feed it endless or foreign data.
func readRegular(path string, limit int64) ([]byte, error) {
	// O_NOFOLLOW: a symbolic link fails to open. O_NONBLOCK: a FIFO opens
	// at once instead of waiting for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		// A link, a socket or a device may fail to open: say what it is.
		if info, lerr := os.Lstat(path); lerr == nil && !info.Mode().IsRegular() {
			return nil, notRegular(info.Mode())
		}
		return nil, err
	}
	defer f.Close()
	// The open descriptor is checked, not the path, which may have been
	// replaced since the open.
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, notRegular(info.Mode())
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("%d bytes is over the %d-byte limit", info.Size(), limit)
	}
	return io.ReadAll(io.LimitReader(f, limit))
}

// fileTypes names the types of file that are not regular files.
var fileTypes = map[fs.FileMode]string{
	fs.ModeSymlink:                    "a symbolic link",
	fs.ModeNamedPipe:                  "a named pipe",
	fs.ModeSocket:                     "a socket",
	fs.ModeDevice | fs.ModeCharDevice: "a character device",
	fs.ModeDevice:                     "a block device",
	fs.ModeDir:                        "a directory",
}

func notRegular(mode fs.FileMode) error {
	what, ok := fileTypes[mode.Type()]
	if !ok {
		what = fmt.Sprintf("of type %s", mode.Type())
	}
	return fmt.Errorf("is %s, not a regular file", what)
}

// decode returns the day in raw, a file that should hold date.
func (s *Store) decode(raw []byte, date billing.Date) (Day, error) {
	var f file
	if err := json.Unmarshal(raw, &f); err != nil {
		return Day{}, fmt.Errorf("not a day file (truncated or corrupt): %w", err)
	}
	if sum := sha256.Sum256(f.Entry); hex.EncodeToString(sum[:]) != f.SHA256 {
		return Day{}, errors.New("checksum mismatch (corrupt)")
	}
	var e entry
	if err := json.Unmarshal(f.Entry, &e); err != nil {
		return Day{}, fmt.Errorf("corrupt entry: %w", err)
	}
	switch {
	case e.Format > FormatVersion:
		return Day{}, fmt.Errorf("format version %d is newer than this exporter's %d", e.Format, FormatVersion)
	case e.Format != FormatVersion:
		return Day{}, fmt.Errorf("format version %d is not this exporter's %d", e.Format, FormatVersion)
	case e.APIURL != s.id.APIURL:
		return Day{}, fmt.Errorf("%w: another API URL (%s)", ErrOtherIdentity, e.APIURL)
	case e.TimeZone != s.id.TimeZone || !slices.Equal(e.Filters, s.id.Filters):
		return Day{}, fmt.Errorf("%w: other filters or time zone (filters %q, time zone %s)",
			ErrOtherIdentity, e.Filters, e.TimeZone)
	case e.Day.Date != date.String():
		return Day{}, fmt.Errorf("holds day %q", e.Day.Date)
	}
	return fromFile(e.Day, date), nil
}

// Save writes day atomically: a crash or a full disk leaves the previous
// file or none, never a partial one. A day larger than Load reads is not
// written: the error wraps ErrTooLarge.
func (s *Store) Save(day Day) error {
	e, err := json.Marshal(entry{Format: FormatVersion, Identity: s.id, Day: toFile(day)})
	if err != nil {
		return fmt.Errorf("store: encoding %s: %w", day.Date, err)
	}
	data := seal(e)
	if int64(len(data)) > s.maxSize {
		return fmt.Errorf("store: day %s: %w: %d bytes, over the %d-byte limit", day.Date, ErrTooLarge, len(data), s.maxSize)
	}
	path := s.path(day.Date.String())
	err = s.writeFile(path, data)
	if errors.Is(err, fs.ErrNotExist) {
		// The directory went away under the running exporter (a cleanup, a
		// volume remounted): recreated only then, at no cost to other Saves.
		if err = os.MkdirAll(filepath.Join(s.dir, tmpDir), 0o700); err == nil {
			err = s.writeFile(path, data)
		}
	}
	if err != nil {
		return fmt.Errorf("store: writing %s: %w", path, err)
	}
	return nil
}

// writeAtomic replaces path with data through a synced temporary file in
// tmpDir beside it. The file is 0600 whatever the umask and whatever the
// mode of the file it replaces: renameio.WriteFile would keep that mode, so
// a file once made unreadable would be rewritten unreadable forever.
func writeAtomic(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), tmpDir)
	f, err := renameio.NewPendingFile(path, renameio.WithTempDir(tmp), renameio.WithStaticPermissions(0o600))
	if err != nil {
		return err
	}
	defer func() { _ = f.Cleanup() }() // after a successful replace, a no-op
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.CloseAtomicallyReplace()
}

// seal wraps an entry's bytes with their checksum.
func seal(entry []byte) []byte {
	sum := sha256.Sum256(entry)
	// Marshalling a string and bytes that are valid JSON cannot fail.
	data, _ := json.Marshal(file{SHA256: hex.EncodeToString(sum[:]), Entry: entry})
	return data
}

// Prune removes the day files of days before keepFrom, so that disk use
// follows one month, not the exporter's lifetime. Files that are not day
// files are left alone.
func (s *Store) Prune(keepFrom billing.Date) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if date, err := billing.ParseDate(name); !ok || err != nil || !date.Before(keepFrom) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: pruning: %w", err)
	}
	return nil
}

// tmpDir is the subdirectory of a store directory where Save writes its
// temporary files: the store owns everything in it, whatever the names.
const tmpDir = "tmp"

// temporaryMaxAge is the age beyond which a temporary file is taken for
// one a crash left behind. A younger one may be another process's Save in
// progress (the exporter and a backfill share a directory): left alone.
const temporaryMaxAge = time.Hour

// removeTemporaries deletes what a crash during Save may have left: every
// file in tmpDir old enough not to be a Save in progress.
func (s *Store) removeTemporaries() {
	tmp := filepath.Join(s.dir, tmpDir)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && time.Since(info.ModTime()) > temporaryMaxAge {
			_ = os.Remove(filepath.Join(tmp, e.Name()))
		}
	}
}
