package config

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// vndSuffixes are the multipliers people in Vietnam write after an amount,
// matched case-insensitively: k and nghìn (thousand), M, tr and triệu
// (million), B, tỷ and tỉ (billion), with or without diacritics.
var vndSuffixes = map[string]int{
	"k": 3, "nghìn": 3, "nghin": 3, "ngàn": 3, "ngan": 3,
	"m": 6, "tr": 6, "triệu": 6, "trieu": 6,
	"b": 9, "tỷ": 9, "tỉ": 9, "ty": 9, "ti": 9,
}

// vndForms is what every amount error lists.
const vndForms = "accepted forms: 5000000, 5.000.000, 5,000,000, 5_000_000, 5e6, " +
	"decimals as 1.5 or 1,5, and a suffix k/nghìn (thousand), M/tr/triệu (million) or B/tỷ/ty (billion) such as 5tr, 1,5 triệu, 2ty"

// parseVND parses a budget amount in VND as people write it. Dots and
// commas are read by their position, never by locale:
//   - a separator that occurs more than once separates groups of three
//     digits (5.000.000, 5,000,000); "_" always does (5_000_000);
//   - with both "." and ",", the last one is the decimal mark
//     (5.000.000,50 or 5,000,000.50);
//   - a single "." or "," is a decimal mark (1.5, 1,5), except before
//     exactly three digits: 5.000 is five thousand to one reader and five
//     to another, so it is refused rather than guessed.
//
// A suffix (see vndSuffixes) multiplies; scientific notation (5e6) takes
// none. The amount must be finite and positive.
func parseVND(s string) (float64, error) {
	fail := func(why string) (float64, error) {
		return 0, fmt.Errorf("%q %s; %s", s, why, vndForms)
	}
	number, exp, ok := cutVNDSuffix(strings.TrimSpace(s))
	switch {
	case number == "":
		return fail("is not an amount in VND")
	case !ok:
		return fail("has an unknown suffix")
	}
	var decimal string
	switch {
	case strings.ContainsAny(number, "eE"):
		if exp != 0 || !scientific.MatchString(number) {
			return fail("is not an amount in VND")
		}
		decimal = number
	case ambiguous.MatchString(number):
		if msg := ambiguity(number, strings.TrimSpace(s)[len(number):]); msg != "" {
			return 0, fmt.Errorf("%q %s", s, msg)
		}
		return fail("is not a finite, positive amount in VND")
	default:
		intPart, frac, why := splitGrouped(number)
		if why != "" {
			return fail(why)
		}
		decimal = intPart + "." + frac + "e" + strconv.Itoa(exp)
	}
	// ParseFloat rounds the exact decimal once: the suffix moves the
	// exponent rather than multiplying a rounded value.
	v, err := strconv.ParseFloat(decimal, 64)
	// 0 is refused, not taken as "no budget": leave the flag out for that.
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || v <= 0 {
		return fail("is not a finite, positive amount in VND")
	}
	return v, nil
}

// parseAmount is parseVND for the value of name, a flag or a key of the
// accounts file; "", a value left out, is 0: no budget.
func parseAmount(name, s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := parseVND(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// scientific is a plain decimal with an exponent: 5e6, 1.5E+6.
var scientific = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+$`)

// ambiguous is a single "." or "," before exactly three digits, which
// parseVND answers with the spellings that read one way (see ambiguity).
var ambiguous = regexp.MustCompile(`^[0-9]+[.,][0-9]{3}$`)

// cutVNDSuffix splits "5 triệu" into "5" and 6. ok is false for text after
// the number that is not a known suffix.
func cutVNDSuffix(s string) (number string, exp int, ok bool) {
	end := strings.LastIndexFunc(s, isDigit) + 1
	suffix := strings.ToLower(strings.TrimSpace(s[end:]))
	if suffix == "" {
		return s, 0, true
	}
	exp, ok = vndSuffixes[suffix]
	return s[:end], exp, ok
}

// splitGrouped reads digits with "." "," "_" separators (see parseVND) into
// the integer digits and the decimal digits; why says what is wrong.
func splitGrouped(s string) (intPart, frac, why string) {
	if s == "" || !isDigit(rune(s[0])) || !isDigit(rune(s[len(s)-1])) {
		return "", "", "is not an amount in VND"
	}
	group, mark := separators(s)
	if group == "?" || (mark != "" && strings.Count(s, mark) != 1) {
		return "", "", "is not an amount in VND"
	}
	intPart = s
	if mark != "" {
		intPart, frac, _ = strings.Cut(s, mark)
	}
	if group != "" {
		var ok bool
		if intPart, ok = ungroup(intPart, group); !ok {
			return "", "", "has digits in groups other than three"
		}
	}
	if strings.ContainsFunc(intPart+frac, isNotDigit) {
		return "", "", "is not an amount in VND"
	}
	if frac == "" {
		frac = "0"
	}
	return intPart, frac, ""
}

// ungroup drops the separators of digits in groups of three (the first
// group may be shorter); ok is false for any other grouping.
func ungroup(s, sep string) (digits string, ok bool) {
	groups := strings.Split(s, sep)
	for i, g := range groups {
		if len(g) != 3 && (i > 0 || len(g) == 0 || len(g) > 3) {
			return "", false
		}
	}
	return strings.Join(groups, ""), true
}

// ambiguity says how to write number (such as 12,500) and suffix so that it
// reads one way: without the separator (or, with no suffix, in k) for
// thousands, with a decimal mark no three digits follow for the other. It is
// "" for 0.000, whose readings are both zero: no spelling makes that a budget.
func ambiguity(number, suffix string) string {
	i := strings.IndexAny(number, ".,")
	mark, intPart, frac := number[i:i+1], number[:i], number[i+1:]
	whole := strings.TrimLeft(intPart+frac, "0")
	if whole == "" {
		return ""
	}
	intPart = cmp.Or(strings.TrimLeft(intPart, "0"), "0")
	thousands := whole + suffix
	if trimmed := strings.TrimRight(frac, "0"); suffix == "" && len(trimmed) < 3 {
		thousands += " or " + intPart + strings.TrimSuffix("."+trimmed, ".") + "k"
	}
	decimal := strings.TrimRight(frac, "0")
	switch len(decimal) {
	case 0:
		decimal = "0"
	case 3: // 1.125 is as ambiguous as the input: a fourth digit settles it
		decimal += "0"
	}
	return fmt.Sprintf("is ambiguous: write %s if the %q separates thousands, or %s.%s%s if it is the decimal mark",
		thousands, mark, intPart, decimal, suffix)
}

// separators finds the thousands separator and the decimal mark of s, each
// "" when absent: "_" or a repeated "." or "," groups, a single one is the
// decimal mark, and with two kinds the last to appear is the decimal mark.
func separators(s string) (group, mark string) {
	var kinds []string
	for _, r := range s {
		if k := string(r); (r == '.' || r == '_' || r == ',') && !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		return "", ""
	case len(kinds) == 2 && kinds[1] != "_":
		return kinds[0], kinds[1]
	case len(kinds) == 1 && (kinds[0] == "_" || strings.Count(s, kinds[0]) > 1):
		return kinds[0], ""
	case len(kinds) == 1:
		return "", kinds[0]
	}
	return "?", "" // three kinds, or "_" after a decimal mark: refused by the caller
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isNotDigit(r rune) bool { return r < '0' || r > '9' }
