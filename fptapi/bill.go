package fptapi

// Bill is one row of FPT Cloud's "Get Bills by paging" response.
//
// Numeric fields arrive as numbers, numeric strings or null (decoded as 0);
// non-finite values are rejected. RAM and disk are in GB as the API sends
// them; running time is in hours; money is in VND before VAT.
type Bill struct {
	OrgID          string `json:"org_id"`
	OrgName        string `json:"org_name"`
	TenantIaasID   string `json:"tenant_iaas_id"`
	TenantIaasName string `json:"tenant_iaas_name"`
	VPCID          string `json:"vpc_id"`
	VPCName        string `json:"vpc_name"`
	VDISite        string `json:"vdi_site"`
	PoolName       string `json:"pool_name"`
	Day            string `json:"day"`
	StartTime      string `json:"start_time"`
	Service        string `json:"service"`
	Name           string `json:"name"`
	InfraID        string `json:"infra_id"`
	AttachVM       string `json:"attach_vm"`
	StoragePolicy  string `json:"storage_policy"`
	Tag            string `json:"tag"`

	BillingConfigName string `json:"billing_config_name"`
	BillingGroupName  string `json:"billing_group_name"`
	InvoiceGroupName  string `json:"invoice_group_name"`

	Disk         float64 `json:"disk"`
	DiskTotal    float64 `json:"disk_total"`
	VCPU         float64 `json:"vcpu"`
	VCPUTotal    float64 `json:"vcpu_total"`
	RAM          float64 `json:"ram"`
	RAMTotal     float64 `json:"ram_total"`
	RunningTime  float64 `json:"running_time"`
	TotalPrice   float64 `json:"total_price"`
	DiskQuantity float64 `json:"disk_quantity"`
	CPUQuantity  float64 `json:"cpu_quantity"`
	RAMQuantity  float64 `json:"ram_quantity"`
}

// Filter narrows a bills query. An empty field means no filter.
type Filter struct {
	ServiceType       string // service_type
	BillingGroupName  string // billing_group_name
	BillingConfigName string // billing_config_name
}

// BillingGroup is one entry of the "Bill Info" response.
type BillingGroup struct {
	Name        string   `json:"billing_group_name"`
	ConfigNames []string `json:"billing_config_names"`
}
