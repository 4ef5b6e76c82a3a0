// Command fptcloud_exporter exposes FPT Cloud spend as Prometheus metrics.
//
// It reads the day's bills from FPT Cloud's billing API in the background,
// once per refresh interval, and serves the cached sums to every scrape.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // the billing time zone must load in a bare container

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	slgokit "github.com/tjhop/slog-gokit"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/collector/store"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi/fptapitest"
)

const (
	exporterName = "fptcloud_exporter"
	// defaultAddress is above 9100-9999, the exporters' range in Prometheus'
	// default port allocations, which is full.
	defaultAddress = ":10117"
	tokenEnv       = "FPTCLOUD_TOKEN"
	// shutdownGrace is how long in-flight scrapes may take after SIGTERM.
	shutdownGrace = 10 * time.Second
	// refreshStopWait is how long the exit waits for a cancelled refresh.
	refreshStopWait = 2 * time.Second
	// stopTimeout bounds the whole exit after SIGTERM, whatever the
	// process is doing (a read blocked on a hung volume, say): the grace
	// period and a margin, well inside Kubernetes' default 30 seconds.
	stopTimeout = shutdownGrace + 5*time.Second
)

func main() {
	setVersionFromBuildInfo()
	os.Exit(runUntilSignal())
}

// setVersionFromBuildInfo fills in the version when the binary was not built
// with -ldflags (go install, go run), so that build_info, the User-Agent and
// --version never show an empty version.
func setVersionFromBuildInfo() {
	if version.Version != "" {
		return
	}
	version.Version = "dev"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		version.Version = strings.TrimPrefix(info.Main.Version, "v")
	}
}

// runUntilSignal runs the exporter until SIGINT or SIGTERM.
func runUntilSignal() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go exitWhenStuck(ctx, stopTimeout, os.Stderr)
	return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// exitWhenStuck ends the process timeout after ctx is done if it is still
// running then: an exit must never wait on something that does not honour
// the context, such as a read blocked in the kernel.
func exitWhenStuck(ctx context.Context, timeout time.Duration, stderr io.Writer) {
	<-ctx.Done()
	time.Sleep(timeout)
	fmt.Fprintf(stderr, "%s: still running %s after the signal to stop: exiting\n", exporterName, timeout)
	os.Exit(1)
}

// flags holds every command-line setting, as kingpin parsed it.
type flags struct {
	web         *web.FlagConfig
	metricsPath *string
	maxRequests *int
	enablePprof *bool
	log         promslog.Config

	apiURL        *string
	tokenFile     *string
	timezone      *string
	pageSize      *int
	timeout       *time.Duration
	rateLimit     *float64
	rateLimitSet  bool
	serviceTypes  *[]string
	billingGroups *[]string
	billingConfig *[]string

	refreshInterval *time.Duration
	maxAge          *time.Duration
	maxAgeSet       bool
	maxSeries       *int
	topResources    *int
	previousMonth   *bool
	maxResources    *int

	storagePath    *string
	storagePathSet bool

	dailyBudget         *string
	monthlyBudget       *string
	groupDailyBudgets   *[]string
	groupMonthlyBudgets *[]string

	demo *bool

	// The commands' own flags.
	checkOutput *string
	backfill    *backfillFlags
}

// Commands. The exporter is the default, so command lines without one keep
// working.
const (
	commandServe = "serve"
	commandCheck = "check"
)

