package fptapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// scanner is a small validating JSON reader over one response body. The
// decoders walk the few shapes they expect with it and skip everything
// else, without building a tree or using reflection (see decode.go for why).
type scanner struct {
	b []byte
	i int
}

// maxDepth bounds nesting in skipped values, so hostile input cannot
// exhaust the stack.
const maxDepth = 64

var errEOF = errors.New("unexpected end of JSON")

func (s *scanner) reset(b []byte) { s.b, s.i = b, 0 }

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end. A NUL byte also
// reads as 0; it is never valid outside a string, so a caller only needs
// atEnd to tell the two apart, for the message or the end of the input.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// atEnd reports whether only spaces are left.
func (s *scanner) atEnd() bool {
	s.ws()
	return s.i >= len(s.b)
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.atEnd() {
			return errEOF
		}
		return s.errorf("want %q, got %q", c, s.b[s.i])
	}
	s.i++
	return nil
}

// end checks that nothing but spaces follows the top-level value. It looks
// at the index, not at peek's 0, which a NUL byte would also give.
func (s *scanner) end() error {
	if !s.atEnd() {
		return s.errorf("data after the JSON value")
	}
	return nil
}

// more steps through an object or array: for the first element it checks
// for an immediately closing bracket, for later ones it expects a comma.
// It reports whether another element follows.
func (s *scanner) more(closer byte, first bool) (bool, error) {
	c := s.peek()
	switch {
	case c == 0 && s.atEnd():
		return false, errEOF
	case c == closer:
		s.i++
		return false, nil
	case first:
		return true, nil
	case c == ',':
		s.i++
		return true, nil
	}
	return false, s.errorf("want ',' or %q, got %q", closer, c)
}

// object reads an object, calling fn with each key; fn must read the
// value that follows. The key aliases the body unless it had escapes, so
// it is valid only during the call. This is the one loop over objects: the
// closures it takes do not escape, so they cost an indirect call per key,
// no allocation.
func (s *scanner) object(fn func(key []byte) error) error {
	if s.peek() != '{' {
		return fmt.Errorf("want an object, got %s", s.kind())
	}
	s.i++
	for first := true; ; first = false {
		more, err := s.more('}', first)
		if err != nil || !more {
			return err
		}
		key, err := s.key()
		if err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
	}
}

// array reads an array, calling fn with the index of each element; fn
// must read the element.
func (s *scanner) array(fn func(i int) error) error {
	if s.peek() != '[' {
		return fmt.Errorf("want an array, got %s", s.kind())
	}
	s.i++
	for i := 0; ; i++ {
		more, err := s.more(']', i == 0)
		if err != nil || !more {
			return err
		}
		if err := fn(i); err != nil {
			return err
		}
	}
}

// key reads an object key and its colon. The returned bytes alias the body
// unless the key had escapes.
func (s *scanner) key() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	raw, escaped, err := s.str()
	if err != nil {
		return nil, err
	}
	if escaped {
		k, err := unescape(raw)
		if err != nil {
			return nil, s.errorf("key: %v", err)
		}
		raw = []byte(k)
	}
	return raw, s.expect(':')
}

// str reads a string whose opening quote was consumed and returns its raw
// (still escaped) content.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	start := s.i
	// Fast path: run to the first byte that needs a look; most strings
	// end there.
	i := start
	for i < len(s.b) && !stringSpecial[s.b[i]] {
		i++
	}
	if i < len(s.b) && s.b[i] == '"' {
		s.i = i + 1
		return s.b[start:i], false, nil
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(s.b) {
				return nil, false, errEOF
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.b) {
					return nil, false, errEOF
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return nil, false, s.errorf("bad \\u escape")
					}
				}
				s.i += 5
			default:
				return nil, false, s.errorf("bad escape \\%c", s.b[s.i])
			}
		case c < 0x20:
			return nil, false, s.errorf("control character in string")
		default:
			s.i++
		}
	}
	return nil, false, errEOF
}

// stringSpecial marks the bytes that end the fast path through a string:
// the closing quote, a backslash, and control characters (invalid in JSON).
var stringSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// unescape decodes the content of a string that has escapes. It is the rare
// path, so it leans on encoding/json for the finer points (surrogates).
func unescape(raw []byte) (string, error) {
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var out string
	err := json.Unmarshal(quoted, &out)
	return out, err
}

// number reads a number that follows JSON's grammar and returns its text.
func (s *scanner) number() ([]byte, error) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i >= len(s.b):
		return nil, errEOF
	case s.b[s.i] == '0':
		s.i++
	case s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return nil, s.errorf("bad number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return nil, s.errorf("bad number: no digits after '.'")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return nil, s.errorf("bad number: no digits in exponent")
		}
	}
	return s.b[start:s.i], nil
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.errorf("bad literal, want %s", lit)
	}
	s.i += len(lit)
	return nil
}

// skip reads and validates one value of any type.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return s.errorf("nested deeper than %d", maxDepth)
	}
	if s.atEnd() {
		return errEOF
	}
	switch c := s.peek(); c {
	case '"':
		s.i++
		_, _, err := s.str()
		return err
	case '{':
		return s.object(func([]byte) error { return s.skip(depth + 1) })
	case '[':
		return s.array(func(int) error { return s.skip(depth + 1) })
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			_, err := s.number()
			return err
		}
		return s.errorf("unexpected %q", c)
	}
}

// kind names the JSON type of the next value, for error messages.
func (s *scanner) kind() string {
	switch c := s.peek(); c {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case 0:
		if s.atEnd() {
			return "nothing"
		}
		return "invalid JSON"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "number"
	default:
		return "invalid JSON"
	}
}

// rawValue skips one value and returns its JSON text.
func (s *scanner) rawValue() ([]byte, error) {
	s.ws()
	start := s.i
	if err := s.skip(0); err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
}

// toString converts body bytes to a string fit for a label value: each
// byte of invalid UTF-8 becomes U+FFFD, as encoding/json does (and as
// unescape does for strings with escapes), rather than being passed on.
func toString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b) // utf8.RuneError, 1 for a bad byte
		sb.WriteRune(r)
		b = b[n:]
	}
	return sb.String()
}
