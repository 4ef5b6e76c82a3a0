package collector

import (
	"unicode/utf8"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// MaxLabelValueBytes is the longest label value the exporter keeps, in
// bytes. A longer value from the API is cut to it (ending in "…") before
// it reaches the sums, so that memory, scrapes and day files stay bounded
// whatever the API sends. Two values that differ only past it are summed
// as one.
const MaxLabelValueBytes = 1024

// ellipsis ends a cut value, so that nobody mistakes it for the real one.
const ellipsis = "…"

// labelFields are the bill fields that become label values, named by their
// label: the order of the counters in labelCuts.
var labelFields = [...]string{"vpc_id", "vpc_name", "service", "billing_group", "tag", "resource_id", "resource_name"}

// labelCuts counts, per field, the rows whose value was cut. The reader
// owns it; scrapes see the counts a snapshot copied.
type labelCuts [len(labelFields)]uint64

// limitPage cuts the over-long label values of page in place, and returns
// the fields cut for the first time, so that each is logged once.
func (c *labelCuts) limitPage(page []fptapi.Bill) (first []string) {
	for i := range page {
		b := &page[i]
		for f, v := range [...]*string{&b.VPCID, &b.VPCName, &b.Service, &b.BillingGroupName, &b.Tag, &b.InfraID, &b.Name} {
			if len(*v) <= MaxLabelValueBytes {
				continue
			}
			*v = cutLabelValue(*v)
			if c[f]++; c[f] == 1 {
				first = append(first, labelFields[f])
			}
		}
	}
	return first
}

// cutLabelValue returns the longest prefix of s that, with the ellipsis,
// fits MaxLabelValueBytes, never splitting a UTF-8 sequence.
func cutLabelValue(s string) string {
	n := MaxLabelValueBytes - len(ellipsis)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	// The concatenation copies: the cut value does not pin the long one.
	return s[:n] + ellipsis
}