func newApp() (*kingpin.Application, *flags) {
	app := kingpin.New(exporterName, "Prometheus exporter for FPT Cloud spend, read from FPT Cloud's billing API.")
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	f := &flags{}

	f.web = kingpinflag.AddFlags(app, defaultAddress)
	f.metricsPath = app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	f.maxRequests = app.Flag("web.max-requests", "Maximum number of concurrent scrapes; 0 means no limit.").Default("40").Int()
	f.enablePprof = app.Flag("web.enable-pprof", "Serve Go profiling data under /debug/pprof/ (and link it from the landing page).").Bool()

	f.apiURL = app.Flag("fpt.api-url", "Base URL of FPT Cloud's Console API (the Japan region: https://console-api.fptcloud.jp/api).").Default(fptapi.DefaultBaseURL).String()
	f.tokenFile = app.Flag("fpt.token-file", "File holding the FPT Cloud API token, read at start and again before every API request, so a rotated token needs no restart. Without it the token comes from $"+tokenEnv+".").PlaceHolder("PATH").String()
	f.timezone = app.Flag("fpt.timezone", "IANA time zone of FPT Cloud's billing days and months.").Default(billingTimezone).String()
	f.pageSize = app.Flag("fpt.page-size", fmt.Sprintf("Bill rows per API request (1-%d). FPT Cloud documents 100 and not its maximum: a server that silently returned fewer rows than asked would end paging early.", fptapi.MaxPageSize)).Default("100").Int()
	f.timeout = app.Flag("fpt.timeout", "Timeout of one API request, including reading its body.").Default("30s").Duration()
	f.rateLimit = app.Flag("fpt.rate-limit", "Maximum API requests per second (demo mode: unlimited unless set).").Default("5").IsSetByUser(&f.rateLimitSet).Float64()
	f.serviceTypes = app.Flag("fpt.service-type", "Only bills of this service type (API filter service_type). Repeatable; none means all.").PlaceHolder("TYPE").Strings()
	f.billingGroups = app.Flag("fpt.billing-group", "Only bills of this billing group (API filter billing_group_name). Repeatable; none means all.").PlaceHolder("GROUP").Strings()
	f.billingConfig = app.Flag("fpt.billing-config", "Only bills of this billing config (API filter billing_config_name). Repeatable; none means all.").PlaceHolder("CONFIG").Strings()

	f.refreshInterval = app.Flag("collector.refresh-interval", "How often bills are fetched from the API (1s-24h); scrapes are served from the cache in between.").Default("15m").Duration()
	// No kingpin default: the real one follows the refresh interval, and
	// --help must not show a second, fixed one.
	f.maxAge = app.Flag("collector.max-age", "Billing series disappear when the last successful refresh is older than this. Default: "+collector.DefaultMaxAge.String()+" or 3 refresh intervals, whichever is longer.").PlaceHolder("DURATION").IsSetByUser(&f.maxAgeSet).Duration()
	f.maxSeries = app.Flag("collector.max-series", "Label sets per billing metric; the cheapest beyond it are folded into one series labelled __other__.").Default("10000").Int()

	f.topResources = app.Flag("collector.top-resources", "How many of the month's most expensive resources (by infra_id, or name without it) get series of their own; 0 turns them off.").Default(strconv.Itoa(collector.DefaultTopResources)).Int()
	f.maxResources = app.Flag("collector.max-resources", "Distinct resources ranked per day and per month at most, which bounds the memory of --collector.top-resources; the rows of others are counted in fptcloud_exporter_untracked_resource_rows.").Default(strconv.Itoa(collector.DefaultMaxResources)).Int()
	f.previousMonth = app.Flag("collector.previous-month", "Read the previous billing month once, after the current one, and serve its total as fptcloud_billing_previous_month_cost_vnd (--no-collector.previous-month: not read).").Default("true").Bool()
	f.storagePath = app.Flag("storage.path", "Directory of the month cache: the sums of closed billing days, kept so that a restart reads only today from the API. Created (mode 0700) if missing; if it cannot be used, the exporter warns and keeps them in memory. Empty: memory only (the default in --demo).").Default("data/").IsSetByUser(&f.storagePathSet).String()

	f.dailyBudget = app.Flag("budget.daily-vnd", "Daily budget for all spend, in VND; exposed as fptcloud_budget_daily_vnd.").PlaceHolder("AMOUNT").String()
	f.monthlyBudget = app.Flag("budget.monthly-vnd", "Monthly budget for all spend, in VND; exposed as fptcloud_budget_monthly_vnd.").PlaceHolder("AMOUNT").String()
	f.groupDailyBudgets = app.Flag("budget.billing-group-daily-vnd", "Daily budget of one billing group, as GROUP=AMOUNT in VND. Repeatable.").PlaceHolder("GROUP=AMOUNT").Strings()
	f.groupMonthlyBudgets = app.Flag("budget.billing-group-monthly-vnd", "Monthly budget of one billing group, as GROUP=AMOUNT in VND. Repeatable.").PlaceHolder("GROUP=AMOUNT").Strings()

	f.demo = app.Flag("demo", "Serve simulated data from a built-in fake FPT Cloud API; needs no token.").Bool()
	promslogflag.AddFlags(app, &f.log)

	app.Command(commandServe, "Run the exporter (the default command).").Default()
	check := app.Command(commandCheck, fmt.Sprintf("Check the settings against the API: read the token, today's first %d pages of bills and the billing groups, print a summary, exit 0 when a deployment would work.", checkMaxBillsRequests))
	f.checkOutput = check.Flag("output", "Output format: text or json.").Default("text").Enum("text", "json")
	f.backfill = addBackfillCommand(app)
	return app, f
}

