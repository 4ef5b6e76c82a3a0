package fptapitest

// Rows as sent: every field FPT documents, and the number modes of faults.

import (
	"math"
	"reflect"
	"strconv"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// wireBill is a bill row as FPT documents it: every field, though the
// client decodes only some, so that pages have a real row's size and
// clients skip what they do not read.
type wireBill struct {
	OrgID             string  `json:"org_id"`
	OrgName           string  `json:"org_name"`
	TenantIaasID      string  `json:"tenant_iaas_id"`
	TenantIaasName    string  `json:"tenant_iaas_name"`
	VPCID             string  `json:"vpc_id"`
	VPCName           string  `json:"vpc_name"`
	VDISite           string  `json:"vdi_site"`
	PoolName          string  `json:"pool_name"`
	Day               string  `json:"day"`
	StartTime         string  `json:"start_time"`
	Service           string  `json:"service"`
	Name              string  `json:"name"`
	InfraID           string  `json:"infra_id"`
	AttachVM          string  `json:"attach_vm"`
	StoragePolicy     string  `json:"storage_policy"`
	Tag               string  `json:"tag"`
	Disk              float64 `json:"disk"`
	DiskTotal         float64 `json:"disk_total"`
	VCPU              float64 `json:"vcpu"`
	VCPUTotal         float64 `json:"vcpu_total"`
	RAM               float64 `json:"ram"`
	RAMTotal          float64 `json:"ram_total"`
	RunningTime       float64 `json:"running_time"`
	TotalPrice        float64 `json:"total_price"`
	DiskQuantity      float64 `json:"disk_quantity"`
	CPUQuantity       float64 `json:"cpu_quantity"`
	RAMQuantity       float64 `json:"ram_quantity"`
	BillingConfigName string  `json:"billing_config_name"`
	BillingGroupName  string  `json:"billing_group_name"`
	InvoiceGroupName  string  `json:"invoice_group_name"`
}

// billFields pairs each field of fptapi.Bill with wireBill's field of the
// same name, for bill and wireOf. (Not a panic for a field wireBill lacks:
// the exporter links this package for its demo mode.)
var billFields = func() (pairs [][2]int) {
	bt, wt := reflect.TypeFor[fptapi.Bill](), reflect.TypeFor[wireBill]()
	for i := range bt.NumField() {
		if f, ok := wt.FieldByName(bt.Field(i).Name); ok {
			pairs = append(pairs, [2]int{i, f.Index[0]})
		}
	}
	return pairs
}()

// bill is the row as the client decodes it.
func (w *wireBill) bill() (b fptapi.Bill) {
	bv, wv := reflect.ValueOf(&b).Elem(), reflect.ValueOf(w).Elem()
	for _, p := range billFields {
		bv.Field(p[0]).Set(wv.Field(p[1]))
	}
	return b
}

// wireOf is an explicit row (SetBills) as sent: the fields fptapi.Bill
// does not have are empty.
func wireOf(b *fptapi.Bill) (w wireBill) {
	bv, wv := reflect.ValueOf(b).Elem(), reflect.ValueOf(&w).Elem()
	for _, p := range billFields {
		wv.Field(p[1]).Set(bv.Field(p[0]))
	}
	return w
}

// numMode says how numeric fields of a row are written.
type numMode uint8

const (
	numPlain  numMode = iota // JSON numbers
	numString                // numeric strings, e.g. "12.5"
	numNull                  // null
)

// rowsJSON is what a page's "data" marshals from. Plain finite rows
// marshal as they are; the other number modes, and non-finite values
// (which JSON numbers cannot carry), go through maps.
func rowsJSON(rows []wireBill, m numMode) any {
	if m == numPlain && allFinite(rows) {
		return rows
	}
	out := make([]map[string]any, len(rows))
	for i := range rows {
		out[i] = rowMap(&rows[i], m)
	}
	return out
}

func allFinite(rows []wireBill) bool {
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		for j := range v.NumField() {
			if f := v.Field(j); f.Kind() == reflect.Float64 && !finite(f.Float()) {
				return false
			}
		}
	}
	return true
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// rowMap is a row with its numbers written the m way. Non-finite values go
// out as the strings "NaN", "+Inf" and "-Inf", so that client tests can
// check they are rejected.
func rowMap(w *wireBill, m numMode) map[string]any {
	v := reflect.ValueOf(w).Elem()
	out := make(map[string]any, v.NumField())
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Tag.Get("json")
		if f.Kind() != reflect.Float64 {
			out[name] = f.Interface()
			continue
		}
		switch x := f.Float(); {
		case m == numNull:
			out[name] = nil
		case m == numString || !finite(x):
			out[name] = strconv.FormatFloat(x, 'g', -1, 64) // "NaN", "+Inf", "-Inf" too
		default:
			out[name] = x
		}
	}
	return out
}
