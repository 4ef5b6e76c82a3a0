package config

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/collector"
)

// AccountLabel is the label that names the account of a series when the
// accounts come from --config.file.
const AccountLabel = "account"

// accountDefaults is what resolving the accounts file takes from the command
// line, kept in the Config so that a reload resolves it as the start did.
type accountDefaults struct {
	path         string // --config.file
	base         Source // the flags' API settings: URL, zone, rate limit, page size, timeout
	rateLimitSet bool   // --fpt.rate-limit given, which the demo then keeps
	demo         bool
	storeRoot    string // --storage.path, "" for memory only
	getenv       func(string) string
}

// envName is what token_env may name: a variable a shell can set.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ReloadSources reads the accounts file again and resolves it with the
// defaults of the start. On an error nothing of the Config changes, so the
// caller keeps the sources it runs.
func (c *Config) ReloadSources() ([]Source, error) {
	if c.accounts == nil {
		return nil, errors.New("no --config.file: nothing to reload")
	}
	return c.accounts.load(time.Now())
}

// fileSources resolves the accounts of --config.file and keeps those of the
// command's --account.
func (a *App) fileSources(cfg *Config, command string, base Source, getenv func(string) string, now time.Time) error {
	if err := a.refuseAccountFlags(getenv); err != nil {
		return err
	}
	d := &accountDefaults{
		path:         cfg.ConfigFile,
		base:         base,
		rateLimitSet: a.rateLimitSet,
		demo:         a.demo,
		storeRoot:    cfg.Store.Path,
		getenv:       getenv,
	}
	sources, err := d.load(now)
	if err != nil {
		return err
	}
	cfg.Sources, cfg.accounts = sources, d
	return a.selectAccount(cfg, command)
}

// refuseAccountFlags refuses a flag whose value is an account's: with the
// file, every account has its own, and one flag for all of them would
// leave it unclear which wins.
func (a *App) refuseAccountFlags(getenv func(string) string) error {
	given := []struct {
		set         bool
		flag, where string
	}{
		{a.tokenFile != "", "--fpt.token-file", "set token_file (or token_env) of each account in the file"},
		{getenv(TokenEnv) != "", "$" + TokenEnv, "set token_env (or token_file) of each account in the file, naming a variable of its own"},
		{len(a.serviceTypes) > 0, "--fpt.service-type", "set service_types of each account in the file"},
		{len(a.billingGroups) > 0, "--fpt.billing-group", "set billing_groups of each account in the file"},
		{len(a.billingConfigs) > 0, "--fpt.billing-config", "set billing_configs of each account in the file"},
		{a.dailyBudget != "", "--budget.daily-vnd", "set budgets.daily_vnd of each account in the file"},
		{a.monthlyBudget != "", "--budget.monthly-vnd", "set budgets.monthly_vnd of each account in the file"},
		{len(a.groupDailyBudgets) > 0, "--budget.billing-group-daily-vnd", "set budgets.billing_group_daily_vnd of each account in the file"},
		{len(a.groupMonthlyBudgets) > 0, "--budget.billing-group-monthly-vnd", "set budgets.billing_group_monthly_vnd of each account in the file"},
	}
	for _, g := range given {
		if g.set {
			return fmt.Errorf("%s cannot be combined with --config.file: %s", g.flag, g.where)
		}
	}
	return nil
}

