// Command fptcloud_exporter exposes FPT Cloud spend as Prometheus metrics.
//
// It reads the day's bills from FPT Cloud's billing API in the background,
// once per refresh interval, and serves the cached sums to every scrape.
// This package only wires: internal/config resolves the command line,
// internal/check and internal/backfill are the other commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata" // the billing time zone must load in a bare container

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	slgokit "github.com/tjhop/slog-gokit"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/backfill"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/check"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

const (
	// shutdownGrace is how long in-flight scrapes may take after SIGTERM.
	shutdownGrace = 10 * time.Second
	// refreshStopWait is how long the exit waits for a cancelled refresh.
	refreshStopWait = 2 * time.Second
	// stopTimeout bounds the whole exit after SIGTERM, whatever the process
	// is doing (a read blocked on a hung volume, say), well inside
	// Kubernetes' default 30 seconds.
	stopTimeout = shutdownGrace + 5*time.Second
)

func main() {
	setVersionFromBuildInfo()
	os.Exit(runUntilSignal())
}

// setVersionFromBuildInfo fills in the version of a binary built without
// -ldflags (go install, go run): build_info, the User-Agent and --version
// never show an empty one.
func setVersionFromBuildInfo() {
	if version.Version != "" {
		return
	}
	version.Version = "dev"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		version.Version = strings.TrimPrefix(info.Main.Version, "v")
	}
}

// runUntilSignal runs the exporter until SIGINT or SIGTERM, and ends the
// process stopTimeout after one if it still runs: an exit must never wait
// on something that does not honour the context, such as a read blocked in
// the kernel.
func runUntilSignal() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		time.Sleep(stopTimeout)
		fmt.Fprintf(os.Stderr, "%s: still running %s after the signal to stop: exiting\n", config.Name, stopTimeout)
		os.Exit(1)
	}()
	return run(ctx, os.Getenv, os.Args[1:], os.Stdout, os.Stderr)
}

// run is main without the process: it returns the exit code, so tests can
// drive the real start-up path with their own environment (getenv) and
// stop it by cancelling ctx.
func run(ctx context.Context, getenv func(string) string, args []string, stdout, stderr io.Writer) int {
	// SIGHUP is caught before anything else: its default action ends the
	// process, and a service manager's reload may come at any time. One
	// before the refresher runs is kept for it (a refresh at once).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	cfg, err := config.NewApp().Resolve(args, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", config.Name, err)
		return 2
	}
	switch cfg.Command {
	case config.CommandCheck:
		return check.Run(ctx, cfg, stdout, stderr)
	case config.CommandBackfill:
		logger, _ := newLogger(stderr, &cfg.Log)
		return backfill.Run(ctx, cfg, logger, stdout, stderr)
	}
	// A second exporter on one month cache exits 2 before it starts anything.
	locks := storeLocks{}
	defer locks.keep(nil)
	for _, src := range cfg.Sources {
		if err := locks.lock(src.Store); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", config.Name, err)
			return 2
		}
	}
	logger, slogger := newLogger(stderr, &cfg.Log)
	lc := lifecycle{enableLifecycle: cfg.Server.EnableLifecycle, locks: locks}
	if cfg.ConfigFile != "" {
		lc.reload = cfg.ReloadSources
	}
	if err := serve(ctx, hup, cfg, lc, logger, slogger); err != nil {
		level.Error(logger).Log("msg", "exporter failed", "err", err)
		return 1
	}
	level.Info(logger).Log("msg", "stopped")
	return 0
}

// lifecycle is what a running exporter may be asked to change.
type lifecycle struct {
	reload          func() ([]config.Source, error) // reads the accounts file again; nil without --config.file
	enableLifecycle bool                            // POST /-/reload is allowed (--web.enable-lifecycle), else 403
	locks           storeLocks                      // the month cache directories run has locked already
}

// serve wires one reader per source, the registry and the web server, and
// runs until ctx is cancelled.
func serve(ctx context.Context, hup <-chan os.Signal, cfg *config.Config, lc lifecycle, logger log.Logger, slogger *slog.Logger) error {
	level.Info(logger).Log("msg", "starting "+config.Name, "version", version.Info(), "build_context", version.BuildContext())
	if lc.locks == nil {
		lc.locks = storeLocks{}
	}
	rs := &readers{ctx: ctx, cfg: cfg, logger: logger, served: collector.NewAccounts(nil), locks: lc.locks}
	if err := rs.apply(cfg.Sources); err != nil {
		return err
	}
	defer rs.stop()

	registry := prometheus.NewRegistry()
	registry.MustRegister(
		rs.served,
		versioncollector.NewCollector(config.Name, versioncollector.WithExtraConstLabels(prometheus.Labels{"builddate": version.BuildDate})),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	rl := &reloader{reload: lc.reload, readers: rs, logger: logger}
	if lc.reload != nil {
		rl.status = collector.NewReloadStatus(time.Now())
		registry.MustRegister(rl.status)
	}
	handler, err := newHandler(cfg.Server, registry, rs.served, slogger)
	if err != nil {
		return err
	}
	handleReload(handler, rl, lc.enableLifecycle)

	// SIGHUP, which service managers send to "reload", reloads; the
	// readers stop only once no such reload runs.
	var sighup sync.WaitGroup
	defer sighup.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sighup.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = rl.do("SIGHUP") // logged and counted by do
			}
		}
	})
	return listenAndServe(ctx, handler, cfg.Server.Web, shutdownGrace, logger, slogger)
}

