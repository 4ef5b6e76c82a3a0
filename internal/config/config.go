// Package config turns the command line into one validated Config: the
// bill sources, the web server, the month cache, the collector's bounds and
// the commands' own settings. A user's value is checked here, once, with an
// error that names the flag; everything after works from the Config alone.
package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

const (
	// Name is the program's name, in logs, errors and the User-Agent.
	Name = "fptcloud_exporter"
	// DefaultAddress is above 9100-9999, the exporters' range in
	// Prometheus' default port allocations, which is full.
	DefaultAddress = ":10117"
	// TokenEnv is the environment variable the token may come from.
	TokenEnv = "FPTCLOUD_TOKEN"
	// CheckMaxBillsRequests bounds the check command's bills requests, so
	// that it ends in seconds and its requests can be counted: enough rows
	// to see the data's shape, where the exporter reads every page.
	CheckMaxBillsRequests = 3
)

// Commands. serve is the default, so that command lines without one work.
const (
	CommandServe    = "serve"
	CommandCheck    = "check"
	CommandBackfill = "backfill"
)

// Config is the whole resolved command line.
type Config struct {
	Command string // CommandServe, CommandCheck or CommandBackfill
	// Sources are the accounts whose bills are read: the flags' one, or
	// those of the accounts file (only --account's, when given).
	Sources []Source
	// ConfigFile is --config.file, "" without one.
	ConfigFile string
	Server     Server
	Store      Store
	Collector  Collector
	Log        promslog.Config
	Check      Check
	Backfill   Backfill // set for CommandBackfill only

	// accounts re-reads the accounts file for ReloadSources; nil without one.
	accounts *accountDefaults
}

// Source is one account's bills: where and how they are read.
type Source struct {
	// Name is the account's name in the accounts file, its account label;
	// "" for the one account of the flags.
	Name        string
	APIURL      string
	Token       func() (string, error)
	TokenSource string // where the token comes from, for the start-up log and check
	Location    *time.Location
	Filters     []fptapi.Filter // nil: one unfiltered query
	Budgets     collector.Budgets
	RateLimit   float64 // requests per second; +Inf: unlimited
	PageSize    int
	Timeout     time.Duration
	// Identity is what the source's stored days depend on.
	Identity store.Identity
	// Store is the source's own month cache: --storage.path, or with the
	// accounts file its subdirectory named after the account.
	Store Store
	// Simulated is the fake API of --demo that StartSimulated serves.
	Simulated *fptapitest.Config
	// Warnings are about values that are valid but look wrong.
	Warnings []string
}

// Server is the web server's settings.
type Server struct {
	Web             *web.FlagConfig
	TelemetryPath   string
	MaxRequests     int // 0: no limit
	EnablePprof     bool
	EnableLifecycle bool   // serve POST /-/reload, which re-reads the accounts file
	Description     string // of the landing page
}

// Store is the month cache's place.
type Store struct {
	Path string // "": memory only
}

// Collector is the refresher's bounds.
type Collector struct {
	RefreshInterval time.Duration
	MaxAge          time.Duration // 0: the collector's default, which follows the refresh interval
	MaxSeries       int
	TopResources    int
	MaxResources    int
	PreviousMonth   bool
}

// Check is the check command's own setting.
type Check struct {
	Output string // "text" or "json"
}

// Backfill is the backfill command's own settings.
type Backfill struct {
	From, To billing.Date
	Output   string  // "-": standard output
	Labels   []Label // added to every series
}

// Label is one NAME=VALUE of --label.
type Label struct{ Name, Value string }