// load reads the file and resolves every account.
func (d *accountDefaults) load(now time.Time) ([]Source, error) {
	data, err := readFile(d.path)
	var file *File
	if err == nil {
		file, err = ParseFile(data)
	}
	if err != nil {
		return nil, fmt.Errorf("--config.file=%s: %w", d.path, err)
	}
	sources := make([]Source, 0, len(file.Accounts))
	for i := range file.Accounts {
		src, err := entry{d, file, &file.Accounts[i], i}.resolve(now)
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	return sources, nil
}

// entry is accounts[i] of the file, being resolved with the checks of the
// flags it replaces.
type entry struct {
	*accountDefaults
	f *File
	a *FileAccount
	i int
}

// keyAt names a key the entry has, with its line, in errors and warnings.
func (e entry) keyAt(key string) string {
	path := fmt.Sprintf("accounts[%d].%s", e.i, key)
	return fmt.Sprintf("--config.file=%s: line %d: %s", e.path, e.f.lines[path], path)
}

func (e entry) at(key string, err error) error { return fmt.Errorf("%s: %w", e.keyAt(key), err) }

func (e entry) resolve(now time.Time) (Source, error) {
	a := e.a
	src, err := e.api(now)
	if err != nil {
		return src, err
	}
	src.Name = a.Name
	for _, filter := range []struct {
		key    string
		values []string
	}{{"service_types", a.ServiceTypes}, {"billing_groups", a.BillingGroups}, {"billing_configs", a.BillingConfigs}} {
		if j := slices.IndexFunc(filter.values, isBlank); j >= 0 {
			return src, e.at(item(filter.key, j), errors.New("must not be empty"))
		}
	}
	src.Filters = buildFilters(a.ServiceTypes, a.BillingGroups, a.BillingConfigs)
	if src.Budgets, err = e.budgets(&a.Budgets); err != nil {
		return src, err
	}
	if e.demo {
		simulate(&src, e.rateLimitSet || a.RateLimit != nil, seedOf(a.Name))
	} else if err := e.token(&src); err != nil {
		return src, err
	}
	src.Identity = identity(&src, now)
	// A directory per name: an account renamed starts a cache of its own,
	// as a new account does.
	if e.storeRoot != "" {
		src.Store = Store{Path: filepath.Join(e.storeRoot, a.Name)}
	}
	return src, nil
}

// api resolves how the account talks to the API: its own api_url,
// timezone and rate_limit, or the flags'.
func (e entry) api(now time.Time) (Source, error) {
	a, src := e.a, e.base
	urlKey, zoneKey := "--fpt.api-url", "--fpt.timezone"
	if a.APIURL != "" {
		if err := checkAPIURL(a.APIURL); err != nil {
			return src, e.at("api_url", err)
		}
		src.APIURL, urlKey = a.APIURL, e.keyAt("api_url")
	}
	if a.Timezone != "" {
		loc, err := parseTimezone(a.Timezone)
		if err != nil {
			return src, e.at("timezone", err)
		}
		src.Location, zoneKey = loc, e.keyAt("timezone")
	}
	if a.RateLimit != nil {
		if err := checkRateLimit(*a.RateLimit); err != nil {
			return src, e.at("rate_limit", err)
		}
		src.RateLimit = *a.RateLimit
	}
	src.warnAPI(zoneKey, urlKey, e.demo, now)
	return src, nil
}

// budgets parses the account's budgets as the --budget.* flags are parsed.
func (e entry) budgets(b *FileBudgets) (out collector.Budgets, err error) {
	out.Daily, err = parseAmount(e.keyAt("budgets.daily_vnd"), string(b.DailyVND))
	if err == nil {
		out.Monthly, err = parseAmount(e.keyAt("budgets.monthly_vnd"), string(b.MonthlyVND))
	}
	if err == nil {
		out.GroupDaily, err = e.groupAmounts("budgets.billing_group_daily_vnd", b.BillingGroupDailyVND)
	}
	if err == nil {
		out.GroupMonthly, err = e.groupAmounts("budgets.billing_group_monthly_vnd", b.BillingGroupMonthlyVND)
	}
	return out, err
}

// groupAmounts parses a billing group's budgets; the empty group is the
// rows without one, as for the flags.
func (e entry) groupAmounts(key string, amounts map[string]Amount) (map[string]float64, error) {
	out := make(map[string]float64, len(amounts))
	for _, group := range slices.Sorted(maps.Keys(amounts)) {
		if amounts[group] == "" {
			return nil, e.at(join(key, group), errors.New("needs an amount (leave the group out for no budget)"))
		}
		v, err := parseAmount(e.keyAt(join(key, group)), string(amounts[group]))
		if err != nil {
			return nil, err
		}
		out[group] = v
	}
	return out, nil
}

// token resolves the account's token as --fpt.token-file or $FPTCLOUD_TOKEN
// would be.
func (e entry) token(src *Source) error {
	a := e.a
	if a.TokenFile != "" {
		path := a.TokenFile
		if !filepath.IsAbs(path) {
			// As Prometheus does: the file and its tokens move together.
			path = filepath.Join(filepath.Dir(e.path), path)
		}
		if err := src.tokenFromFile(path); err != nil {
			return e.at("token_file", err)
		}
		return nil
	}
	var err error
	switch {
	case !envName.MatchString(a.TokenEnv):
		err = fmt.Errorf("%q is not an environment variable's name", a.TokenEnv)
	case a.TokenEnv == TokenEnv:
		err = fmt.Errorf("$%s is the token of the command line without --config.file: name a variable of this account's own", TokenEnv)
	case e.getenv(a.TokenEnv) == "":
		err = fmt.Errorf("$%s is not set or empty", a.TokenEnv)
	default:
		err = src.tokenFromEnv(a.TokenEnv, e.getenv(a.TokenEnv))
	}
	if err != nil {
		return e.at("token_env", err)
	}
	return nil
}

// seedOf gives each demo account data of its own, the same at every start.
func seedOf(name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return int64(h.Sum64() >> 1)
}

// selectAccount keeps the account that check's or backfill's --account names.
func (a *App) selectAccount(cfg *Config, command string) error {
	name := a.account
	names := make([]string, len(cfg.Sources))
	for i, s := range cfg.Sources {
		names[i] = s.Name
	}
	i := slices.Index(names, name)
	switch {
	case name == "" && command == CommandBackfill && len(cfg.Sources) > 1:
		return fmt.Errorf("--account is required: --config.file=%s has %d accounts (%s), and a backfill writes one account's history",
			cfg.ConfigFile, len(names), strings.Join(names, ", "))
	case name == "":
		return nil
	case i < 0:
		return fmt.Errorf("--account=%s: no such account in --config.file=%s; its accounts: %s", name, cfg.ConfigFile, strings.Join(names, ", "))
	}
	cfg.Sources = []Source{cfg.Sources[i]}
	return nil
}
