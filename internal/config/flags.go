package config

import (
	"fmt"
	"strconv"

	"github.com/alecthomas/kingpin/v2"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// App is the command line: kingpin's application (for --help, --version
// and the docs' tests) and what it parses: the values a Config takes as
// they are, bound to cfg and src (the flags' account), and those Resolve
// still checks and converts.
type App struct {
	*kingpin.Application

	cfg Config
	src Source

	rateLimitSet, maxAgeSet, storagePathSet bool // the flag was given

	tokenFile, timezone                         string
	serviceTypes, billingGroups, billingConfigs []string
	dailyBudget, monthlyBudget                  string
	groupDailyBudgets, groupMonthlyBudgets      []string
	demo                                        bool

	// The commands' own flags; the API, token, filter and storage flags
	// are the exporter's.
	account                  string // check's or backfill's --account
	from, to, backfillOutput string
	labels                   []string
}

// NewApp declares every flag and command.
func NewApp() *App {
	a := &App{Application: kingpin.New(Name, "Prometheus exporter for FPT Cloud spend, read from FPT Cloud's billing API.")}
	a.Version(version.Print(Name))
	a.HelpFlag.Short('h')

	s := &a.cfg.Server
	s.Web = kingpinflag.AddFlags(a.Application, DefaultAddress)
	a.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&s.TelemetryPath)
	a.Flag("web.max-requests", "Maximum number of concurrent scrapes; 0 means no limit.").Default("40").IntVar(&s.MaxRequests)
	a.Flag("web.enable-pprof", "Serve Go profiling data under /debug/pprof/ (and link it from the landing page).").BoolVar(&s.EnablePprof)
	a.Flag("web.enable-lifecycle", "Serve POST /-/reload, which re-reads --config.file as SIGHUP does.").BoolVar(&s.EnableLifecycle)
	a.Flag("config.file", "YAML file of the FPT Cloud accounts to read, each with its token, filters and budgets (see docs/config-file.md). "+
		"Replaces the token, filter and budget flags; --fpt.api-url, --fpt.timezone and --fpt.rate-limit are the defaults of its accounts.").PlaceHolder("PATH").StringVar(&a.cfg.ConfigFile)

	a.Flag("fpt.api-url", "Base URL of FPT Cloud's Console API (the Japan region: https://console-api.fptcloud.jp/api).").Default(fptapi.DefaultBaseURL).StringVar(&a.src.APIURL)
	a.Flag("fpt.token-file", "File holding the FPT Cloud API token, read at start and again before every API request, so a rotated token needs no restart. Without it the token comes from $"+TokenEnv+".").PlaceHolder("PATH").StringVar(&a.tokenFile)
	a.Flag("fpt.timezone", "IANA time zone of FPT Cloud's billing days and months.").Default(BillingTimezone).StringVar(&a.timezone)
	a.Flag("fpt.page-size", fmt.Sprintf("Bill rows per API request (1-%d). FPT Cloud documents 100 and not its maximum: a server that silently returned fewer rows than asked would end paging early.", fptapi.MaxPageSize)).Default("100").IntVar(&a.src.PageSize)
	a.Flag("fpt.timeout", "Timeout of one API request, including reading its body.").Default("30s").DurationVar(&a.src.Timeout)
	a.Flag("fpt.rate-limit", "Maximum API requests per second (demo mode: unlimited unless set).").Default("5").IsSetByUser(&a.rateLimitSet).Float64Var(&a.src.RateLimit)
	a.Flag("fpt.service-type", "Only bills of this service type (API filter service_type). Repeatable; none means all.").PlaceHolder("TYPE").StringsVar(&a.serviceTypes)
	a.Flag("fpt.billing-group", "Only bills of this billing group (API filter billing_group_name). Repeatable; none means all.").PlaceHolder("GROUP").StringsVar(&a.billingGroups)
	a.Flag("fpt.billing-config", "Only bills of this billing config (API filter billing_config_name). Repeatable; none means all.").PlaceHolder("CONFIG").StringsVar(&a.billingConfigs)

	c := &a.cfg.Collector
	a.Flag("collector.refresh-interval", "How often bills are fetched from the API (1s-24h); scrapes are served from the cache in between.").Default("15m").DurationVar(&c.RefreshInterval)
	// No kingpin default: the real one follows the refresh interval, and
	// --help must not show a second, fixed one.
	a.Flag("collector.max-age", "Billing series disappear when the last successful refresh is older than this. Default: "+collector.DefaultMaxAge.String()+" or 3 refresh intervals, whichever is longer.").PlaceHolder("DURATION").IsSetByUser(&a.maxAgeSet).DurationVar(&c.MaxAge)
	a.Flag("collector.max-series", "Label sets per billing metric; the cheapest beyond it are folded into one series labelled __other__.").Default("10000").IntVar(&c.MaxSeries)
	a.Flag("collector.top-resources", "How many of the month's most expensive resources (by infra_id, or name without it) get series of their own; 0 turns them off.").Default(strconv.Itoa(collector.DefaultTopResources)).IntVar(&c.TopResources)
	a.Flag("collector.max-resources", "Distinct resources ranked per day and per month at most, which bounds the memory of --collector.top-resources; the rows of others are counted in fptcloud_exporter_untracked_resource_rows.").Default(strconv.Itoa(collector.DefaultMaxResources)).IntVar(&c.MaxResources)
	a.Flag("collector.previous-month", "Read the previous billing month once, after the current one, and serve its total as fptcloud_billing_previous_month_cost_vnd (--no-collector.previous-month: not read).").Default("true").BoolVar(&c.PreviousMonth)
	a.Flag("storage.path", "Directory of the month cache: the sums of closed billing days, kept so that a restart reads only today from the API. Created (mode 0700) if missing; if it cannot be used, the exporter warns and keeps them in memory. Empty: memory only (the default in --demo).").Default("data/").IsSetByUser(&a.storagePathSet).StringVar(&a.cfg.Store.Path)

	a.Flag("budget.daily-vnd", "Daily budget for all spend, in VND; exposed as fptcloud_budget_daily_vnd.").PlaceHolder("AMOUNT").StringVar(&a.dailyBudget)
	a.Flag("budget.monthly-vnd", "Monthly budget for all spend, in VND; exposed as fptcloud_budget_monthly_vnd.").PlaceHolder("AMOUNT").StringVar(&a.monthlyBudget)
	a.Flag("budget.billing-group-daily-vnd", "Daily budget of one billing group, as GROUP=AMOUNT in VND. Repeatable.").PlaceHolder("GROUP=AMOUNT").StringsVar(&a.groupDailyBudgets)
	a.Flag("budget.billing-group-monthly-vnd", "Monthly budget of one billing group, as GROUP=AMOUNT in VND. Repeatable.").PlaceHolder("GROUP=AMOUNT").StringsVar(&a.groupMonthlyBudgets)
	a.Flag("demo", "Serve simulated data from a built-in fake FPT Cloud API; needs no token.").BoolVar(&a.demo)
	promslogflag.AddFlags(a.Application, &a.cfg.Log)

	a.Command(CommandServe, "Run the exporter (the default command).").Default()
	check := a.Command(CommandCheck, fmt.Sprintf("Check the settings against the API: read the token, today's first %d pages of bills and the billing groups, print a summary, exit 0 when a deployment would work.", CheckMaxBillsRequests))
	check.Flag("output", "Output format: text or json.").Default("text").EnumVar(&a.cfg.Check.Output, "text", "json")
	check.Flag("account", "With --config.file: check only the account of this name (default: every account).").PlaceHolder("NAME").StringVar(&a.account)
	a.addBackfillCommand()
	return a
}

