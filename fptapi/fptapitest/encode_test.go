package fptapitest

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `"`, `\`, "\n\r\t\b\f", "\x00\x01\x1f\x7f", "Đào tạo mô hình AI", "🇻🇳",
		"\xff", "a\xc3", "\xed\xa0\x80", "\u2028\u2029", "<&>", `{"a":[1,2]}`,
	} {
		got := appendString(nil, s)
		require.True(t, json.Valid(got), "%q -> %s", s, got)
		var back, want string
		require.NoError(t, json.Unmarshal(got, &back))
		js, err := json.Marshal(s)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(js, &want))
		assert.Equal(t, want, back, "%q", s)
	}
}

func TestAppendFixed(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		d    int
		want string
	}{
		{0, 4, "0"}, {240000, 4, "24"}, {12345, 4, "1.2345"}, {10, 4, "0.001"}, {123450, 4, "12.345"},
		{100, 2, "1"}, {12345, 2, "123.45"}, {5, 2, "0.05"}, {120, 2, "1.2"}, {7, 0, "7"},
	} {
		got := string(appendFixed(nil, tc.v, tc.d))
		assert.Equal(t, tc.want, got)
		f, err := strconv.ParseFloat(got, 64)
		require.NoError(t, err)
		// Exactly the value bill() reports, bit for bit.
		assert.Equal(t, math.Float64bits(float64(tc.v)/float64(pow10[tc.d])), math.Float64bits(f), got)
	}
}

func TestAppendFloat(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-7, 1e21, 123456.78, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		got := appendFloat(nil, v)
		require.True(t, json.Valid(got), "%v -> %s", v, got)
		var back float64
		require.NoError(t, json.Unmarshal(got, &back))
		assert.Equal(t, math.Float64bits(v), math.Float64bits(back), "%v", v)
	}
}

func TestGeneratedPagesAreValidJSON(t *testing.T) {
	// Many seeds and label sets, past the 840 base combinations, every mode.
	for _, seed := range []int64{0, 1, -42} {
		s := newServer(Config{Seed: seed, RowsPerDay: 3000, LabelSets: 1500, Now: fixedNow})
		for _, f := range []Fault{{}, {NumbersAsStrings: true}, {NullNumbers: true}, {NullData: true}, {RepeatCursor: true}} {
			p := pageRequest{q: mustDay(t, s, "2025-03-01"), size: 3000, page: 1, fault: f}
			b := s.renderPage(nil, &p)
			require.True(t, json.Valid(b), "seed %d fault %+v", seed, f)
		}
	}
}

func TestGeneratedJSONMatchesBill(t *testing.T) {
	s := newServer(Config{Seed: 3, RowsPerDay: 2000, LabelSets: 1000, Now: fixedNow})
	q := mustDay(t, s, "2025-03-15") // partial day: odd running times
	p := pageRequest{q: q, size: 2000, page: 1}
	var got page
	require.NoError(t, json.Unmarshal(s.renderPage(nil, &p), &got))
	var want []fptapi.Bill
	require.NoError(t, s.EachBill("2025-03-15", fptapi.Filter{}, func(b *fptapi.Bill) bool {
		want = append(want, *b)
		return true
	}))
	assert.Equal(t, want, got.Data)

	// The slow general encoder writes the same rows.
	var generic []byte
	generic = append(generic, '[')
	for i := range want {
		if i > 0 {
			generic = append(generic, ',')
		}
		generic = appendBill(generic, &want[i], numPlain)
	}
	generic = append(generic, ']')
	var again []fptapi.Bill
	require.NoError(t, json.Unmarshal(generic, &again))
	assert.Equal(t, want, again)
}

func mustDay(t testing.TB, s *Server, day string) dayQuery {
	t.Helper()
	q, err := s.resolveDay(day)
	require.NoError(t, err)
	return q
}
