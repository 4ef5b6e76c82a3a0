package check

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
)

// AccountsReport is the check of the accounts of --config.file;
// --output=json prints it as is.
type AccountsReport struct {
	OK         bool            `json:"ok"` // every account checked would work
	ConfigFile string          `json:"config_file"`
	Accounts   []AccountReport `json:"accounts"`
	Failed     []string        `json:"failed"` // the names of those that would not, [] when none
}

// AccountReport is one account's check: its name and the report a check
// without --config.file prints.
type AccountReport struct {
	Name string `json:"name"`
	*Report
}

// runAccounts checks every account of the configuration, at once: one
// slow or unreachable API must not make the others wait.
func runAccounts(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) int {
	sources := append([]config.Source(nil), cfg.Sources...)
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	for i := range sources {
		stop, err := sources[i].StartSimulated()
		if err != nil {
			fmt.Fprintf(stderr, "%s: account %s: %v\n", config.Name, sources[i].Name, err)
			return 1
		}
		stops = append(stops, stop)
	}
	r := Accounts(ctx, cfg.ConfigFile, sources, time.Now())
	return output(cfg.Check.Output, r, r.OK, func() error { return WriteAccountsText(stdout, r) }, stdout, stderr)
}

// Accounts checks each source, concurrently, and sums up.
func Accounts(ctx context.Context, configFile string, sources []config.Source, now time.Time) *AccountsReport {
	r := &AccountsReport{ConfigFile: configFile, Accounts: make([]AccountReport, len(sources)), Failed: []string{}}
	var wg sync.WaitGroup
	for i := range sources {
		wg.Go(func() {
			r.Accounts[i] = AccountReport{Name: sources[i].Name, Report: Check(ctx, &sources[i], now)}
		})
	}
	wg.Wait()
	for _, a := range r.Accounts {
		if !a.OK {
			r.Failed = append(r.Failed, a.Name)
		}
	}
	r.OK = len(r.Failed) == 0
	return r
}

// WriteAccountsText prints one section per account, then a summary.
func WriteAccountsText(w io.Writer, r *AccountsReport) error {
	for _, a := range r.Accounts {
		if _, err := fmt.Fprintf(w, "=== account %s ===\n", a.Name); err != nil {
			return err
		}
		if err := WriteText(w, a.Report); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "summary of %s: %d of %d accounts would work\n", r.ConfigFile, len(r.Accounts)-len(r.Failed), len(r.Accounts))
	for _, a := range r.Accounts {
		if a.OK {
			fmt.Fprintf(&b, "  %-24s OK\n", a.Name)
		} else {
			fmt.Fprintf(&b, "  %-24s FAILED: %s\n", a.Name, a.Reason)
		}
	}
	if r.OK {
		b.WriteString("OK: a deployment with these accounts would work\n")
	} else {
		fmt.Fprintf(&b, "FAILED: %s would not work\n", strings.Join(r.Failed, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