func (a *App) addBackfillCommand() {
	cmd := a.Command(CommandBackfill, "Write the cost of closed billing days as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`, "+
		"one sample per day and label set at the day's last second, under the exporter's metric names.")
	cmd.Flag("from", "First billing day to write (YYYY-MM-DD, in --fpt.timezone). The days of its month before it are read too: month-to-date needs them.").
		Required().PlaceHolder("YYYY-MM-DD").StringVar(&a.from)
	cmd.Flag("to", "Last billing day to write (YYYY-MM-DD); it must be closed: before today, and past its late window ("+
		LateWindow()+" after its end).").Required().PlaceHolder("YYYY-MM-DD").StringVar(&a.to)
	cmd.Flag("output", "File to write (replaced atomically when complete); - is standard output.").Default("-").PlaceHolder("FILE").StringVar(&a.backfillOutput)
	cmd.Flag("label", "Label added to every series, as NAME=VALUE, e.g. job=fptcloud and instance=HOST:PORT, so that the backfilled series "+
		"line up with the scraped ones. Repeatable.").PlaceHolder("NAME=VALUE").StringsVar(&a.labels)
	cmd.Flag("account", "With --config.file: the account whose history to write, its series labelled account=NAME; required when the file has several.").
		PlaceHolder("NAME").StringVar(&a.account)
}

// LateWindow is how long after its end a day's bills may still change, as
// the exporter counts it, in words.
func LateWindow() string { return fmt.Sprintf("%g hours", collector.DefaultLateWindow.Hours()) }

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