// settings are the validated flags, ready to wire.
type settings struct {
	apiURL      string
	rateLimit   float64
	pageSize    int
	timeout     time.Duration
	location    *time.Location
	filters     []fptapi.Filter
	budgets     collector.Budgets
	maxAge      time.Duration // 0: the collector's default, which follows the refresh interval
	token       func() (string, error)
	tokenSource string // where the token comes from, for the start-up log and check
	warnings    []string
}

// validate checks every flag value and finds the token; each error is one
// line that names the flag.
func (f *flags) validate(getenv func(string) string) (*settings, error) {
	s := &settings{apiURL: *f.apiURL, rateLimit: *f.rateLimit, pageSize: *f.pageSize, timeout: *f.timeout}
	var err error
	if err := checkAPIURL(*f.apiURL); err != nil {
		return nil, err
	}
	if s.location, err = parseTimezone(*f.timezone); err != nil {
		return nil, err
	}
	for _, w := range []string{timezoneWarning(s.location, time.Now()), apiURLWarning(*f.apiURL)} {
		if w != "" {
			s.warnings = append(s.warnings, w)
		}
	}
	if *f.pageSize < 1 || *f.pageSize > fptapi.MaxPageSize {
		return nil, fmt.Errorf("--fpt.page-size: %d is outside 1-%d", *f.pageSize, fptapi.MaxPageSize)
	}
	if *f.timeout <= 0 {
		return nil, fmt.Errorf("--fpt.timeout: %s must be positive", *f.timeout)
	}
	if !(*f.rateLimit >= minRateLimit) || math.IsInf(*f.rateLimit, 0) {
		return nil, fmt.Errorf("--fpt.rate-limit: %v is not a number of requests per second of at least %v", *f.rateLimit, minRateLimit)
	}
	if *f.refreshInterval < minRefreshInterval || *f.refreshInterval > maxRefreshInterval {
		return nil, fmt.Errorf("--collector.refresh-interval: %s is outside %s-%s", *f.refreshInterval, minRefreshInterval, maxRefreshInterval)
	}
	if f.maxAgeSet {
		if *f.maxAge < *f.refreshInterval {
			return nil, fmt.Errorf("--collector.max-age: %s is shorter than --collector.refresh-interval (%s): series would vanish between refreshes", *f.maxAge, *f.refreshInterval)
		}
		s.maxAge = *f.maxAge
	}
	if *f.maxSeries < 1 {
		return nil, fmt.Errorf("--collector.max-series: %d must be at least 1", *f.maxSeries)
	}
	if *f.topResources < 0 {
		return nil, fmt.Errorf("--collector.top-resources: %d must not be negative (0 turns them off)", *f.topResources)
	}
	if *f.maxResources < 1 {
		return nil, fmt.Errorf("--collector.max-resources: %d must be at least 1", *f.maxResources)
	}
	if *f.maxRequests < 0 {
		return nil, fmt.Errorf("--web.max-requests: %d must not be negative", *f.maxRequests)
	}
	if err := checkTelemetryPath(*f.metricsPath); err != nil {
		return nil, err
	}
	if !*f.web.WebSystemdSocket {
		for _, addr := range *f.web.WebListenAddresses {
			if err := checkListenAddress(addr); err != nil {
				return nil, fmt.Errorf("--web.listen-address: %w", err)
			}
		}
	}
	if err := web.Validate(*f.web.WebConfigFile); err != nil {
		return nil, fmt.Errorf("--web.config.file: %w", err)
	}
	if s.filters, err = buildFilters(*f.serviceTypes, *f.billingGroups, *f.billingConfig); err != nil {
		return nil, err
	}
	if s.budgets, err = f.parseBudgets(); err != nil {
		return nil, err
	}
	if *f.demo {
		return s, nil
	}

	switch {
	case *f.tokenFile != "":
		tf, err := newTokenFile(*f.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--fpt.token-file: %w", err)
		}
		s.token = tf.Token
		s.tokenSource = "file " + *f.tokenFile
		if getenv(tokenEnv) != "" {
			s.warnings = append(s.warnings, fmt.Sprintf("both --fpt.token-file and $%s are set: the token comes from the file", tokenEnv))
		}
	case getenv(tokenEnv) != "":
		token, err := fptapi.CleanToken(getenv(tokenEnv))
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", tokenEnv, err)
		}
		s.token = func() (string, error) { return token, nil }
		s.tokenSource = "environment $" + tokenEnv
	default:
		return nil, fmt.Errorf("no FPT Cloud API token: put it in a file and pass --fpt.token-file=PATH, or set $%s (or run with --demo to try simulated data)", tokenEnv)
	}
	return s, nil
}

