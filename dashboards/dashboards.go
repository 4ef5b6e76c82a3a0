// Package dashboards holds the Grafana dashboards shipped with
// fptcloud_exporter, embedded so that tests can run every panel query as
// Grafana would with every variable set to "All".
package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

//go:embed *.json
var files embed.FS

// Files returns the dashboards' JSON by file name.
func Files() (map[string][]byte, error) {
	entries, err := files.ReadDir(".")
	if err != nil {
		return nil, fmt.Errorf("listing dashboards: %w", err)
	}
	out := make(map[string][]byte, len(entries))
	for _, e := range entries {
		data, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", e.Name(), err)
		}
		out[e.Name()] = data
	}
	return out, nil
}

// board is the part of Grafana's dashboard model that Queries reads.
type board struct {
	Panels     []boardPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			IncludeAll bool   `json:"includeAll"`
			AllValue   string `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
}

// boardPanel is a panel; a row holds its panels only while collapsed.
type boardPanel struct {
	ID      int    `json:"id"`
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []boardPanel `json:"panels"`
}

// Query is one panel query, as written and resolved.
type Query struct {
	File  string // dashboard file name
	Panel string // panel title
	RefID string
	Raw   string // the PromQL as written in the dashboard
	Expr  string // Raw with every variable set to "All" and interval variables resolved
}

// VarRE matches Grafana's variable syntaxes: $name, ${name}, ${name:format}
// and [[name]]. Group 1, 2 or 3 is the name.
var VarRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]`)

// VarName returns the variable name of a VarRE match.
func VarName(m []string) string {
	return m[1] + m[2] + m[3]
}

// Queries returns every panel query of every dashboard with each template
// variable set to its "All" value and Grafana's interval variables to
// rangeVector, e.g. "5m". A variable that is neither defined with an All
// value nor built in is an error, as Grafana could not run the query.
func Queries(rangeVector string) ([]Query, error) {
	all, err := Files()
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, name := range slices.Sorted(maps.Keys(all)) {
		var d board
		if err := json.Unmarshal(all[name], &d); err != nil {
			return nil, fmt.Errorf("%s: decoding dashboard: %w", name, err)
		}
		values := map[string]string{
			"__rate_interval": rangeVector,
			"__interval":      rangeVector,
			"__range":         rangeVector,
		}
		for _, v := range d.Templating.List {
			if v.IncludeAll && v.AllValue != "" {
				values[v.Name] = v.AllValue
			}
		}
		for _, p := range flatten(d.Panels) {
			for _, t := range p.Targets {
				expr, err := resolve(t.Expr, values)
				if err != nil {
					return nil, fmt.Errorf("%s: panel %d %q, query %s: %w", name, p.ID, p.Title, t.RefID, err)
				}
				out = append(out, Query{File: name, Panel: p.Title, RefID: t.RefID, Raw: t.Expr, Expr: expr})
			}
		}
	}
	return out, nil
}

// flatten lists panels in order, those of a collapsed row after the row.
func flatten(panels []boardPanel) []boardPanel {
	var out []boardPanel
	for _, p := range panels {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

func resolve(expr string, values map[string]string) (string, error) {
	var missing []string
	out := VarRE.ReplaceAllStringFunc(expr, func(s string) string {
		name := VarName(VarRE.FindStringSubmatch(s))
		if v, ok := values[name]; ok {
			return v
		}
		missing = append(missing, name)
		return s
	})
	if missing != nil {
		return "", fmt.Errorf("variables without an All value: %s", strings.Join(missing, ", "))
	}
	return out, nil
}
