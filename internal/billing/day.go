package billing

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Day is one closed billing day's sums: what the reader keeps of a day,
// what the store writes and what backfill serves. Costs and Resources are
// sorted (see Sort), so that the same sums always make the same file.
type Day struct {
	Date   Date // in the billing time zone
	ReadAt time.Time
	// Final is true when the day was read after its late window closed:
	// it will not be read again. A day that is not final is read again.
	Final bool
	Costs []Cost
	// PerResource is true when the day carries per-resource sums: the
	// exporter ranking the most expensive resources writes them, a backfill
	// does not. UntrackedResourceRows counts the rows of resources beyond
	// the exporter's cap, which are not in Resources.
	PerResource           bool
	Resources             []ResourceCost
	UntrackedResourceRows int
}

// Cost is the sum of total_price of one label set on one day, in VND.
type Cost struct {
	Labels
	TotalPrice float64
}

// ResourceCost is the sum of total_price of one resource (infra_id and
// name) in one label set on one day, in VND.
type ResourceCost struct {
	Labels
	InfraID, Name string
	TotalPrice    float64
}

// CompareResources orders resources by label set, then infra_id, then name.
func CompareResources(a, b ResourceCost) int {
	return cmp.Or(Compare(a.Labels, b.Labels), strings.Compare(a.InfraID, b.InfraID), strings.Compare(a.Name, b.Name))
}

// Sort puts Costs and Resources in their canonical order.
func (d *Day) Sort() {
	slices.SortFunc(d.Costs, func(a, b Cost) int { return Compare(a.Labels, b.Labels) })
	slices.SortFunc(d.Resources, CompareResources)
}