func (f *flags) parseBudgets() (collector.Budgets, error) {
	var b collector.Budgets
	var err error
	if *f.dailyBudget != "" {
		if b.Daily, err = parseVND(*f.dailyBudget); err != nil {
			return b, fmt.Errorf("--budget.daily-vnd: %w", err)
		}
	}
	if *f.monthlyBudget != "" {
		if b.Monthly, err = parseVND(*f.monthlyBudget); err != nil {
			return b, fmt.Errorf("--budget.monthly-vnd: %w", err)
		}
	}
	if b.GroupDaily, err = parseGroupBudgets("budget.billing-group-daily-vnd", *f.groupDailyBudgets); err != nil {
		return b, err
	}
	if b.GroupMonthly, err = parseGroupBudgets("budget.billing-group-monthly-vnd", *f.groupMonthlyBudgets); err != nil {
		return b, err
	}
	return b, nil
}

// run is main without the process: it returns the exit code, so tests can
// drive the real start-up path and stop it by cancelling ctx.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// SIGHUP is caught before anything else: its default action ends the
	// process, and a service manager's reload may come at any time. One
	// before the refresher runs is kept for it (a refresh at once).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	app, f := newApp()
	command, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, nameTheFlag(app, args, err))
		return 2
	}
	s, err := f.validate(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 2
	}
	switch command {
	case commandCheck:
		return runCheck(ctx, f, s, stdout, stderr)
	case commandBackfill:
		return runBackfill(ctx, f, s, stdout, stderr)
	}
	unlock, err := lockStore(f)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 2
	}
	defer unlock()
	logger, slogger := newLogger(stderr, &f.log)
	if err := serve(ctx, hup, f, s, logger, slogger); err != nil {
		level.Error(logger).Log("msg", "exporter failed", "err", err)
		return 1
	}
	level.Info(logger).Log("msg", "stopped")
	return 0
}

// nameTheFlag adds the flag's name to an error from parsing its value
// (kingpin says only `time: invalid duration "abc"`), by setting each given
// value again until one fails. Other errors are returned as they are.
func nameTheFlag(app *kingpin.Application, args []string, err error) error {
	ctx, ctxErr := app.ParseContext(args)
	if ctxErr != nil || ctx == nil {
		return err
	}
	for _, el := range ctx.Elements {
		flag, ok := el.Clause.(*kingpin.FlagClause)
		if !ok || el.Value == nil {
			continue
		}
		if setErr := flag.Model().Value.Set(*el.Value); setErr != nil {
			return fmt.Errorf("--%s: %w", flag.Model().Name, setErr)
		}
	}
	return err
}

