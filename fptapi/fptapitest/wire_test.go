package fptapitest

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

func TestGeneratedPagesAreValidJSON(t *testing.T) {
	t.Parallel()
	// Many seeds and label sets, past the 840 base combinations, every mode.
	for _, seed := range []int64{0, 1, -42} {
		s := newServer(Config{Seed: seed, RowsPerDay: 3000, LabelSets: 1500, Now: fixedNow})
		for _, f := range []Fault{{}, {NumbersAsStrings: true}, {NullNumbers: true}, {NullData: true}, {RepeatCursor: true}} {
			p := pageRequest{q: mustDay(t, s, "2025-03-01"), size: 3000, page: 1, fault: f}
			b := s.renderPage(&p)
			require.True(t, json.Valid(b), "seed %d fault %+v", seed, f)
		}
	}
}

// TestGeneratedJSONMatchesBill: a client decodes exactly the values
// EachBill reports, bit for bit (sums can then be compared with ==).
func TestGeneratedJSONMatchesBill(t *testing.T) {
	t.Parallel()
	s := newServer(Config{Seed: 3, RowsPerDay: 2000, LabelSets: 1000, Now: fixedNow})
	q := mustDay(t, s, "2025-03-15") // partial day: odd running times
	p := pageRequest{q: q, size: 2000, page: 1}
	var got page
	require.NoError(t, json.Unmarshal(s.renderPage(&p), &got))
	want := expected(t, s, "2025-03-15", fptapi.Filter{})
	require.Len(t, got.Data, 2000)
	for i := range want {
		require.Equal(t, want[i], got.Data[i], "row %d", i)
		for _, v := range [][2]float64{{want[i].TotalPrice, got.Data[i].TotalPrice}, {want[i].RAMQuantity, got.Data[i].RAMQuantity}} {
			require.Equal(t, math.Float64bits(v[0]), math.Float64bits(v[1]), "row %d", i)
		}
	}
}

func TestNumberModes(t *testing.T) {
	t.Parallel()
	w := wireBill{Name: "a", TotalPrice: 1234.5, VCPU: math.NaN(), RAM: math.Inf(-1)}
	for _, tc := range []struct {
		f                Fault
		price, vcpu, ram any
	}{
		{Fault{}, 1234.5, "NaN", "-Inf"},
		{Fault{NumbersAsStrings: true}, "1234.5", "NaN", "-Inf"},
		{Fault{NullNumbers: true}, nil, nil, nil},
	} {
		b, err := json.Marshal(rowMaps([]wireBill{w}, &tc.f))
		require.NoError(t, err)
		var rows []map[string]any
		require.NoError(t, json.Unmarshal(b, &rows))
		require.Len(t, rows, 1)
		assert.Len(t, rows[0], 30, "every documented field")
		assert.Equal(t, "a", rows[0]["name"])
		assert.Equal(t, tc.price, rows[0]["total_price"])
		assert.Equal(t, tc.vcpu, rows[0]["vcpu"])
		assert.Equal(t, tc.ram, rows[0]["ram"])
	}

	// Plain finite rows marshal as they are, in the documented field order.
	s := newServer(Config{Now: fixedNow})
	s.SetBills("2025-03-02", []fptapi.Bill{{TotalPrice: 1}})
	p := pageRequest{q: mustDay(t, s, "2025-03-02"), size: 10, page: 1}
	want, err := json.Marshal([]wireBill{{TotalPrice: 1}})
	require.NoError(t, err)
	assert.Contains(t, string(s.renderPage(&p)), `"data":`+string(want))
}

func mustDay(t testing.TB, s *Server, day string) dayQuery {
	t.Helper()
	q, err := s.resolveDay(day)
	require.NoError(t, err)
	return q
}

// TestWireBillHasEveryBillField: a field of fptapi.Bill that wireBill
// lacks would silently stay empty in every generated and explicit row.
func TestWireBillHasEveryBillField(t *testing.T) {
	t.Parallel()
	assert.Len(t, billFields, reflect.TypeFor[fptapi.Bill]().NumField())
}
