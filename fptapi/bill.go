package fptapi

import "fmt"

// Bill is one row of FPT Cloud's "Get Bills by paging" response: the fields
// the exporter reads. The API sends more (names of the organisation and
// tenant, site, pool, storage policy, start and running time, totals); they
// are skipped when decoding.
//
// Numeric fields arrive as numbers, numeric strings or null (decoded as 0);
// non-finite values are rejected. RAM and disk are in GB as the API sends
// them; quantities are size times running hours; money is in VND before VAT.
type Bill struct {
	OrgID        string
	TenantIaasID string

	// The exporter's billing labels.
	VPCID            string
	VPCName          string
	Service          string
	BillingGroupName string
	Tag              string

	BillingConfigName string

	// The resource.
	Name     string
	InfraID  string
	AttachVM string
	Day      string

	VCPU         float64
	RAM          float64
	Disk         float64
	CPUQuantity  float64
	RAMQuantity  float64
	DiskQuantity float64
	TotalPrice   float64
}

// Filter narrows a bills query. An empty field means no filter.
type Filter struct {
	ServiceType       string // service_type
	BillingGroupName  string // billing_group_name
	BillingConfigName string // billing_config_name
}

// String names the filter by the API's fields, for messages and for what
// the month cache's files were read with.
func (f Filter) String() string {
	return fmt.Sprintf("service_type=%q billing_group_name=%q billing_config_name=%q", f.ServiceType, f.BillingGroupName, f.BillingConfigName)
}

// BillingGroup is one entry of the "Bill Info" response.
type BillingGroup struct {
	Name        string   `json:"billing_group_name"`
	ConfigNames []string `json:"billing_config_names"`
}
