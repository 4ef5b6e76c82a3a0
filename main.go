// Command fptcloud_exporter exposes FPT Cloud spend as Prometheus metrics.
//
// It reads the day's bills from FPT Cloud's billing API in the background,
// once per refresh interval, and serves the cached sums to every scrape.
// This package only wires: internal/config resolves the command line,
// internal/check and internal/backfill are the other commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // the billing time zone must load in a bare container

	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/backfill"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/check"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

const (
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
	return run(ctx, os.Getenv, os.Args[1:], os.Stdout, os.Stderr)
}

// exitWhenStuck ends the process timeout after ctx is done if it is still
// running then: an exit must never wait on something that does not honour
// the context, such as a read blocked in the kernel.
func exitWhenStuck(ctx context.Context, timeout time.Duration, stderr io.Writer) {
	<-ctx.Done()
	time.Sleep(timeout)
	fmt.Fprintf(stderr, "%s: still running %s after the signal to stop: exiting\n", config.Name, timeout)
	os.Exit(1)
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
