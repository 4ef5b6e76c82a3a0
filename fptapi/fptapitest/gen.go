package fptapitest

// The data generator: hashing, per-config prices, and row i of a day as
// sent. The label tables are in labels.go, the rows' shapes in shapes.go.

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"
)

// The generator derives every row from (seed, day, index) with a cheap hash,
// so a day of a million rows costs nothing until it is paged, and any page
// can be produced on its own. Attributes of a resource (size, name, id) hang
// on (seed, index) and stay the same from day to day; its schedule that day
// (created, deleted, a GPU job) hangs on (seed, day, index).

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

	orgID     string
	tenantIDs [len(tenants)]string
	vpcIDs    [len(vpcs)]string
}

// mix is splitmix64's finalizer: cheap, and good enough to look random.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// uuidString is a version-4 shaped UUID built from two hashes.
func uuidString(hi, lo uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi&^0xf000|0x4000)       // version 4
	binary.BigEndian.PutUint64(b[8:], lo&^(0xc<<60)|(0x8<<60)) // variant 10
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

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
	secs := max(min(stop, elapsed)-start, 0)
	r.rt = (secs*25 + 4) / 9 // seconds to hours/10000, rounded
	r.price = (g.perHour(r)*r.rt + 5000) / 10000
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

// indexed is prefix followed by v in decimal, zero-padded to six digits.
func indexed(prefix string, v int64) string {
	var buf [64]byte
	b := append(buf[:0], prefix...)
	for p := int64(100000); p > max(v, 1); p /= 10 {
		b = append(b, '0')
	}
	return string(strconv.AppendInt(b, v, 10))
}

// replaced reports whether the row's slot holds its second resource: slots
// with index%40 == 7 hold one resource until the 15th, another from then on.
func (r *row) replaced() bool { return r.index%40 == 7 && r.dom >= 15 }

// resourceID and resourceName keep a row slot's resource across days, so
// that a resource's cost adds up over the month, with what real tenants
// have too: a resource replaced in the middle of the month (see replaced),
// public IPs named alike in every VPC, and one IP row in ten without an
// infra_id.
func resourceID(r *row) string {
	if r.l.svc == svcIP && r.index%10 == 0 {
		return ""
	}
	hr := r.hr
	if r.replaced() {
		hr = mix(hr ^ 0x1515)
	}
	return uuidString(mix(hr^0x5555), mix(hr^0xaaaa))
}

func resourceName(r *row, prefix, vpcSlug string) string {
	if r.l.svc == svcIP {
		return "ip-public-" + strconv.Itoa(r.index%3)
	}
	name := indexed(prefix+"-"+vpcSlug+"-", int64(r.index))
	if r.replaced() {
		name += "-new"
	}
	return name
}

// attachVM is the name of the VM a resource is attached to: its own for
// VMs, another VM for volumes, IPs, LBs and backups, none for S3.
func attachVM(r *row, vpcSlug string) string {
	if prefix := services[r.l.svc].attach; prefix != "" {
		return indexed(prefix+"-"+vpcSlug+"-", r.attach)
	}
	return "-"
}

// bill is a generated row as sent. Numbers are fixed-point values divided
// once, and encoding/json writes the shortest text that reads back as the
// same float64, so a client decodes exactly these values.
func (g *gen) bill(r *row, day string) wireBill {
	vpc, svc, grp := vpcs[r.l.vpc], services[r.l.svc], groups[r.l.grp]
	fixed := func(v int64, d int) float64 { return float64(v) / math.Pow10(d) }
	return wireBill{
		OrgID:             g.orgID,
		OrgName:           orgName,
		TenantIaasID:      g.tenantIDs[vpc.tenant],
		TenantIaasName:    tenants[vpc.tenant],
		VPCID:             g.vpcIDs[r.l.vpc],
		VPCName:           vpc.name,
		VDISite:           vpc.site,
		PoolName:          "pool-" + strings.ToLower(vpc.site) + "-general",
		Day:               day,
		StartTime:         day + " " + time.Unix(r.startSec, 0).UTC().Format(time.TimeOnly),
		Service:           svc.name,
		Name:              resourceName(r, svc.prefix, vpc.slug),
		InfraID:           resourceID(r),
		AttachVM:          attachVM(r, vpc.slug),
		StoragePolicy:     policies[r.policy],
		Tag:               r.l.tagValue(),
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