// Resolve parses args and validates every value, in the order the flags
// are listed, so that the first wrong one is the one reported; getenv reads
// the environment (the token may come from it). The error is one line that
// names the flag.
func (a *App) Resolve(args []string, getenv func(string) string) (*Config, error) {
	command, err := a.Parse(args)
	if err != nil {
		return nil, nameTheFlag(a.Application, args, err)
	}
	now := time.Now()
	cfg := a.cfg
	cfg.Command = command
	cfg.Server.Description = "Prometheus exporter for FPT Cloud spend"
	src, err := a.apiSettings()
	if err != nil {
		return nil, err
	}
	if err := a.checkCollector(cfg.Collector); err != nil {
		return nil, err
	}
	if err := checkServer(cfg.Server); err != nil {
		return nil, err
	}
	if a.demo {
		// The month cache is memory only unless --storage.path is given.
		if !a.storagePathSet {
			cfg.Store.Path = ""
		}
		cfg.Server.Description += ". DEMO MODE: the data are simulated by a built-in fake API, not read from an FPT Cloud account."
	}
	switch {
	case cfg.ConfigFile != "":
		err = a.fileSources(&cfg, command, src, getenv, now)
	case a.account != "":
		return nil, errors.New("--account needs --config.file: without it the flags describe one account")
	default:
		err = a.flagSource(&cfg, src, getenv, now)
	}
	if err != nil {
		return nil, err
	}
	if command == CommandBackfill {
		if err := a.backfillSettings(&cfg, now); err != nil {
			return nil, err
		}
	}
	return &cfg, nil
}

// flagSource resolves the one account of the flags.
func (a *App) flagSource(cfg *Config, src Source, getenv func(string) string, now time.Time) error {
	if slices.ContainsFunc(slices.Concat(a.serviceTypes, a.billingGroups, a.billingConfigs), isBlank) {
		return errors.New("--fpt.service-type, --fpt.billing-group and --fpt.billing-config values must not be empty")
	}
	src.warnAPI("--fpt.timezone", "--fpt.api-url", a.demo, now)
	src.Filters = buildFilters(a.serviceTypes, a.billingGroups, a.billingConfigs)
	var err error
	if src.Budgets, err = a.budgets(); err != nil {
		return err
	}
	if a.demo {
		simulate(&src, a.rateLimitSet, 0)
	} else if err := a.token(&src, getenv); err != nil {
		return err
	}
	src.Identity = identity(&src, now)
	src.Store = cfg.Store
	cfg.Sources = []Source{src}
	return nil
}

// apiSettings are how a source talks to the API.
func (a *App) apiSettings() (Source, error) {
	src := a.src
	if err := checkAPIURL(src.APIURL); err != nil {
		return src, fmt.Errorf("--fpt.api-url: %w", err)
	}
	var err error
	if src.Location, err = parseTimezone(a.timezone); err != nil {
		return src, fmt.Errorf("--fpt.timezone: %w", err)
	}
	switch {
	case src.PageSize < 1 || src.PageSize > fptapi.MaxPageSize:
		return src, fmt.Errorf("--fpt.page-size: %d is outside 1-%d", src.PageSize, fptapi.MaxPageSize)
	case src.Timeout <= 0:
		return src, fmt.Errorf("--fpt.timeout: %s must be positive", src.Timeout)
	}
	if err := checkRateLimit(src.RateLimit); err != nil {
		return src, fmt.Errorf("--fpt.rate-limit: %w", err)
	}
	return src, nil
}

// warnAPI adds the warnings about the source's zone and URL, under the
// flag or key each came from.
func (s *Source) warnAPI(zoneKey, urlKey string, demo bool, now time.Time) {
	s.warn(zoneWarning(zoneKey, s.Location, now), urlWarning(urlKey, s.APIURL))
	if !demo { // the demo sends no token to that URL
		s.warn(plainHTTPWarning(urlKey, s.APIURL))
	}
}

// warn adds the warnings that are not "".
func (s *Source) warn(warnings ...string) {
	for _, w := range warnings {
		if w != "" {
			s.Warnings = append(s.Warnings, w)
		}
	}
}

func (a *App) checkCollector(c Collector) error {
	switch {
	case c.RefreshInterval < minRefreshInterval || c.RefreshInterval > maxRefreshInterval:
		return fmt.Errorf("--collector.refresh-interval: %s is outside %s-%s", c.RefreshInterval, minRefreshInterval, maxRefreshInterval)
	case a.maxAgeSet && c.MaxAge < c.RefreshInterval:
		return fmt.Errorf("--collector.max-age: %s is shorter than --collector.refresh-interval (%s): series would vanish between refreshes", c.MaxAge, c.RefreshInterval)
	case c.MaxSeries < 1:
		return fmt.Errorf("--collector.max-series: %d must be at least 1", c.MaxSeries)
	case c.TopResources < 0:
		return fmt.Errorf("--collector.top-resources: %d must not be negative (0 turns them off)", c.TopResources)
	case c.MaxResources < 1:
		return fmt.Errorf("--collector.max-resources: %d must be at least 1", c.MaxResources)
	}
	return nil
}

