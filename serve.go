package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"time"

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
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

// serve wires the API client, the refresher and the web server, and runs
// until ctx is cancelled.
func serve(ctx context.Context, hup <-chan os.Signal, cfg *config.Config, logger log.Logger, slogger *slog.Logger) error {
	level.Info(logger).Log("msg", "starting "+config.Name, "version", version.Info(), "build_context", version.BuildContext())
	if len(cfg.Sources) > 1 {
		// Each account needs its own reader and an account label on its
		// series; serving only the first would drop the others silently.
		return fmt.Errorf("--config.file=%s has %d accounts: serving several accounts is not wired yet", cfg.ConfigFile, len(cfg.Sources))
	}
	src := cfg.Sources[0]
	stop, err := startSource(&src, logger)
	if err != nil {
		return err
	}
	defer stop()

	requests := collector.NewAPIRequestCounter()
	refresher, err := newRefresher(cfg, &src, requests, logger)
	if err != nil {
		return err
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collector.New(refresher, requests),
		versioncollector.NewCollector(config.Name, versioncollector.WithExtraConstLabels(prometheus.Labels{"builddate": version.BuildDate})),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	handler, err := newHandler(cfg.Server, registry, refresher, slogger)
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

	return listenAndServe(ctx, handler, cfg.Server.Web, shutdownGrace, logger, slogger)
}

// startSource starts the demo's fake API for a simulated source, and logs
// where the data and the token come from, and what looks wrong.
func startSource(src *config.Source, logger log.Logger) (stop func(), err error) {
	if stop, err = src.StartSimulated(); err != nil {
		return nil, err
	}
	if src.Simulated != nil {
		level.Warn(logger).Log("msg", "demo mode: serving SIMULATED billing data from a built-in fake FPT Cloud API, not your account", "fake_api", src.APIURL)
	} else {
		level.Info(logger).Log("msg", "API token", "source", src.TokenSource)
	}
	for _, w := range src.Warnings {
		level.Warn(logger).Log("msg", w)
	}
	if u, err := url.Parse(src.APIURL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		level.Warn(logger).Log("msg", "--fpt.api-url is plain http: the API token is sent unencrypted", "api_url", src.APIURL)
	}
	return stop, nil
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

// newHandler routes the landing page, metrics and health endpoints.
func newHandler(s config.Server, registry *prometheus.Registry, refresher *collector.Refresher, slogger *slog.Logger) (http.Handler, error) {
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
