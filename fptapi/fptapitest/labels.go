package fptapitest

// The generator's label tables (services, VPCs, billing groups, tags) and
// the label sets built from them, with the query filters that select them.

import (
	"slices"
	"strconv"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// Label sets: row i falls in label set k = i mod LabelSets. k is mapped to
// (service, vpc, billing group, tag) through its residues modulo 7, 5, 3 and
// 8, which are pairwise coprime, so the first 840 label sets are distinct and
// every dimension varies quickly; beyond 840 the tag gets a numeric suffix.

type service struct {
	name   string // the row's "service" and the value service_type filters on
	prefix string // of the resource's name
	attach string // of the attached VM's name; "" for none
}

var services = [...]service{
	svcInstance: {"instance", "vm", "vm"},
	svcStorage:  {"storage", "vol", "vm"},
	svcIP:       {"ip", "ip", "vm"},
	svcLB:       {"load-balancer", "lb", "vm"},
	svcBackup:   {"backup", "bk", "vm"},
	svcGPU:      {"gpu", "gpu", "gpu"},
	svcS3:       {"s3", "s3", ""},
}

const (
	svcInstance = iota
	svcStorage
	svcIP
	svcLB
	svcBackup
	svcGPU
	svcS3
)

// Services returns the service values the fake generates, in a fixed order.
func Services() []string {
	out := make([]string, len(services))
	for i, s := range services {
		out[i] = s.name
	}
	return out
}

var tenants = [...]string{"Chi nhánh Hà Nội", "Chi nhánh Hồ Chí Minh"}

var vpcs = [...]struct {
	name, slug, site string
	tenant           int
}{
	{"Sản xuất Hà Nội", "sx-hn", "HN01", 0},
	{"Sản xuất TP. Hồ Chí Minh", "sx-hcm", "HCM01", 1},
	{"Phát triển & Kiểm thử", "dev", "HN02", 0},
	{`Dữ liệu "Lớn" – Phân tích`, "data", "HCM02", 1}, // a quote keeps escaping honest
	{"Đào tạo mô hình AI", "ai", "HN02", 0},
}

type group struct {
	name, invoice string
	configs       []string
}

var groups = [...]group{
	{"Khối Công nghệ", "HĐ Khối Công nghệ", []string{"CNTT - Hạ tầng", "CNTT - Ứng dụng"}},
	{"Khối Kinh doanh", "HĐ Khối Kinh doanh", []string{"Kinh doanh Miền Bắc", "Kinh doanh Miền Nam", "Marketing"}},
	{"Dự án AI", "HĐ Dự án AI", []string{"AI - Huấn luyện"}},
}

// Tags: index 0 is the empty tag. None ends in "#<digits>" or starts with
// "auto-", the forms used past the 840th label set, so tags stay distinct.
var tags = [...]string{
	"", "env:prod", "env:staging", "team:data",
	"dự-án:thanh-toán", "owner:nguyễn.văn.a", "cost-center:CC01", "env:dev",
}

const labelPeriod = len(services) * len(vpcs) * len(groups) * len(tags) // 840

var policies = [...]string{"SSD", "Premium-SSD", "HDD", "Standard", "-"}

const (
	polSSD = iota
	polPremium
	polHDD
	polStandard
	polNone
)

const orgName = "Công ty Cổ phần Công nghệ Sao Việt"

// generatedGroups are the groups and config names generated rows use.
func generatedGroups() []fptapi.BillingGroup {
	out := make([]fptapi.BillingGroup, len(groups))
	for i, g := range groups {
		out[i] = fptapi.BillingGroup{Name: g.name, ConfigNames: slices.Clone(g.configs)}
	}
	return out
}

// labels are the dimensions of label set k.
type labels struct {
	svc, vpc, grp, tag, ext, cfg int
}

func (g *gen) labels(k int) labels {
	l := labels{svc: k % 7, vpc: k % 5, grp: k % 3, tag: k % 8, ext: k / labelPeriod}
	l.cfg = int(mix(g.seed^uint64(k)*0xd1342543de82ef95) % uint64(len(groups[l.grp].configs)))
	return l
}

// tagValue is the label set's tag: the base and, past the first 840, a
// suffix.
func (l *labels) tagValue() string {
	switch {
	case l.ext == 0:
		return tags[l.tag]
	case l.tag == 0:
		return "auto-" + strconv.Itoa(l.ext)
	}
	return tags[l.tag] + "#" + strconv.Itoa(l.ext)
}

// filter is a bills query filter resolved to label dimensions; -1 is "any".
type filter struct {
	svc, grp, cfg int
	none          bool // a name that matches nothing
}

func resolveFilter(f fptapi.Filter) filter {
	out := filter{svc: -1, grp: -1, cfg: -1}
	nothing := filter{svc: -1, grp: -1, cfg: -1, none: true}
	if f.ServiceType != "" {
		if out.svc = slices.IndexFunc(services[:], func(s service) bool { return s.name == f.ServiceType }); out.svc < 0 {
			return nothing
		}
	}
	if f.BillingGroupName != "" {
		if out.grp = slices.IndexFunc(groups[:], func(g group) bool { return g.name == f.BillingGroupName }); out.grp < 0 {
			return nothing
		}
	}
	if f.BillingConfigName == "" {
		return out
	}
	for gi, g := range groups {
		if ci := slices.Index(g.configs, f.BillingConfigName); ci >= 0 && (out.grp == -1 || out.grp == gi) {
			out.grp, out.cfg = gi, ci
			return out
		}
	}
	out.none = true
	return out
}

func (f *filter) any() bool { return f.svc < 0 && f.grp < 0 && f.cfg < 0 && !f.none }

// matchK reports whether label set k passes the filter.
func (g *gen) matchK(f *filter, k int) bool {
	return !f.none &&
		(f.svc < 0 || k%7 == f.svc) &&
		(f.grp < 0 || k%3 == f.grp) &&
		(f.cfg < 0 || g.labels(k).cfg == f.cfg)
}

// count is the number of the first n rows matching f: O(LabelSets).
func (g *gen) count(f *filter, n int) int {
	if f.any() {
		return n
	}
	total := 0
	for k := 0; k < g.labelSets && k < n; k++ {
		if g.matchK(f, k) {
			total += (n-1-k)/g.labelSets + 1
		}
	}
	return total
}

// matchBill applies a filter to an explicit row.
func matchBill(f *fptapi.Filter, b *fptapi.Bill) bool {
	return (f.ServiceType == "" || f.ServiceType == b.Service) &&
		(f.BillingGroupName == "" || f.BillingGroupName == b.BillingGroupName) &&
		(f.BillingConfigName == "" || f.BillingConfigName == b.BillingConfigName)
}