// newLogger builds the project's go-kit logger and, for exporter-toolkit, an
// slog logger that writes through it.
func newLogger(w io.Writer, cfg *promslog.Config) (log.Logger, *slog.Logger) {
	var logger log.Logger
	if cfg.Format.String() == "json" {
		logger = log.NewJSONLogger(log.NewSyncWriter(w))
	} else {
		logger = log.NewLogfmtLogger(log.NewSyncWriter(w))
	}
	allow := map[string]level.Option{
		"debug": level.AllowDebug(),
		"warn":  level.AllowWarn(),
		"error": level.AllowError(),
	}[cfg.Level.String()]
	if allow == nil {
		allow = level.AllowInfo()
	}
	logger = level.NewFilter(logger, allow)
	// slog-gokit adds its own caller and time: it gets the logger without
	// ours, and its time becomes our ts, so that every line has the same keys.
	toolkit := log.LoggerFunc(func(keyvals ...any) error {
		for i := 0; i+1 < len(keyvals); i += 2 {
			if t, ok := keyvals[i+1].(time.Time); ok && keyvals[i] == slog.TimeKey {
				keyvals[i], keyvals[i+1] = "ts", t.UTC().Format(time.RFC3339Nano)
				break
			}
		}
		return logger.Log(keyvals...)
	})
	slogger := slog.New(slgokit.NewGoKitHandler(toolkit, cfg.Level))
	return log.With(logger, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller), slogger
}

// demoAPIConfig is the fake API that --demo serves from: a month of a
// mid-sized account.
func demoAPIConfig(loc *time.Location) fptapitest.Config {
	return fptapitest.Config{RowsPerDay: 2000, LabelSets: 150, Location: loc}
}