func checkServer(s Server) error {
	if s.MaxRequests < 0 {
		return fmt.Errorf("--web.max-requests: %d must not be negative", s.MaxRequests)
	}
	if err := checkTelemetryPath(s.TelemetryPath); err != nil {
		return fmt.Errorf("--web.telemetry-path: %w", err)
	}
	if !*s.Web.WebSystemdSocket {
		for _, addr := range *s.Web.WebListenAddresses {
			if err := checkListenAddress(addr); err != nil {
				return fmt.Errorf("--web.listen-address: %w", err)
			}
		}
	}
	if err := web.Validate(*s.Web.WebConfigFile); err != nil {
		return fmt.Errorf("--web.config.file: %w", err)
	}
	return nil
}

func (a *App) budgets() (b collector.Budgets, err error) {
	b.Daily, err = parseAmount("--budget.daily-vnd", a.dailyBudget)
	if err == nil {
		b.Monthly, err = parseAmount("--budget.monthly-vnd", a.monthlyBudget)
	}
	if err == nil {
		b.GroupDaily, err = parseGroupBudgets("budget.billing-group-daily-vnd", a.groupDailyBudgets)
	}
	if err == nil {
		b.GroupMonthly, err = parseGroupBudgets("budget.billing-group-monthly-vnd", a.groupMonthlyBudgets)
	}
	return b, err
}

// token finds the source's token: the file wins over the environment.
func (a *App) token(src *Source, getenv func(string) string) error {
	switch {
	case a.tokenFile != "":
		if err := src.tokenFromFile(a.tokenFile); err != nil {
			return fmt.Errorf("--fpt.token-file: %w", err)
		}
		if getenv(TokenEnv) != "" {
			src.Warnings = append(src.Warnings, fmt.Sprintf("both --fpt.token-file and $%s are set: the token comes from the file", TokenEnv))
		}
		return nil
	case getenv(TokenEnv) != "":
		return src.tokenFromEnv(TokenEnv, getenv(TokenEnv))
	}
	return fmt.Errorf("no FPT Cloud API token: put it in a file and pass --fpt.token-file=PATH, or set $%s (or run with --demo to try simulated data)", TokenEnv)
}

// DemoAPI is the fake API that --demo serves from: a month of a mid-sized
// account, its days in loc.
func DemoAPI(loc *time.Location) fptapitest.Config {
	return fptapitest.Config{RowsPerDay: 2000, LabelSets: 150, Location: loc}
}

// simulate makes src read the built-in fake API, generated from seed, as
// fast as it answers unless a rate limit was set.
func simulate(src *Source, rateLimitSet bool, seed int64) {
	demo := DemoAPI(src.Location)
	demo.Seed = seed
	src.Simulated = &demo
	src.Token = func() (string, error) { return fptapitest.DefaultToken, nil }
	src.TokenSource = "the demo's fake API"
	if !rateLimitSet {
		src.RateLimit = math.Inf(1) // the fake is in-process: no reason to wait
	}
}

// identity is what the stored days of src depend on.
func identity(src *Source, now time.Time) store.Identity {
	filters := make([]string, 0, len(src.Filters))
	for _, q := range src.Filters {
		filters = append(filters, q.String())
	}
	apiURL := src.APIURL
	if src.Simulated != nil {
		// The demo's fake listens on a new port at every start: its data,
		// not its address, is what the stored days depend on.
		apiURL = "demo"
	}
	return store.Identity{APIURL: apiURL, Filters: filters, TimeZone: storeTimeZone(src.Location, now)}
}

// StartSimulated serves a simulated source from an in-process fake API and
// points the source at it; stop ends the fake. A real source is left alone.
func (s *Source) StartSimulated() (stop func(), err error) {
	if s.Simulated == nil {
		return func() {}, nil
	}
	fake, err := fptapitest.Listen(*s.Simulated)
	if err != nil {
		return nil, fmt.Errorf("starting the demo's fake API: %w", err)
	}
	s.APIURL = fake.URL
	return fake.Close, nil
}
