package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"
)

// maxFileSize bounds what a reload reads: an accounts file is a few
// kilobytes, and a mistaken path (a log, a device) must not be read whole.
const maxFileSize = 1 << 20

// File is the accounts file of --config.file, as written: amounts, time
// zones and URLs are still text here; resolving them is the flags' job, so
// that a value means the same in the file as on the command line.
type File struct {
	Accounts []FileAccount `yaml:"accounts"`

	// lines is the line of every value by its key's path
	// ("accounts[1].budgets.daily_vnd"), for errors found after decoding.
	lines map[string]int
}

// FileAccount is one entry of accounts:.
type FileAccount struct {
	Name           string      `yaml:"name"`
	TokenFile      string      `yaml:"token_file"`
	TokenEnv       string      `yaml:"token_env"`
	APIURL         string      `yaml:"api_url"`
	Timezone       string      `yaml:"timezone"`
	RateLimit      *float64    `yaml:"rate_limit"`
	ServiceTypes   []string    `yaml:"service_types"`
	BillingGroups  []string    `yaml:"billing_groups"`
	BillingConfigs []string    `yaml:"billing_configs"`
	Budgets        FileBudgets `yaml:"budgets"`
}

// FileBudgets are an account's budgets, in every form the --budget.* flags
// take ("5tr", "5.000.000", 5000000).
type FileBudgets struct {
	DailyVND               Amount            `yaml:"daily_vnd"`
	MonthlyVND             Amount            `yaml:"monthly_vnd"`
	BillingGroupDailyVND   map[string]Amount `yaml:"billing_group_daily_vnd"`
	BillingGroupMonthlyVND map[string]Amount `yaml:"billing_group_monthly_vnd"`
}

// Amount is an amount as written, a YAML number or string alike: "5tr" and
// 5000000 are both amounts, and parsing them is left to the one parser the
// flags use.
type Amount string

// UnmarshalYAML takes any scalar's text.
func (a *Amount) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("must be an amount such as 5000000 or \"5tr\"")
	}
	*a = Amount(n.Value)
	return nil
}

// accountName is what a name may be: it becomes a label value and a
// directory under --storage.path, so it is short and needs no escaping.
var accountName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// LoadFile reads and decodes path strictly.
func LoadFile(path string) (*File, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	file, err := ParseFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return file, nil
}

// readFile reads the regular file at path, up to maxFileSize.
func readFile(path string) ([]byte, error) {
	// Non-blocking, so that a FIFO or a device given by mistake is refused
	// below instead of hanging the reload.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil {
		return nil, err
	} else if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", info.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	return data, nil
}

// ParseFile decodes an accounts file strictly: an unknown key, a value of
// the wrong type, a key given twice, a second document, a duplicate or
// malformed account name are refused with the line and the key's path.
func ParseFile(data []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty: it needs accounts: with at least one account")
		}
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d: a second YAML document; the file holds one", extra.Line)
	}
	f := File{lines: map[string]int{}}
	d := decoder{lines: f.lines}
	if err := d.decodeStrict(root.Content[0], reflect.ValueOf(&f).Elem(), ""); err != nil {
		return nil, err
	}
	if err := f.check(root.Content[0]); err != nil {
		return nil, err
	}
	return &f, nil
}

// check holds what the types cannot: names, tokens and an account at all.
func (f *File) check(doc *yaml.Node) error {
	if len(f.Accounts) == 0 {
		return fmt.Errorf("line %d: accounts: needs at least one account", doc.Line)
	}
	lines := accountLines(doc)
	first := map[string]int{}
	for i, a := range f.Accounts {
		at := fmt.Sprintf("line %d: accounts[%d]", lines[i], i)
		switch {
		case a.Name == "":
			return fmt.Errorf("%s.name: required", at)
		case !accountName.MatchString(a.Name):
			return fmt.Errorf("%s.name: %q is not a name of 1-63 letters, digits, '_', '.' or '-' starting with a letter or digit", at, a.Name)
		case (a.TokenFile == "") == (a.TokenEnv == ""):
			return fmt.Errorf("%s: exactly one of token_file and token_env is needed (tokens never go in this file)", at)
		}
		if j, dup := first[a.Name]; dup {
			return fmt.Errorf("%s.name: %q is already the name of accounts[%d] (line %d)", at, a.Name, j, lines[j])
		}
		first[a.Name] = i
	}
	return nil
}