// serve wires the API client, the refresher and the web server, and runs
// until ctx is cancelled.
func serve(ctx context.Context, hup <-chan os.Signal, f *flags, s *settings, logger log.Logger, slogger *slog.Logger) error {
	level.Info(logger).Log("msg", "starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())

	if *f.demo {
		stopDemo, err := startDemoAPI(s, f.rateLimitSet)
		if err != nil {
			return err
		}
		defer stopDemo()
		level.Warn(logger).Log("msg", "demo mode: serving SIMULATED billing data from a built-in fake FPT Cloud API, not your account", "fake_api", s.apiURL)
	} else {
		level.Info(logger).Log("msg", "API token", "source", s.tokenSource)
	}
	for _, w := range s.warnings {
		level.Warn(logger).Log("msg", w)
	}
	if u, err := url.Parse(s.apiURL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		level.Warn(logger).Log("msg", "--fpt.api-url is plain http: the API token is sent unencrypted", "api_url", s.apiURL)
	}

	requests := collector.NewAPIRequestCounter()
	client, err := newAPIClient(s, fptapi.WithObserver(requests.Observe))
	if err != nil {
		return err
	}
	monthCache, storeUnusable := openStore(f, s, logger)
	refresher, err := collector.NewRefresher(collector.Config{
		Source:          client,
		Location:        s.location,
		Filters:         s.filters,
		RefreshInterval: *f.refreshInterval,
		MaxAge:          s.maxAge,
		MaxSeries:       *f.maxSeries,
		TopResources:    *f.topResources,
		PreviousMonth:   *f.previousMonth,
		MaxResources:    *f.maxResources,
		Budgets:         s.budgets,
		Store:           monthCache,
		StoreUnusable:   storeUnusable,
		Logger:          logger,
	})
	if err != nil {
		return fmt.Errorf("creating refresher: %w", err)
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collector.New(refresher, requests),
		versioncollector.NewCollector(exporterName, versioncollector.WithExtraConstLabels(prometheus.Labels{"builddate": version.BuildDate})),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	handler, err := newHandler(f, registry, refresher, slogger)
	if err != nil {
		return err
	}

	stopReload := reloadOnSIGHUP(ctx, hup, refresher, logger)
	defer stopReload()

	refreshCtx, stopRefresh := context.WithCancel(ctx)
	refreshDone := make(chan struct{})
	go func() {
		defer close(refreshDone)
		refresher.Run(refreshCtx)
	}()
	defer func() {
		stopRefresh()
		// A refresh stops at its next request; one stuck in the kernel
		// (a hung volume) must not hold the exit.
		select {
		case <-refreshDone:
		case <-time.After(refreshStopWait):
			level.Warn(logger).Log("msg", "the refresh did not stop in time: exiting without it", "waited", refreshStopWait)
		}
	}()

	return listenAndServe(ctx, handler, f.web, shutdownGrace, logger, slogger)
}

// openStore opens the month cache named by --storage.path, or returns nil
// (memory only) when it is empty, in demo mode unless asked for, or
// unusable: a read-only volume must not stop the exporter, which then
// works as it would without the flag. unusable tells the last case apart,
// for the metric that lets an alert see it.
func openStore(f *flags, s *settings, logger log.Logger) (st collector.DayStore, unusable bool) {
	dir := storeDir(f)
	if dir == "" {
		return nil, false
	}
	filters := make([]string, 0, len(s.filters))
	for _, q := range s.filters {
		filters = append(filters, q.String())
	}
	apiURL := s.apiURL
	if *f.demo {
		// The demo's fake listens on a new port at every start: its data,
		// not its address, is what the stored days depend on.
		apiURL = "demo"
	}
	opened, err := store.Open(dir, store.Identity{APIURL: apiURL, Filters: filters, TimeZone: storeTimeZone(s.location, time.Now())})
	if err != nil {
		level.Warn(logger).Log("msg", "cannot use --storage.path: closed days are kept in memory only, and a restart reads the month again", "err", err)
		return nil, true
	}
	level.Info(logger).Log("msg", "month cache on disk", "path", dir)
	return opened, false
}

// storeDir is the month cache's directory, or "" when there is none:
// --storage.path empty, or the demo without it.
func storeDir(f *flags) string {
	if *f.demo && !f.storagePathSet {
		return ""
	}
	return *f.storagePath
}

// lockStore takes the month cache's lock until unlock is called: two
// exporters on one directory would overwrite each other's days. It fails
// only when another process holds the lock; without a store, or when the
// directory cannot be locked for another reason, there is nothing to
// unlock, and openStore says what is wrong with the directory.
func lockStore(f *flags) (unlock func(), err error) {
	dir := storeDir(f)
	if dir == "" {
		return func() {}, nil
	}
	lock, err := store.Lock(dir)
	switch {
	case errors.Is(err, store.ErrLocked):
		return nil, fmt.Errorf("--storage.path: %w", err)
	case err != nil:
		return func() {}, nil
	}
	return func() { _ = lock.Unlock() }, nil
}

// checkListenAddress refuses, before anything starts, an address the web
// server could not listen on for its form alone: no port, or a port out of
// range. vsock:// addresses are the toolkit's to check.
func checkListenAddress(addr string) error {
	if strings.HasPrefix(addr, "vsock://") {
		return nil
	}
	example := fmt.Sprintf(`write HOST:PORT, such as ":%[1]s" (every interface) or "127.0.0.1:%[1]s"`, strings.TrimPrefix(defaultAddress, ":"))
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not an address to listen on: %s", addr, example)
	}
	if _, err := net.DefaultResolver.LookupPort(context.Background(), "tcp", port); err != nil || port == "" {
		return fmt.Errorf("%q has no valid port (0-65535): %s", addr, example)
	}
	return nil
}

// reloadOnSIGHUP makes SIGHUP, which service managers send to "reload",
// refresh today's bills at once instead of killing the process: useful
// after a token rotation. The returned function stops listening.
func reloadOnSIGHUP(ctx context.Context, hup <-chan os.Signal, r *collector.Refresher, logger log.Logger) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-stop:
				return
			case <-hup:
				level.Info(logger).Log("msg", "SIGHUP: refreshing today's bills now")
				r.Trigger()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}

