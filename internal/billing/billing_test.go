package billing

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDateArithmetic(t *testing.T) {
	t.Parallel()
	hcm, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)

	tests := []struct {
		name string
		got  Date
		want string
	}{
		{"day 0 is the last of the previous month", NewDate(2026, 11, 0), "2026-10-31"},
		{"month 13 is January", NewDate(2026, 13, 1), "2027-01-01"},
		{"a leap day", NewDate(2028, 2, 29), "2028-02-29"},
		{"the day after the last of February", NewDate(2026, 2, 28).AddDays(1), "2026-03-01"},
		{"the day before the 1st of January", NewDate(2027, 1, 1).AddDays(-1), "2026-12-31"},
		{"the month's start", NewDate(2026, 12, 17).MonthStart(), "2026-12-01"},
		{"a time's day in its own zone", DateOf(time.Date(2026, 12, 1, 23, 30, 0, 0, time.UTC).In(hcm)), "2026-12-02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.got.String())
		})
	}

	d := NewDate(2026, 12, 2)
	assert.Equal(t, time.Date(2026, 12, 2, 0, 0, 0, 0, hcm), d.Start(hcm))
	assert.Equal(t, time.Date(2026, 12, 3, 0, 0, 0, 0, hcm), d.End(hcm))
	assert.True(t, d.Before(d.AddDays(1)))
	assert.False(t, d.Before(d))

	parsed, err := ParseDate("2026-12-02")
	require.NoError(t, err)
	assert.Equal(t, d, parsed)
	_, err = ParseDate("2026-13-02")
	assert.Error(t, err)
}

func TestLabels(t *testing.T) {
	t.Parallel()
	a := Labels{VPCID: "v1", VPCName: "prod", Service: "instance", BillingGroup: "Khối Công nghệ", Tag: "web"}
	b := a
	b.Tag = "xweb"

	assert.Negative(t, Compare(a, b))
	assert.Positive(t, Compare(b, a))
	assert.Zero(t, Compare(a, a.Clone()))
	assert.Equal(t, a, a.Clone())
}

func TestDaySortIsCanonical(t *testing.T) {
	t.Parallel()
	a, b := Labels{VPCID: "a"}, Labels{VPCID: "b"}
	d := Day{
		Costs:     []Cost{{Labels: b, TotalPrice: 1}, {Labels: a, TotalPrice: 2}},
		Resources: []ResourceCost{{Labels: a, InfraID: "2"}, {Labels: b, InfraID: "1"}, {Labels: a, InfraID: "1", Name: "y"}, {Labels: a, InfraID: "1", Name: "x"}},
	}
	d.Sort()
	assert.Equal(t, []Cost{{Labels: a, TotalPrice: 2}, {Labels: b, TotalPrice: 1}}, d.Costs)
	assert.Equal(t, []ResourceCost{{Labels: a, InfraID: "1", Name: "x"}, {Labels: a, InfraID: "1", Name: "y"}, {Labels: a, InfraID: "2"}, {Labels: b, InfraID: "1"}}, d.Resources)
}
