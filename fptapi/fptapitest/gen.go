package fptapitest

// The data generator. A resource's attributes (size, name, id) hang on
// (seed, index), so they stay the same from day to day; its schedule that
// day (created, deleted, a GPU job) hangs on (seed, day, index).

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// gen produces rows. It is immutable after newGen and safe for concurrent use.
type gen struct {
	seed      uint64
	rows      int // rows per full day
	labelSets int

	orgID     string
	tenantIDs [len(tenants)]string
	vpcIDs    [len(vpcs)]string
}

func newGen(seed int64, rows, labelSets int) *gen {
	g := &gen{seed: mix(uint64(seed)), rows: rows, labelSets: labelSets}
	id := func(a, b int) string { return uuidString(mix(g.seed^uint64(a)), mix(g.seed^uint64(b))) }
	g.orgID = id(1, 2)
	for i := range tenants {
		g.tenantIDs[i] = id(100+i, 200+i)
	}
	for i := range vpcs {
		g.vpcIDs[i] = id(300+i, 400+i)
	}
	return g
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

// indexed is prefix-slug-v, v zero-padded to six digits.
func indexed(prefix, slug string, v int64) string {
	return fmt.Sprintf("%s-%s-%06d", prefix, slug, v)
}

// row is a generated row's resource: its slot, labels and sizes.
type row struct {
	index  int
	dom    int // day of the month
	l      labels
	hr     uint64 // the resource's hash
	policy int
	vcpu   int64
	ram    int64 // GB
	disk   int64 // GB
	gpus   int64
	attach int64 // index of the attached VM
}

// bill is row i of day q as sent. Running time and price are fixed point,
// hours/10000 and VND/100, divided once: encoding/json writes the shortest
// text that reads back as the same float64, so a client decodes exactly
// these values.
func (g *gen) bill(q *dayQuery, i int) wireBill {
	r := row{index: i, dom: q.dom, l: g.labels(i % g.labelSets)}
	r.hr = mix(g.seed ^ uint64(i)*0x9e3779b97f4a7c15)
	hd := mix(r.hr ^ uint64(q.dayNum)*0xbf58476d1ce4e5b9)
	r.attach = g.attachIndex(r.l.vpc, mix(r.hr^0x3c3c))
	start, stop := r.shape(hd)
	rt := (max(min(stop, q.elapsed)-start, 0)*25 + 4) / 9 // seconds to hours/10000, rounded
	price := (g.perHour(&r)*rt + 5000) / 10000            // VND/100

	vpc, grp := vpcs[r.l.vpc], groups[r.l.grp]
	return wireBill{
		OrgID:             g.orgID,
		OrgName:           orgName,
		TenantIaasID:      g.tenantIDs[vpc.tenant],
		TenantIaasName:    tenants[vpc.tenant],
		VPCID:             g.vpcIDs[r.l.vpc],
		VPCName:           vpc.name,
		VDISite:           vpc.site,
		PoolName:          "pool-" + strings.ToLower(vpc.site) + "-general",
		Day:               q.day,
		StartTime:         q.day + " " + time.Unix(start, 0).UTC().Format(time.TimeOnly),
		Service:           services[r.l.svc].name,
		Name:              r.name(),
		InfraID:           r.infraID(),
		AttachVM:          r.attachVM(),
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
		RunningTime:       float64(rt) / 1e4,
		TotalPrice:        float64(price) / 1e2,
		DiskQuantity:      float64(r.disk*rt) / 1e4,
		CPUQuantity:       float64(r.vcpu*rt) / 1e4,
		RAMQuantity:       float64(r.ram*rt) / 1e4,
	}
}

// pick is one of vals, chosen by h.
func pick(h uint64, vals ...int64) int64 { return vals[h%uint64(len(vals))] }

// shape sets the row's sizes, policy and attached VM from its resource hash
// r.hr and the day's hash hd, and returns the seconds of the day between
// which it ran.
func (r *row) shape(hd uint64) (start, stop int64) {
	hr := r.hr
	// Growth through the month, reset by clean-ups: storage that keeps data.
	grow := func(base int64) int64 {
		return base + base*int64(r.dom)/60 + base*int64(hd>>50&7)/200
	}
	switch r.l.svc {
	case svcInstance:
		r.vcpu = pick(hr, 1, 2, 2, 4, 4, 8, 16, 32)
		r.ram = r.vcpu * pick(hr>>8, 1, 2, 4)
		r.disk = pick(hr>>16, 20, 40, 50, 80, 100, 200, 500)
		r.policy, r.attach = int(hr>>24)&1, int64(r.index)
		return schedule(hd, 40, 30)
	case svcGPU:
		r.gpus = pick(hr>>16, 1, 1, 1, 1, 2)
		r.vcpu, r.ram, r.disk = 8*r.gpus, 64*r.gpus, 200*r.gpus
		r.policy, r.attach = polPremium, int64(r.index)
		// Training jobs: a GPU VM runs on 8 days in 10, for 1 to 6 hours.
		if hd%1000 < 200 {
			return 0, 0
		}
		start = int64(hd>>20) % 72000
		return start, min(start+3600+int64(hd>>40)%18000, 86400)
	case svcStorage:
		r.disk = pick(hr>>16, 50, 100, 200, 500, 1000, 2000)
		r.policy = int((hr >> 24) % 3)
		return schedule(hd, 15, 0)
	case svcIP:
		r.policy = polNone
		return schedule(hd, 15, 0)
	case svcLB:
		r.policy = polNone
	case svcBackup:
		r.disk, r.policy = grow(20+int64(hr>>16)%980), polHDD
	case svcS3:
		r.disk, r.policy = grow(100+int64(hr>>16)%4900), polStandard
	}
	return 0, 86400
}

// schedule is when a resource ran, from the day's hash hd: it was created
// during the day with odds created/1000, else deleted or powered off
// during the day with odds deleted/1000, else it ran all day.
func schedule(hd, created, deleted uint64) (start, stop int64) {
	switch p := hd % 1000; {
	case p < created:
		return int64(hd>>20) % 86400, 86400
	case p < created+deleted:
		return 0, int64(hd>>20) % 86400
	}
	return 0, 86400
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

// perHour is what an hour of the row's running time costs, in 1/100 VND.
// Each billing config (contract) has its own prices, close to FPT's
// public ones.
func (g *gen) perHour(r *row) int64 {
	h := mix(g.seed ^ uint64(1000+r.l.grp*10+r.l.cfg))
	cpu := 35000 + int64(h%25000)         // 350-600 VND per vCPU-hour
	ram := 12000 + int64((h>>16)%13000)   // 120-250 VND per GB-hour
	gpu := 5200000 + int64((h>>8)%600000) // ~55,000 VND per GPU-hour
	// SSD, Premium-SSD and HDD, by GB-hour.
	disk := [...]int64{500 + int64((h>>32)%200), 800 + int64((h>>40)%200), 300 + int64((h>>48)%100)}
	switch r.l.svc {
	case svcInstance, svcGPU:
		return r.vcpu*cpu + r.ram*ram + r.disk*disk[r.policy] + r.gpus*gpu
	case svcStorage:
		return r.disk * disk[r.policy]
	case svcIP:
		return 13900 // ~100,000 VND a month
	case svcLB:
		return 85000
	case svcBackup:
		return r.disk * 250
	case svcS3:
		return r.disk * 180
	}
	return 0
}

// replaced reports whether the row's slot holds its second resource: slots
// with index%40 == 7 hold one resource until the 15th, another from then on.
func (r *row) replaced() bool { return r.index%40 == 7 && r.dom >= 15 }

// infraID and name keep a row slot's resource across days, so that a
// resource's cost adds up over the month, with what real tenants have too:
// a resource replaced in the middle of the month (see replaced), public
// IPs named alike in every VPC, and one IP row in ten without an infra_id.
func (r *row) infraID() string {
	if r.l.svc == svcIP && r.index%10 == 0 {
		return ""
	}
	hr := r.hr
	if r.replaced() {
		hr = mix(hr ^ 0x1515)
	}
	return uuidString(mix(hr^0x5555), mix(hr^0xaaaa))
}

func (r *row) name() string {
	if r.l.svc == svcIP {
		return "ip-public-" + strconv.Itoa(r.index%3)
	}
	name := indexed(services[r.l.svc].prefix, vpcs[r.l.vpc].slug, int64(r.index))
	if r.replaced() {
		name += "-new"
	}
	return name
}

// attachVM is the name of the VM a resource is attached to: its own for
// VMs, another VM for volumes, IPs, LBs and backups, none for S3.
func (r *row) attachVM() string {
	if prefix := services[r.l.svc].attach; prefix != "" {
		return indexed(prefix, vpcs[r.l.vpc].slug, r.attach)
	}
	return "-"
}
