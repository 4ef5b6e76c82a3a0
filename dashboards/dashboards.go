// Package dashboards holds the Grafana dashboards shipped with
// fptcloud_exporter, embedded so that tests can read every panel query, and
// a helper that resolves those queries the way Grafana would with every
// variable set to "All".
package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
)

//go:embed *.json
var files embed.FS

// Files returns the dashboards' JSON by file name.
func Files() (map[string][]byte, error) {
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil, fmt.Errorf("listing dashboards: %w", err)
	}
	out := make(map[string][]byte, len(names))
	for _, name := range names {
		data, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		out[name] = data
	}
	return out, nil
}

// Dashboard is the part of Grafana's dashboard model the tests read.
type Dashboard struct {
	UID           string          `json:"uid"`
	Title         string          `json:"title"`
	SchemaVersion int             `json:"schemaVersion"`
	Inputs        json.RawMessage `json:"__inputs"`
	Panels        []Panel         `json:"panels"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Panel is a dashboard panel; a row holds its panels only while collapsed.
type Panel struct {
	ID              int             `json:"id"`
	Type            string          `json:"type"`
	Title           string          `json:"title"`
	Datasource      json.RawMessage `json:"datasource"`
	GridPos         *GridPos        `json:"gridPos"`
	Targets         []Target        `json:"targets"`
	Panels          []Panel         `json:"panels"`
	FieldConfig     FieldConfig     `json:"fieldConfig"`
	Transformations json.RawMessage `json:"transformations"`
}

// GridPos places a panel on Grafana's 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// FieldConfig holds a panel's field defaults (unit etc.).
type FieldConfig struct {
	Defaults struct {
		Unit string `json:"unit"`
	} `json:"defaults"`
}

// Target is one query of a panel.
type Target struct {
	RefID      string          `json:"refId"`
	Expr       string          `json:"expr"`
	Instant    bool            `json:"instant"`
	Datasource json.RawMessage `json:"datasource"`
}

// Variable is a templating variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource json.RawMessage `json:"datasource"`
	IncludeAll bool            `json:"includeAll"`
	Multi      bool            `json:"multi"`
	AllValue   string          `json:"allValue"`
}

// QueryText is a query variable's PromQL, whether Grafana stored it as a
// string or as {"query": "..."}.
func (v Variable) QueryText() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var obj struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &obj) == nil && obj.Query != "" {
		return obj.Query
	}
	return v.Definition
}

// Parse decodes a dashboard.
func Parse(data []byte) (*Dashboard, error) {
	var d Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decoding dashboard: %w", err)
	}
	return &d, nil
}

// AllPanels returns every panel, including those inside collapsed rows.
func (d *Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// Query is one panel query, as written and resolved.
type Query struct {
	File    string // dashboard file name
	PanelID int
	Panel   string // panel title
	RefID   string
	Raw     string // the PromQL as written in the dashboard
	Expr    string // Raw with every variable set to "All" and interval variables resolved
	Instant bool
}

// VarRE matches Grafana's variable syntaxes: $name, ${name}, ${name:format}
// and [[name]]. Group 1, 2 or 3 is the name.
var VarRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]`)

// VarName returns the variable name of a VarRE match.
func VarName(m []string) string {
	return m[1] + m[2] + m[3]
}

// Queries returns every panel query of every dashboard with each template
// variable replaced by its "All" value (allValue) and Grafana's interval
// variables ($__rate_interval, $__interval, $__range) by rangeVector, e.g. "5m".
// It fails on a variable that is neither defined with an All value nor
// built in, so a query that Grafana could not run is an error here too.
func Queries(rangeVector string) ([]Query, error) {
	all, err := Files()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(all))
	for name := range all {
		names = append(names, name)
	}
	slices.Sort(names)

	var out []Query
	for _, name := range names {
		d, err := Parse(all[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
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
		for _, p := range d.AllPanels() {
			for _, t := range p.Targets {
				expr, err := resolve(t.Expr, values)
				if err != nil {
					return nil, fmt.Errorf("%s: panel %d %q, query %s: %w", name, p.ID, p.Title, t.RefID, err)
				}
				out = append(out, Query{
					File: name, PanelID: p.ID, Panel: p.Title, RefID: t.RefID,
					Raw: t.Expr, Expr: expr, Instant: t.Instant,
				})
			}
		}
	}
	return out, nil
}

func resolve(expr string, values map[string]string) (string, error) {
	var missing []string
	out := VarRE.ReplaceAllStringFunc(expr, func(s string) string {
		name := VarName(VarRE.FindStringSubmatch(s))
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return s
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("variables without an All value: %s", strings.Join(missing, ", "))
	}
	return out, nil
}
