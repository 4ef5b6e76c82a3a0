package check

import (
	"context"
	"fmt"
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

// Accounts checks each source at once, so that one slow or unreachable
// API does not make the others wait, and sums up.
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

func (r *AccountsReport) passed() bool { return r.OK }

// writeText prints one section per account, then a summary.
func (r *AccountsReport) writeText(b *strings.Builder) {
	for _, a := range r.Accounts {
		fmt.Fprintf(b, "=== account %s ===\n", a.Name)
		a.writeText(b)
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "summary of %s: %d of %d accounts would work\n", r.ConfigFile, len(r.Accounts)-len(r.Failed), len(r.Accounts))
	for _, a := range r.Accounts {
		if a.OK {
			fmt.Fprintf(b, "  %-24s OK\n", a.Name)
		} else {
			fmt.Fprintf(b, "  %-24s FAILED: %s\n", a.Name, a.Reason)
		}
	}
	if r.OK {
		b.WriteString("OK: a deployment with these accounts would work\n")
	} else {
		fmt.Fprintf(b, "FAILED: %s would not work\n", strings.Join(r.Failed, ", "))
	}
}
