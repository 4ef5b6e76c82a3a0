package fptapitest

import (
	"math"
	"strconv"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// The generator derives every row from (seed, day, index) with a cheap hash,
// so a day of a million rows costs nothing until it is paged, and any page
// can be produced on its own. Attributes of a resource (size, name, id) hang
// on (seed, index) and stay the same from day to day; its schedule that day
// (created, deleted, a GPU job) hangs on (seed, day, index).
//
// Label sets: row i falls in label set k = i mod LabelSets. k is mapped to
// (service, vpc, billing group, tag) through its residues modulo 7, 5, 3 and
// 8, which are pairwise coprime, so the first 840 label sets are distinct and
// every dimension varies quickly; beyond 840 the tag gets a numeric suffix.

// Service values: the row's "service" and the values service_type filters on.
var services = [...]struct{ name, prefix string }{
	{"instance", "vm"},
	{"storage", "vol"},
	{"ip", "ip"},
	{"load-balancer", "lb"},
	{"backup", "bk"},
	{"gpu", "gpu"},
	{"s3", "s3"},
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

var groups = [...]struct {
	name, invoice string
	configs       []string
}{
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

// prices are unit prices in 1/100 VND per unit-hour, per billing config.
type prices struct {
	cpu, ram, gpu, ip, lb, backup, s3 int64
	disk                              [3]int64 // by policy SSD, Premium-SSD, HDD
}

// gen produces rows. It is immutable after newGen and safe for concurrent use.
type gen struct {
	seed      uint64
	rows      int // rows per full day
	labelSets int

	prices [len(groups)][]prices // [group][config]

	orgID       string
	tenantIDs   [len(tenants)]string
	vpcIDs      [len(vpcs)]string
	attachNames [len(services)][len(vpcs)]string // name prefix of the attached VM; "-" (whole value) for S3
}

// mix is splitmix64's finalizer: cheap, and good enough to look random.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

const hexDigits = "0123456789abcdef"

// appendUUID writes a version-4 shaped UUID built from two hashes.
func appendUUID(b []byte, hi, lo uint64) []byte {
	hi = hi&^0xf000 | 0x4000         // version 4
	lo = lo&^(0xc<<60) | (0x8 << 60) // variant 10
	var u [36]byte
	j := 0
	put := func(v uint64, nibbles int) {
		for i := nibbles - 1; i >= 0; i-- {
			u[j] = hexDigits[(v>>(uint(i)*4))&0xf]
			j++
		}
	}
	put(hi>>32, 8)
	u[j] = '-'
	j++
	put(hi>>16, 4)
	u[j] = '-'
	j++
	put(hi, 4)
	u[j] = '-'
	j++
	put(lo>>48, 4)
	u[j] = '-'
	j++
	put(lo, 12)
	return append(b, u[:]...)
}

func uuidString(hi, lo uint64) string { return string(appendUUID(nil, hi, lo)) }

func newGen(seed int64, rows, labelSets int) *gen {
	g := &gen{seed: mix(uint64(seed)), rows: rows, labelSets: labelSets}
	s := g.seed

	g.orgID = uuidString(mix(s^1), mix(s^2))
	for i := range tenants {
		g.tenantIDs[i] = uuidString(mix(s^uint64(100+i)), mix(s^uint64(200+i)))
	}
	for i := range vpcs {
		g.vpcIDs[i] = uuidString(mix(s^uint64(300+i)), mix(s^uint64(400+i)))
	}

	for sv := range services {
		for v, vpc := range vpcs {
			g.attachNames[sv][v] = attachPrefix(sv, vpc.slug)
		}
	}
	for gi, grp := range groups {
		g.prices[gi] = make([]prices, len(grp.configs))
		for ci := range grp.configs {
			// Each contract has its own price list, close to FPT's public ones.
			h := mix(s ^ uint64(1000+gi*10+ci))
			g.prices[gi][ci] = prices{
				cpu:    35000 + int64(h%25000),       // 350-600 VND per vCPU-hour
				ram:    12000 + int64((h>>16)%13000), // 120-250 VND per GB-hour
				disk:   [3]int64{500 + int64((h>>32)%200), 800 + int64((h>>40)%200), 300 + int64((h>>48)%100)},
				gpu:    5200000 + int64((h>>8)%600000), // ~55,000 VND per GPU-hour
				ip:     13900,                          // ~100,000 VND a month
				lb:     85000,
				backup: 250,
				s3:     180,
			}
		}
	}
	return g
}

func poolName(site string) string {
	b := []byte("pool-")
	for _, c := range []byte(site) {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b) + "-general"
}

// attachPrefix is the name prefix of the VM a resource is attached to: its
// own for VMs, another VM for volumes, IPs, LBs and backups, none for S3.
func attachPrefix(svc int, slug string) string {
	switch svc {
	case svcInstance, svcStorage, svcIP, svcLB, svcBackup:
		return "vm-" + slug + "-"
	case svcGPU:
		return "gpu-" + slug + "-"
	}
	return "-"
}

// attachIndex picks, from h, a row that is an instance in vpc, so that
// attach_vm names a VM that really is billed that day; with too few label
// sets for that, any row index.
func (g *gen) attachIndex(vpc int, h uint64) int64 {
	// Label sets of instances in vpc are k = c + 35j with c = 0 mod 7, vpc mod 5.
	c := (21 * vpc) % 35
	limit := min(g.labelSets, g.rows)
	if c >= limit {
		return int64(h % uint64(g.rows))
	}
	k := c + 35*int(h%uint64((limit-1-c)/35+1))
	m := (g.rows-1-k)/g.labelSets + 1
	return int64(k + g.labelSets*int((h>>32)%uint64(m)))
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

// appendTag writes a label set's tag: the base and its suffix.
func appendTag(b []byte, base string, tagIdx, ext int) []byte {
	b = append(b, base...)
	if ext == 0 {
		return b
	}
	if tagIdx == 0 {
		b = append(b, "auto-"...)
	} else {
		b = append(b, '#')
	}
	return strconv.AppendInt(b, int64(ext), 10)
}

// row is one generated bill row in fixed point: quantities and running time
// in 1/10000, money in 1/100 VND, so that every number is an exact decimal.
type row struct {
	index    int
	dom      int // day of the month
	l        labels
	policy   int
	vcpu     int64
	ram      int64 // GB
	disk     int64 // GB
	gpus     int64
	startSec int64 // start_time, seconds after midnight
	rt       int64 // running_time, hours/10000
	price    int64 // total_price, VND/100
	hr       uint64
	attach   int64 // index of the attached VM
}

// fill computes row i of a day. dayNum is days since 1970-01-01, dom the day
// of the month, elapsed the seconds of the day that have passed (86400 for a
// full day).
func (g *gen) fill(r *row, dayNum int64, dom int, elapsed int64, i int) {
	r.index, r.dom = i, dom
	r.l = g.labels(i % g.labelSets)
	hr := mix(g.seed ^ uint64(i)*0x9e3779b97f4a7c15)
	hd := mix(hr ^ uint64(dayNum)*0xbf58476d1ce4e5b9)
	r.hr = hr
	r.vcpu, r.ram, r.disk, r.gpus = 0, 0, 0, 0
	r.attach = g.attachIndex(r.l.vpc, mix(hr^0x3c3c))

	start, stop := r.shape(hd)
	r.startSec = start
	secs := min(stop, elapsed) - start
	if secs < 0 {
		secs = 0
	}
	r.rt = (secs*25 + 4) / 9 // seconds to hours/10000, rounded
	r.price = (g.perHour(r)*r.rt + 5000) / 10000
}

// shape sets the row's sizes, policy and attached VM from its resource hash
// r.hr and the day's hash hd, and returns the seconds of the day between
// which it ran.
func (r *row) shape(hd uint64) (start, stop int64) {
	hr := r.hr
	// Growth through the month, reset by clean-ups: storage that keeps data.
	grow := func(base int64) int64 {
		return base + base*int64(r.dom)/60 + base*int64(hd>>50&7)/200
	}
	start, stop = 0, 86400
	p := hd % 1000
	switch r.l.svc {
	case svcInstance:
		return r.shapeInstance(hd)
	case svcStorage:
		r.disk = [...]int64{50, 100, 200, 500, 1000, 2000}[(hr>>16)%6]
		r.policy = int((hr >> 24) % 3)
		if p < 15 {
			start = int64(hd>>20) % 86400
		}
	case svcIP:
		r.policy = polNone
		if p < 15 {
			start = int64(hd>>20) % 86400
		}
	case svcLB:
		r.policy = polNone
	case svcBackup:
		r.disk = grow(20 + int64(hr>>16)%980)
		r.policy = polHDD
	case svcGPU:
		return r.shapeGPU(hd)
	case svcS3:
		r.disk = grow(100 + int64(hr>>16)%4900)
		r.policy = polStandard
	}
	return start, stop
}

// shapeInstance is shape for a VM.
func (r *row) shapeInstance(hd uint64) (start, stop int64) {
	hr := r.hr
	r.vcpu = [...]int64{1, 2, 2, 4, 4, 8, 16, 32}[hr&7]
	r.ram = r.vcpu * [...]int64{1, 2, 4}[(hr>>8)%3]
	r.disk = [...]int64{20, 40, 50, 80, 100, 200, 500}[(hr>>16)%7]
	r.policy = int(hr>>24) & 1
	r.attach = int64(r.index)
	start, stop = 0, 86400
	switch p := hd % 1000; {
	case p < 40: // created during the day
		start = int64(hd>>20) % 86400
	case p < 70: // deleted or powered off during the day
		stop = int64(hd>>20) % 86400
	}
	return start, stop
}

// shapeGPU is shape for a GPU VM.
func (r *row) shapeGPU(hd uint64) (start, stop int64) {
	r.gpus = [...]int64{1, 1, 1, 1, 2}[(r.hr>>16)%5]
	r.vcpu = 8 * r.gpus
	r.ram = 64 * r.gpus
	r.disk = 200 * r.gpus
	r.policy = polPremium
	r.attach = int64(r.index)
	// Training jobs: a GPU VM runs on 8 days in 10, for 1 to 6 hours.
	if hd%1000 < 200 {
		return 0, 0
	}
	start = int64(hd>>20) % 72000
	return start, min(start+3600+int64(hd>>40)%18000, 86400)
}

// perHour is what an hour of the row's running time costs, in 1/100 VND,
// at its billing config's prices.
func (g *gen) perHour(r *row) int64 {
	pr := &g.prices[r.l.grp][r.l.cfg]
	switch r.l.svc {
	case svcInstance, svcGPU:
		return r.vcpu*pr.cpu + r.ram*pr.ram + r.disk*pr.disk[r.policy] + r.gpus*pr.gpu
	case svcStorage:
		return r.disk * pr.disk[r.policy]
	case svcIP:
		return pr.ip
	case svcLB:
		return pr.lb
	case svcBackup:
		return r.disk * pr.backup
	case svcS3:
		return r.disk * pr.s3
	}
	return 0
}

func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func appendPad6(b []byte, v int) []byte {
	if v >= 1000000 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:]...)
}

// resourceID and resourceName keep a row slot's resource across days, so
// that a resource's cost adds up over the month, with what real tenants
// have too: a resource replaced in the middle of the month (row slots with
// index%40 == 7 hold one resource until the 15th, another from then on),
// public IPs named alike in every VPC, and one IP row in ten without an
// infra_id.
func (g *gen) resourceID(r *row) string {
	if r.l.svc == svcIP && r.index%10 == 0 {
		return ""
	}
	hr := r.hr
	if r.index%40 == 7 && r.dom >= 15 {
		hr = mix(hr ^ 0x1515)
	}
	return uuidString(mix(hr^0x5555), mix(hr^0xaaaa))
}

func (g *gen) resourceName(r *row, prefix, vpcSlug string) string {
	if r.l.svc == svcIP {
		return "ip-public-" + strconv.Itoa(r.index%3)
	}
	name := string(appendPad6([]byte(prefix+"-"+vpcSlug+"-"), r.index))
	if r.index%40 == 7 && r.dom >= 15 {
		name += "-new"
	}
	return name
}

// bill is a generated row as sent. Numbers are fixed-point values divided
// once, and encoding/json writes the shortest text that reads back as the
// same float64, so a client decodes exactly these values.
func (g *gen) bill(r *row, day string) wireBill {
	vpc := vpcs[r.l.vpc]
	svc := services[r.l.svc]
	grp := groups[r.l.grp]
	st := make([]byte, 0, 8)
	st = append2(st, r.startSec/3600)
	st = append(st, ':')
	st = append2(st, r.startSec/60%60)
	st = append(st, ':')
	st = append2(st, r.startSec%60)
	attach := g.attachNames[r.l.svc][r.l.vpc]
	if r.l.svc != svcS3 {
		attach = string(appendPad6([]byte(attach), int(r.attach)))
	}
	fixed := func(v int64, d int) float64 { return float64(v) / math.Pow10(d) }
	return wireBill{
		OrgID:             g.orgID,
		OrgName:           orgName,
		TenantIaasID:      g.tenantIDs[vpc.tenant],
		TenantIaasName:    tenants[vpc.tenant],
		VPCID:             g.vpcIDs[r.l.vpc],
		VPCName:           vpc.name,
		VDISite:           vpc.site,
		PoolName:          poolName(vpc.site),
		Day:               day,
		StartTime:         day + " " + string(st),
		Service:           svc.name,
		Name:              g.resourceName(r, svc.prefix, vpc.slug),
		InfraID:           g.resourceID(r),
		AttachVM:          attach,
		StoragePolicy:     policies[r.policy],
		Tag:               string(appendTag(nil, tags[r.l.tag], r.l.tag, r.l.ext)),
		BillingConfigName: grp.configs[r.l.cfg],
		BillingGroupName:  grp.name,
		InvoiceGroupName:  grp.invoice,
		Disk:              float64(r.disk),
		DiskTotal:         float64(r.disk),
		VCPU:              float64(r.vcpu),
		VCPUTotal:         float64(r.vcpu),
		RAM:               float64(r.ram),
		RAMTotal:          float64(r.ram),
		RunningTime:       fixed(r.rt, 4),
		TotalPrice:        fixed(r.price, 2),
		DiskQuantity:      fixed(r.disk*r.rt, 4),
		CPUQuantity:       fixed(r.vcpu*r.rt, 4),
		RAMQuantity:       fixed(r.ram*r.rt, 4),
	}
}

// filter is a bills query filter resolved to label dimensions; -1 is "any".
type filter struct {
	svc, grp, cfg int
	none          bool // a name that matches nothing
}

func resolveFilter(f fptapi.Filter) filter {
	out := filter{svc: -1, grp: -1, cfg: -1}
	if f.ServiceType != "" {
		out.none = true
		for i, s := range services {
			if s.name == f.ServiceType {
				out.svc, out.none = i, false
			}
		}
		if out.none {
			return out
		}
	}
	if f.BillingGroupName != "" {
		out.none = true
		for i, g := range groups {
			if g.name == f.BillingGroupName {
				out.grp, out.none = i, false
			}
		}
		if out.none {
			return out
		}
	}
	if f.BillingConfigName != "" {
		out.none = true
		for gi, g := range groups {
			for ci, c := range g.configs {
				if c == f.BillingConfigName && (out.grp == -1 || out.grp == gi) {
					out.grp, out.cfg, out.none = gi, ci, false
				}
			}
		}
	}
	return out
}

func (f *filter) any() bool { return f.svc < 0 && f.grp < 0 && f.cfg < 0 && !f.none }

// matchK reports whether label set k passes the filter.
func (g *gen) matchK(f *filter, k int) bool {
	if f.none {
		return false
	}
	if f.svc >= 0 && k%7 != f.svc {
		return false
	}
	if f.grp >= 0 && k%3 != f.grp {
		return false
	}
	if f.cfg >= 0 && g.labels(k).cfg != f.cfg {
		return false
	}
	return true
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

// generatedGroups are the groups and config names generated rows use.
func generatedGroups() []fptapi.BillingGroup {
	out := make([]fptapi.BillingGroup, len(groups))
	for i, g := range groups {
		out[i] = fptapi.BillingGroup{Name: g.name, ConfigNames: append([]string(nil), g.configs...)}
	}
	return out
}