// accountLines is the line of each entry of accounts:, for messages about
// an entry as a whole.
func accountLines(doc *yaml.Node) []int {
	var lines []int
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "accounts" {
			for _, n := range doc.Content[i+1].Content {
				lines = append(lines, n.Line)
			}
		}
	}
	return lines
}

// decoder notes the line of every value it decodes.
type decoder struct{ lines map[string]int }

// decodeStrict decodes n into v, walking mappings itself so that every
// error carries the key's path: yaml.v3's own strict mode names the line
// but not the key, and does not refuse a key given twice in a struct.
func (d decoder) decodeStrict(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.lines[path] = n.Line
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // "key:" with no value leaves the default, as omitting it does
	}
	if _, custom := v.Addr().Interface().(yaml.Unmarshaler); custom {
		return wrapAt(n, path, n.Decode(v.Addr().Interface()))
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Struct {
			d.noteItems(n, path)
			return wrapAt(n, path, n.Decode(v.Addr().Interface()))
		}
		if n.Kind != yaml.SequenceNode {
			return atLine(n, path, "must be a list")
		}
		v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			if err := d.decodeStrict(item, v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return atLine(n, path, "must be a mapping of names to amounts")
		}
		if err := noDuplicateKeys(n, path); err != nil {
			return err
		}
		d.noteItems(n, path)
	}
	return wrapAt(n, path, n.Decode(v.Addr().Interface()))
}

// noteItems notes the lines of the items of a list or a mapping that is
// decoded whole.
func (d decoder) noteItems(n *yaml.Node, path string) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.lines[join(path, n.Content[i].Value)] = n.Content[i+1].Line
		}
		return
	}
	for i, item := range n.Content {
		d.lines[fmt.Sprintf("%s[%d]", path, i)] = item.Line
	}
}

func (d decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return atLine(n, path, "must be a mapping")
	}
	fields := map[string]int{}
	var known []string
	for i := range v.NumField() {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		fields[name] = i
		known = append(known, name)
	}
	if err := noDuplicateKeys(n, path); err != nil {
		return err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		at := join(path, key.Value)
		field, ok := fields[key.Value]
		if !ok {
			return atLine(key, at, "unknown key (known: "+strings.Join(known, ", ")+")")
		}
		if err := d.decodeStrict(value, v.Field(field), at); err != nil {
			return err
		}
	}
	return nil
}

func noDuplicateKeys(n *yaml.Node, path string) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i]
		if line, dup := seen[key.Value]; dup {
			return atLine(key, join(path, key.Value), fmt.Sprintf("given twice (first on line %d)", line))
		}
		seen[key.Value] = key.Line
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func atLine(n *yaml.Node, path, why string) error {
	if path == "" {
		path = "the file"
	}
	return fmt.Errorf("line %d: %s: %s", n.Line, path, why)
}

// wrapAt names the key of a decoding error; yaml.v3's own message already
// says the line and the type, so only its first line is kept.
func wrapAt(n *yaml.Node, path string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) && len(typeErr.Errors) > 0 {
		msg = typeErr.Errors[0]
		if _, after, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
			msg = after
		}
	}
	return atLine(n, path, msg)
}

// line is the line of the value at path, or of the nearest enclosing one
// that has a line: a key left out has none of its own.
func (f *File) line(path string) int {
	for {
		if l, ok := f.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 1
		}
		path = path[:i]
	}
}

// Names lists the accounts' names in the file's order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Accounts))
	for _, a := range f.Accounts {
		names = append(names, a.Name)
	}
	return slices.Clip(names)
}
