package main

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

// reader is one account's running reader: its own client (and so its own
// rate limit), month cache, store and goroutine.
type reader struct {
	src       config.Source // as resolved, before the demo's fake is started: what a reload compares
	refresher *collector.Refresher
	requests  *collector.APIRequestCounter
	stopFake  func() // ends the demo's fake API of a simulated source
	cancel    context.CancelFunc
	done      chan struct{}
	logger    log.Logger
}

// readers runs one reader per source and hands their snapshots to the
// scrape. Readers share nothing but the process: one that is slow, failing
// or rejected never waits on, or is waited on by, another.
type readers struct {
	ctx    context.Context // the readers' parent: serve's
	cfg    *config.Config  // the process-wide settings: store, collector
	logger log.Logger
	served *collector.Accounts

	mu      sync.Mutex // one change of the accounts at a time
	running map[string]*reader
	locks   storeLocks // the month cache directories the running readers use
}

// storeLocks are the month cache directories this process holds, each
// locked once: flock is per open file, so a directory locked twice by one
// process would refuse itself.
type storeLocks map[string]func()

// lock takes s's directory unless it is held already.
func (l storeLocks) lock(s config.Store) error {
	if _, held := l[s.Path]; held || s.Path == "" {
		return nil
	}
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	l[s.Path] = unlock
	return nil
}

// keep releases every directory no reader in running uses: a removed
// account's, so that a backfill may then write it.
func (l storeLocks) keep(running map[string]*reader) {
	used := make(map[string]bool, len(running))
	for _, r := range running {
		used[r.src.Store.Path] = true
	}
	for dir, unlock := range l {
		if !used[dir] {
			unlock()
			delete(l, dir)
		}
	}
}

// apply makes the running readers those of sources: an added account
// starts reading, a removed one stops and is no longer served, a changed
// one starts again, and an unchanged one is not touched. When a source
// cannot be built, nothing changes and the error says which.
func (rs *readers) apply(sources []config.Source) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	next := make(map[string]*reader, len(sources))
	var built []*reader
	for i := range sources {
		src := &sources[i]
		if old, ok := rs.running[src.Name]; ok && sameSource(&old.src, src) {
			next[src.Name] = old
			continue
		}
		r, err := rs.build(src)
		if err != nil {
			for _, b := range built {
				b.stopFake()
			}
			rs.locks.keep(rs.running)
			if src.Name != "" {
				err = fmt.Errorf("account %s: %w", src.Name, err)
			}
			return err
		}
		built = append(built, r)
		next[src.Name] = r
	}
	list := make([]collector.Account, 0, len(next))
	for name, r := range next {
		list = append(list, collector.Account{Name: name, Source: r.refresher, Requests: r.requests})
	}
	var old []*reader
	for name, r := range rs.running {
		if next[name] != r {
			old = append(old, r)
		}
	}
	// Served first: a removed account's series are gone from the next
	// scrape on, whatever its reader is doing. The old reader of a changed
	// account stops before its new one reads, so that the two never write
	// the account's store at once.
	rs.served.Set(list)
	stopReaders(old)
	for _, r := range built {
		r.start(rs.ctx)
	}
	rs.running = next
	rs.locks.keep(next)
	return nil
}

// stop stops every reader.
func (rs *readers) stop() {
	_ = rs.apply(nil) // removing every account cannot fail
}

// trigger asks every reader for a read of today now.
func (rs *readers) trigger() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.running {
		r.refresher.Trigger()
	}
}

