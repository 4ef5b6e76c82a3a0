package config

import (
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// NewClient builds the source's API client: the exporter, check and
// backfill talk to the API through the same client, so a check that passes
// says the exporter's requests will pass too.
func (s *Source) NewClient(opts ...fptapi.Option) (*fptapi.Client, error) {
	client, err := fptapi.NewClient("", append([]fptapi.Option{
		fptapi.WithBaseURL(s.APIURL),
		fptapi.WithTokenFunc(s.Token),
		fptapi.WithHTTPClient(&http.Client{Timeout: s.Timeout}),
		fptapi.WithUserAgent(Name + "/" + version.Version),
		fptapi.WithRateLimit(s.RateLimit, rateBurst(s.RateLimit)),
		fptapi.WithPageSize(s.PageSize),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("creating API client: %w", err)
	}
	return client, nil
}

// rateBurst lets short bursts through (the first pages of a refresh) while
// holding the average to the limit.
func rateBurst(perSecond float64) int {
	if math.IsInf(perSecond, 1) {
		return 1
	}
	return max(1, int(math.Ceil(perSecond)))
}

// Open opens the month cache for identity id, or returns nil (memory only)
// when there is no Path or it is unusable: a read-only volume must not stop
// the exporter. unusable tells the last case apart, for an alert's metric.
func (s Store) Open(id store.Identity, logger log.Logger) (st collector.DayStore, unusable bool) {
	if s.Path == "" {
		return nil, false
	}
	opened, err := store.Open(s.Path, id)
	if err != nil {
		level.Warn(logger).Log("msg", "cannot use --storage.path: closed days are kept in memory only, and a restart reads the month again", "err", err)
		return nil, true
	}
	level.Info(logger).Log("msg", "month cache on disk", "path", s.Path)
	return opened, false
}

// Lock takes the month cache's lock until unlock is called: two exporters
// on one directory would overwrite each other's days. It fails only when
// another process holds the lock; any other problem is Open's to report.
func (s Store) Lock() (unlock func(), err error) {
	if s.Path == "" {
		return func() {}, nil
	}
	lock, err := store.Lock(s.Path)
	switch {
	case errors.Is(err, store.ErrLocked):
		return nil, fmt.Errorf("--storage.path: %w", err)
	case err != nil:
		return func() {}, nil
	}
	return func() { _ = lock.Unlock() }, nil
}
