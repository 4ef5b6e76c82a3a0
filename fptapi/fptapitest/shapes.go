package fptapitest

// The generator's rows: a row's fixed-point numbers and the shape of each
// service's resource (sizes, storage policy, the hours it ran that day).

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
		return r.shapeInstance(hd)
	case svcGPU:
		return r.shapeGPU(hd)
	case svcStorage:
		r.disk = pick(hr>>16, 50, 100, 200, 500, 1000, 2000)
		r.policy = int((hr >> 24) % 3)
	case svcIP, svcLB:
		r.policy = polNone
	case svcBackup:
		r.disk, r.policy = grow(20+int64(hr>>16)%980), polHDD
	case svcS3:
		r.disk, r.policy = grow(100+int64(hr>>16)%4900), polStandard
	}
	if (r.l.svc == svcStorage || r.l.svc == svcIP) && hd%1000 < 15 { // created during the day
		return int64(hd>>20) % 86400, 86400
	}
	return 0, 86400
}

// shapeInstance is shape for a VM.
func (r *row) shapeInstance(hd uint64) (start, stop int64) {
	hr := r.hr
	r.vcpu = pick(hr, 1, 2, 2, 4, 4, 8, 16, 32)
	r.ram = r.vcpu * pick(hr>>8, 1, 2, 4)
	r.disk = pick(hr>>16, 20, 40, 50, 80, 100, 200, 500)
	r.policy = int(hr>>24) & 1
	r.attach = int64(r.index)
	switch p := hd % 1000; {
	case p < 40: // created during the day
		return int64(hd>>20) % 86400, 86400
	case p < 70: // deleted or powered off during the day
		return 0, int64(hd>>20) % 86400
	}
	return 0, 86400
}

// shapeGPU is shape for a GPU VM.
func (r *row) shapeGPU(hd uint64) (start, stop int64) {
	r.gpus = pick(r.hr>>16, 1, 1, 1, 1, 2)
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
