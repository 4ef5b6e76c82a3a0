package fptapitest

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// The fake encodes JSON by hand: encoding/json costs more per row than the
// whole exporter may spend, and the fake shares the exporter's core in the
// benchmarks.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so every body stays valid JSON.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendStringBody(b, s)
	return append(b, '"')
}

// appendStringBody appends the escaped content of s without quotes.
func appendStringBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript consumers.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// pow10 holds the divisors appendFixed supports.
var pow10 = [...]int64{1, 10, 100, 1000, 10000}

// appendFixed appends v / 10^decimals in the shortest decimal form
// (trailing zeros trimmed), without going through float formatting. v >= 0.
func appendFixed(b []byte, v int64, decimals int) []byte {
	p := pow10[decimals]
	b = strconv.AppendInt(b, v/p, 10)
	frac := v % p
	if frac == 0 {
		return b
	}
	var d [4]byte
	n := decimals
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	for n > 0 && d[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, d[:n]...)
}

// appendFloat appends a float64 the way encoding/json would. Non-finite
// values cannot be JSON numbers; they are sent as the strings "NaN", "+Inf"
// and "-Inf" so that client tests can check they are rejected.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Inf"`...)
	}
	format := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, v, format, -1, 64)
}

// numMode says how numeric fields of a row are written.
type numMode uint8

const (
	numPlain  numMode = iota // JSON numbers
	numString                // numeric strings, e.g. "12.5"
	numNull                  // null
)

func appendNumber(b []byte, v float64, m numMode) []byte {
	switch m {
	case numString:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return appendFloat(b, v) // already a string
		}
		b = append(b, '"')
		b = appendFloat(b, v)
		return append(b, '"')
	case numNull:
		return append(b, "null"...)
	}
	return appendFloat(b, v)
}

// appendBill writes one row with every field, in the documented order. It is
// the slow, general path: explicit rows (SetBills) and fault variants.
func appendBill(b []byte, r *fptapi.Bill, m numMode) []byte {
	str := func(b []byte, key, v string) []byte {
		b = append(b, key...)
		return appendString(b, v)
	}
	num := func(b []byte, key string, v float64) []byte {
		b = append(b, key...)
		return appendNumber(b, v, m)
	}
	b = str(b, `{"org_id":`, r.OrgID)
	b = str(b, `,"org_name":`, r.OrgName)
	b = str(b, `,"tenant_iaas_id":`, r.TenantIaasID)
	b = str(b, `,"tenant_iaas_name":`, r.TenantIaasName)
	b = str(b, `,"vpc_id":`, r.VPCID)
	b = str(b, `,"vpc_name":`, r.VPCName)
	b = str(b, `,"vdi_site":`, r.VDISite)
	b = str(b, `,"pool_name":`, r.PoolName)
	b = str(b, `,"day":`, r.Day)
	b = str(b, `,"start_time":`, r.StartTime)
	b = str(b, `,"service":`, r.Service)
	b = str(b, `,"name":`, r.Name)
	b = str(b, `,"infra_id":`, r.InfraID)
	b = str(b, `,"attach_vm":`, r.AttachVM)
	b = str(b, `,"storage_policy":`, r.StoragePolicy)
	b = str(b, `,"tag":`, r.Tag)
	b = num(b, `,"disk":`, r.Disk)
	b = num(b, `,"disk_total":`, r.DiskTotal)
	b = num(b, `,"vcpu":`, r.VCPU)
	b = num(b, `,"vcpu_total":`, r.VCPUTotal)
	b = num(b, `,"ram":`, r.RAM)
	b = num(b, `,"ram_total":`, r.RAMTotal)
	b = num(b, `,"running_time":`, r.RunningTime)
	b = num(b, `,"total_price":`, r.TotalPrice)
	b = num(b, `,"disk_quantity":`, r.DiskQuantity)
	b = num(b, `,"cpu_quantity":`, r.CPUQuantity)
	b = num(b, `,"ram_quantity":`, r.RAMQuantity)
	b = str(b, `,"billing_config_name":`, r.BillingConfigName)
	b = str(b, `,"billing_group_name":`, r.BillingGroupName)
	b = str(b, `,"invoice_group_name":`, r.InvoiceGroupName)
	return append(b, '}')
}
