package fptapitest

// The generator's label tables (services, VPCs, billing groups, tags) and
// the label sets built from them, with the filters that select them.

import (
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

// matchK reports whether the rows of label set k pass f.
func (g *gen) matchK(f *fptapi.Filter, k int) bool {
	l := g.labels(k)
	return match(f, services[l.svc].name, groups[l.grp].name, groups[l.grp].configs[l.cfg])
}

// match reports whether a row of this service, billing group and config
// passes f.
func match(f *fptapi.Filter, service, group, config string) bool {
	return (f.ServiceType == "" || f.ServiceType == service) &&
		(f.BillingGroupName == "" || f.BillingGroupName == group) &&
		(f.BillingConfigName == "" || f.BillingConfigName == config)
}

// count is how many of the first n rows pass f: O(LabelSets).
func (g *gen) count(f *fptapi.Filter, n int) int {
	if *f == (fptapi.Filter{}) {
		return n
	}
	total := 0
	for k := range min(g.labelSets, n) {
		if g.matchK(f, k) {
			total += (n-1-k)/g.labelSets + 1
		}
	}
	return total
}
