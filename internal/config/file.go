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

// Amount is an amount as written, a YAML number or string alike ("5tr",
// 5000000), left to the flags' parser.
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
	if err := f.decode(root.Content[0], reflect.ValueOf(&f).Elem(), ""); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return &f, nil
}

// check holds what the types cannot: names, tokens and an account at all.
func (f *File) check() error {
	if len(f.Accounts) == 0 {
		return fmt.Errorf("line %d: accounts: needs at least one account", f.lines[""])
	}
	for i, a := range f.Accounts {
		at := fmt.Sprintf("line %d: accounts[%d]", f.lines[item("accounts", i)], i)
		j := slices.IndexFunc(f.Accounts[:i], func(b FileAccount) bool { return b.Name == a.Name })
		switch {
		case a.Name == "":
			return fmt.Errorf("%s.name: required", at)
		case !accountName.MatchString(a.Name):
			return fmt.Errorf("%s.name: %q is not a name of 1-63 letters, digits, '_', '.' or '-' starting with a letter or digit", at, a.Name)
		case (a.TokenFile == "") == (a.TokenEnv == ""):
			return fmt.Errorf("%s: exactly one of token_file and token_env is needed (tokens never go in this file)", at)
		case j >= 0:
			return fmt.Errorf("%s.name: %q is already the name of accounts[%d] (line %d)", at, a.Name, j, f.lines[item("accounts", j)])
		}
	}
	return nil
}

// decode decodes n into v and notes the line of every value, walking
// mappings itself so that every error carries the key's path: yaml.v3's
// own strict mode names the line but not the key, and does not refuse a
// key given twice in a struct.
func (f *File) decode(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	f.lines[path] = n.Line
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // "key:" with no value leaves the default, as omitting it does
	}
	switch {
	case v.Kind() == reflect.Struct:
		return f.decodeStruct(n, v, path)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		return f.decodeList(n, v, path)
	case v.Kind() == reflect.Slice:
		for i, it := range n.Content {
			f.lines[item(path, i)] = it.Line
		}
	case v.Kind() == reflect.Map:
		if err := f.mapping(n, path, "must be a mapping of names to amounts"); err != nil {
			return err
		}
	}
	return wrapAt(n, path, n.Decode(v.Addr().Interface()))
}

func (f *File) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if err := f.mapping(n, path, "must be a mapping"); err != nil {
		return err
	}
	fields := map[string]int{}
	var known []string
	for i := range v.NumField() {
		if field := v.Type().Field(i); field.IsExported() {
			name, _, _ := strings.Cut(field.Tag.Get("yaml"), ",")
			fields[name] = i
			known = append(known, name)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i]
		field, ok := fields[key.Value]
		if !ok {
			return atLine(key, join(path, key.Value), "unknown key (known: "+strings.Join(known, ", ")+")")
		}
		if err := f.decode(n.Content[i+1], v.Field(field), join(path, key.Value)); err != nil {
			return err
		}
	}
	return nil
}

func (f *File) decodeList(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.SequenceNode {
		return atLine(n, path, "must be a list")
	}
	v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
	for i, it := range n.Content {
		if err := f.decode(it, v.Index(i), item(path, i)); err != nil {
			return err
		}
		f.lines[item(path, i)] = it.Line // an alias's own line, for messages about the entry as a whole
	}
	return nil
}

// mapping refuses n unless it is a mapping without a key given twice, and
// notes the line of each value.
func (f *File) mapping(n *yaml.Node, path, notMapping string) error {
	if n.Kind != yaml.MappingNode {
		return atLine(n, path, notMapping)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i]
		if line, dup := seen[key.Value]; dup {
			return atLine(key, join(path, key.Value), fmt.Sprintf("given twice (first on line %d)", line))
		}
		seen[key.Value] = key.Line
		f.lines[join(path, key.Value)] = n.Content[i+1].Line
	}
	return nil
}

func item(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

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

// Names lists the accounts' names in the file's order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Accounts))
	for _, a := range f.Accounts {
		names = append(names, a.Name)
	}
	return names
}