// newLogger builds the project's go-kit logger and, for exporter-toolkit, an
// slog logger that writes through it.
func newLogger(w io.Writer, cfg *promslog.Config) (log.Logger, *slog.Logger) {
	logger := log.NewLogfmtLogger(log.NewSyncWriter(w))
	if cfg.Format.String() == "json" {
		logger = log.NewJSONLogger(log.NewSyncWriter(w))
	}
	logger = level.NewFilter(logger, level.Allow(level.ParseDefault(cfg.Level.String(), level.InfoValue())))
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

// listenAndServe serves handler until ctx is done, then lets in-flight
// scrapes finish for up to grace and cuts off those still running. A
// shutdown asked for by ctx returns nil.
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

// newHandler routes the landing page, metrics and health endpoints.
func newHandler(s config.Server, registry *prometheus.Registry, accounts *collector.Accounts, slogger *slog.Logger) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(slogger.Handler(), slog.LevelError),
		MaxRequestsInFlight: s.MaxRequests,
		Registry:            registry, // counts its own errors in promhttp_metric_handler_errors_total
	})
	mux.Handle(s.TelemetryPath, promhttp.InstrumentMetricHandler(registry, metrics))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	// Once ready, the exporter stays so, as one account does after its
	// first success: an account added by a reload, still on its first
	// read, must not take the others' data off a Service's endpoints.
	var ready atomic.Bool
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() && !accounts.Ready() {
			http.Error(w, "Not ready: an account has not ended its first refresh of the bills, or none serves", http.StatusServiceUnavailable)
			return
		}
		ready.Store(true)
		fmt.Fprintln(w, "Ready")
	})
	// Profiles show the exporter's internals to whoever can reach the port:
	// off unless asked for, as in other exporters.
	profiling := "false"
	if s.EnablePprof {
		profiling = "true"
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if s.TelemetryPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "FPT Cloud Exporter",
			Description: s.Description,
			Version:     version.Info(),
			Profiling:   profiling,
			Links: []web.LandingLinks{
				{Address: s.TelemetryPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health", Description: "200 while the exporter runs"},
				{Address: "/-/ready", Text: "Readiness", Description: "200 once every account has served today or failed its first refresh, and one serves"},
			},
		})
		if err != nil {
			return nil, fmt.Errorf("creating landing page: %w", err)
		}
		mux.Handle("/", landing)
	}
	return mux, nil
}

// reloader applies a reload, asked for by SIGHUP or POST /-/reload.
type reloader struct {
	reload  func() ([]config.Source, error) // nil: no accounts file
	readers *readers
	status  *collector.ReloadStatus // nil: no accounts file
	logger  log.Logger
	mu      sync.Mutex // one reload at a time
}

// do reads the accounts file again and applies it; a file that fails to
// load changes nothing that runs. Without a file it refreshes today's
// bills at once, as SIGHUP always did: useful after a token rotation.
func (rl *reloader) do(why string) error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.reload == nil {
		level.Info(rl.logger).Log("msg", why+": refreshing today's bills now")
		rl.readers.trigger()
		return nil
	}
	sources, err := rl.reload()
	if err == nil {
		err = rl.readers.apply(sources)
	}
	if err != nil {
		rl.status.Failed()
		level.Error(rl.logger).Log("msg", why+": reloading the accounts file failed; nothing changed", "err", err)
		return err
	}
	rl.status.Succeeded(time.Now())
	level.Info(rl.logger).Log("msg", why+": accounts file reloaded", "accounts", len(sources))
	return nil
}

// handleReload routes /-/reload as Prometheus does: POST or PUT reloads
// with --web.enable-lifecycle and is refused with 403 without it, GET is
// 405.
func handleReload(mux *http.ServeMux, rl *reloader, enabled bool) {
	post := func(w http.ResponseWriter, _ *http.Request) {
		if !enabled {
			http.Error(w, "Lifecycle API is not enabled.", http.StatusForbidden)
			return
		}
		if err := rl.do("POST /-/reload"); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
		}
	}
	mux.HandleFunc("POST /-/reload", post)
	mux.HandleFunc("PUT /-/reload", post)
	mux.HandleFunc("GET /-/reload", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "Only POST or PUT requests allowed", http.StatusMethodNotAllowed)
	})
}