// build locks src's month cache and makes its reader without starting it,
// logging where the data and the token come from, and what looks wrong.
func (rs *readers) build(src *config.Source) (*reader, error) {
	if err := rs.locks.lock(src.Store); err != nil {
		return nil, err
	}
	logger := rs.logger
	if src.Name != "" {
		logger = log.With(logger, "account", src.Name)
	}
	r := &reader{src: *src, requests: collector.NewAccountAPIRequestCounter(src.Name), logger: logger}
	running := *src // the demo's fake sets its URL
	stop, err := running.StartSimulated()
	if err != nil {
		return nil, err
	}
	if running.Simulated != nil {
		level.Warn(logger).Log("msg", "demo mode: serving SIMULATED billing data from a built-in fake FPT Cloud API, not your account", "fake_api", running.APIURL)
	} else {
		level.Info(logger).Log("msg", "API token", "source", running.TokenSource)
	}
	for _, w := range running.Warnings {
		level.Warn(logger).Log("msg", w)
	}
	r.stopFake = stop
	if r.refresher, err = newRefresher(rs.cfg, &running, r.requests, logger); err != nil {
		stop()
		return nil, err
	}
	return r, nil
}

// start runs the reader in a goroutine of its own until stop.
func (r *reader) start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		r.refresher.Run(ctx)
	}()
}

// stopReaders cancels every reader at once, then waits for each, all of
// them together bounded by refreshStopWait: a read stuck in the kernel (a
// hung volume) must hold neither the exit nor a reload.
func stopReaders(rs []*reader) {
	for _, r := range rs {
		r.cancel()
	}
	deadline := time.NewTimer(refreshStopWait)
	defer deadline.Stop()
	for _, r := range rs {
		select {
		case <-r.done:
		case <-deadline.C:
			level.Warn(r.logger).Log("msg", "the refresh did not stop in time: going on without it", "waited", refreshStopWait)
		}
		r.stopFake()
	}
}

// newRefresher builds the source's API client, month cache and refresher.
func newRefresher(cfg *config.Config, src *config.Source, requests *collector.APIRequestCounter, logger log.Logger) (*collector.Refresher, error) {
	client, err := src.NewClient(fptapi.WithObserver(requests.Observe))
	if err != nil {
		return nil, err
	}
	monthCache, storeUnusable := src.Store.Open(src.Identity, logger)
	c := cfg.Collector
	refresher, err := collector.NewRefresher(collector.Config{
		Account:         src.Name,
		Source:          client,
		Location:        src.Location,
		Filters:         src.Filters,
		RefreshInterval: c.RefreshInterval,
		MaxAge:          c.MaxAge,
		MaxSeries:       c.MaxSeries,
		TopResources:    c.TopResources,
		PreviousMonth:   c.PreviousMonth,
		MaxResources:    c.MaxResources,
		Budgets:         src.Budgets,
		Store:           monthCache,
		StoreUnusable:   storeUnusable,
		Logger:          logger,
	})
	if err != nil {
		return nil, fmt.Errorf("creating refresher: %w", err)
	}
	return refresher, nil
}

// sameSource reports whether two resolutions of an account read the same:
// every field of Source equal, with three exceptions. The token's function
// is not compared (functions cannot be): TokenSource, where it comes
// from, is, and a token file is read again as it rotates. Time zones are
// compared by name, as a zone loaded twice is two values. An empty list or
// mapping is the same as none.
func sameSource(a, b *config.Source) bool {
	return sameValue(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem())
}

var locationType = reflect.TypeFor[*time.Location]()

// sameValue compares without Interface where it can, so that unexported
// fields are compared too.
func sameValue(a, b reflect.Value) bool {
	if a.Type() == locationType && a.CanInterface() {
		return a.Interface().(*time.Location).String() == b.Interface().(*time.Location).String()
	}
	switch a.Kind() {
	case reflect.Func:
		return true
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return a.Elem().Type() == b.Elem().Type() && sameValue(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array, reflect.Map:
		return sameElements(a, b)
	default:
		return a.Equal(b)
	}
}

func sameElements(a, b reflect.Value) bool {
	if a.Len() != b.Len() {
		return false
	}
	if a.Kind() == reflect.Map {
		for _, k := range a.MapKeys() {
			if v := b.MapIndex(k); !v.IsValid() || !sameValue(a.MapIndex(k), v) {
				return false
			}
		}
		return true
	}
	for i := range a.Len() {
		if !sameValue(a.Index(i), b.Index(i)) {
			return false
		}
	}
	return true
}