// startDemoAPI points s at a built-in fake API with simulated data, and
// returns the function that stops it.
func startDemoAPI(s *settings, rateLimitSet bool) (stop func(), err error) {
	fake, err := fptapitest.Listen(demoAPIConfig(s.location))
	if err != nil {
		return nil, fmt.Errorf("starting the demo's fake API: %w", err)
	}
	s.apiURL = fake.URL
	token := fptapitest.DefaultToken
	s.token = func() (string, error) { return token, nil }
	s.tokenSource = "the demo's fake API"
	if !rateLimitSet {
		s.rateLimit = math.Inf(1) // the fake is in-process: no reason to wait
	}
	return fake.Close, nil
}

// newAPIClient builds the API client from the validated settings: the
// exporter and the check command talk to the API through the same client,
// so a check that passes says the exporter's requests will pass too.
func newAPIClient(s *settings, opts ...fptapi.Option) (*fptapi.Client, error) {
	client, err := fptapi.NewClient("", append([]fptapi.Option{
		fptapi.WithBaseURL(s.apiURL),
		fptapi.WithTokenFunc(s.token),
		fptapi.WithHTTPClient(&http.Client{Timeout: s.timeout}),
		fptapi.WithUserAgent(exporterName + "/" + version.Version),
		fptapi.WithRateLimit(s.rateLimit, rateBurst(s.rateLimit)),
		fptapi.WithPageSize(s.pageSize),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("creating API client: %w", err)
	}
	return client, nil
}

// listenAndServe serves handler until ctx is done (which also stops the
// refresher). Then it stops accepting connections and lets in-flight scrapes
// finish for up to grace; scrapes still running after that are cut off.
// Either way a shutdown asked for by ctx is a clean one: it returns nil.
func listenAndServe(ctx context.Context, handler http.Handler, flags *web.FlagConfig, grace time.Duration,
	logger log.Logger, slogger *slog.Logger) error {
	server := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// TLS handshake and connection errors go through the project's logger.
		ErrorLog: slog.NewLogLogger(slogger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ListenAndServe(server, flags, slogger) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("web server: %w", err)
	case <-ctx.Done():
	}
	level.Info(logger).Log("msg", "shutting down: letting in-flight scrapes finish", "grace", grace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		level.Warn(logger).Log("msg", "scrapes still running after the grace period were cut off", "err", err)
		_ = server.Close()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web server: %w", err)
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// rateBurst lets short bursts through (the first pages of a refresh) while
// holding the average to the limit.
func rateBurst(perSecond float64) int {
	if math.IsInf(perSecond, 1) {
		return 1
	}
	return max(1, int(math.Ceil(perSecond)))
}

// landingDescription says on the landing page, not only in the log, when
// the data are simulated.
func landingDescription(demo bool) string {
	if demo {
		return "Prometheus exporter for FPT Cloud spend. DEMO MODE: the data are simulated by a built-in fake API, not read from an FPT Cloud account."
	}
	return "Prometheus exporter for FPT Cloud spend"
}

// newHandler routes the landing page, metrics and health endpoints.
func newHandler(f *flags, registry *prometheus.Registry, refresher *collector.Refresher, slogger *slog.Logger) (http.Handler, error) {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(slogger.Handler(), slog.LevelError),
		MaxRequestsInFlight: *f.maxRequests,
		Registry:            registry, // counts its own errors in promhttp_metric_handler_errors_total
	})
	mux.Handle(*f.metricsPath, promhttp.InstrumentMetricHandler(registry, metrics))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !refresher.Ready() {
			http.Error(w, "Not ready: no successful refresh of the bills yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	// Profiles show the exporter's internals to whoever can reach the port:
	// off unless asked for, as in other exporters.
	profiling := "false"
	if *f.enablePprof {
		profiling = "true"
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if *f.metricsPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "FPT Cloud Exporter",
			Description: landingDescription(*f.demo),
			Version:     version.Info(),
			Profiling:   profiling,
			Links: []web.LandingLinks{
				{Address: *f.metricsPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health", Description: "200 while the exporter runs"},
				{Address: "/-/ready", Text: "Readiness", Description: "200 once a first refresh of the bills succeeded"},
			},
		})
		if err != nil {
			return nil, fmt.Errorf("creating landing page: %w", err)
		}
		mux.Handle("/", landing)
	}
	return mux, nil
}
