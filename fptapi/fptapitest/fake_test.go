package fptapitest

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// fixedNow is a clock at 2025-03-15 12:00 in Vietnam: the 1st..14th are full
// days, the 15th half a day, the 16th on are empty.
func fixedNow() time.Time {
	return time.Date(2025, 3, 15, 5, 0, 0, 0, time.UTC)
}

func newTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

// do sends one request with the default token unless token says otherwise.
func do(t *testing.T, method, url, token string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

type billsReq struct {
	LastSortValue     []string `json:"last_sort_value"`
	Size              int      `json:"size"`
	SearchDate        string   `json:"search_date"`
	BillingGroupName  string   `json:"billing_group_name"`
	BillingConfigName string   `json:"billing_config_name"`
	ServiceType       string   `json:"service_type"`
}

func query(day string, size int, f fptapi.Filter) billsReq {
	return billsReq{
		LastSortValue: []string{}, Size: size, SearchDate: day,
		ServiceType: f.ServiceType, BillingGroupName: f.BillingGroupName, BillingConfigName: f.BillingConfigName,
	}
}

type page struct {
	Status        json.RawMessage `json:"status"`
	Message       string          `json:"message"`
	LastSortValue []string        `json:"last_sort_value"`
	Count         int             `json:"count"`
	Data          []wireBill      `json:"data"`
}

func postBills(t *testing.T, s *Server, q billsReq) (response, page) {
	t.Helper()
	r := do(t, http.MethodPost, s.URL+"/v1/billing/bills", DefaultToken, q)
	require.Equal(t, http.StatusOK, r.code, "body: %.300s", r.body)
	require.True(t, json.Valid(r.body), "invalid JSON: %.300s", r.body)
	var p page
	require.NoError(t, json.Unmarshal(r.body, &p))
	require.Equal(t, "0", string(p.Status))
	require.Equal(t, "success", p.Message)
	return r, p
}

// fetchAll pages through a query as a careful client would: stop on an
// empty or short page, never on count.
func fetchAll(t *testing.T, s *Server, q billsReq) (rows []wireBill, pages, count int) {
	t.Helper()
	seen := map[string]bool{}
	for {
		_, p := postBills(t, s, q)
		pages++
		count = p.Count
		rows = append(rows, p.Data...)
		if len(p.Data) == 0 || len(p.Data) < q.Size {
			return rows, pages, count
		}
		key := strings.Join(p.LastSortValue, "\x00")
		require.False(t, seen[key], "cursor repeated: %q", p.LastSortValue)
		seen[key] = true
		q.LastSortValue = p.LastSortValue
		require.Less(t, pages, 100000, "runaway paging")
	}
}

func expected(t testing.TB, s *Server, day string, f fptapi.Filter) []wireBill {
	t.Helper()
	var out []wireBill
	q := mustDay(t, s, day)
	s.walk(&q, f, 0, func(_ int, w wireBill) bool {
		out = append(out, w)
		return true
	})
	return out
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	a := newTestServer(t, Config{Seed: 7})
	b := newTestServer(t, Config{Seed: 7})
	c := newTestServer(t, Config{Seed: 8})
	q := query("2025-03-02", 50, fptapi.Filter{})
	ra, _ := postBills(t, a, q)
	rb, _ := postBills(t, b, q)
	rc, _ := postBills(t, c, q)
	assert.Equal(t, string(ra.body), string(rb.body), "same seed, same bytes")
	assert.NotEqual(t, string(ra.body), string(rc.body), "another seed, other data")

	// A page is the same whether asked first or after others.
	_, _ = postBills(t, a, query("2025-03-03", 50, fptapi.Filter{}))
	ra2, _ := postBills(t, a, q)
	assert.Equal(t, string(ra.body), string(ra2.body))
}

func TestRowsAreRealistic(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 2000, LabelSets: 300})
	rows, _, _ := fetchAll(t, s, query("2025-03-10", 1000, fptapi.Filter{}))
	require.Len(t, rows, 2000)

	services := map[string]int{}
	labelSets := map[[5]string]bool{}
	emptyTags, diacritics, emptyIDs := 0, 0, 0
	ids := map[string]bool{}
	vpcsByName := map[string]map[string]bool{}
	for _, r := range rows {
		if r.InfraID == "" {
			emptyIDs++
		} else {
			ids[r.InfraID] = true
		}
		if vpcsByName[r.Name] == nil {
			vpcsByName[r.Name] = map[string]bool{}
		}
		vpcsByName[r.Name][r.VPCID] = true
		services[r.Service]++
		labelSets[[5]string{r.VPCID, r.VPCName, r.Service, r.BillingGroupName, r.Tag}] = true
		if r.Tag == "" {
			emptyTags++
		}
		if strings.ContainsAny(r.VPCName, "ảấộệĐđ") {
			diacritics++
		}
		for name, v := range map[string]string{
			"org_id": r.OrgID, "org_name": r.OrgName, "tenant_iaas_id": r.TenantIaasID,
			"tenant_iaas_name": r.TenantIaasName, "vpc_id": r.VPCID, "vpc_name": r.VPCName,
			"vdi_site": r.VDISite, "pool_name": r.PoolName, "day": r.Day, "start_time": r.StartTime,
			"service": r.Service, "name": r.Name, "infra_id": r.InfraID, "attach_vm": r.AttachVM,
			"storage_policy": r.StoragePolicy, "billing_config_name": r.BillingConfigName,
			"billing_group_name": r.BillingGroupName, "invoice_group_name": r.InvoiceGroupName,
		} {
			if name == "infra_id" && r.Service == "ip" {
				continue // one IP row in ten has none, as the API may send
			}
			require.NotEmpty(t, v, "%s of %s", name, r.Name)
		}
		assert.Equal(t, "2025-03-10", r.Day)
		assert.GreaterOrEqual(t, r.TotalPrice, 0.0)
		assert.LessOrEqual(t, r.RunningTime, 24.0)
		assert.InDelta(t, r.VCPU*r.RunningTime, r.CPUQuantity, 1e-6)
		assert.InDelta(t, r.RAM*r.RunningTime, r.RAMQuantity, 1e-6)
		assert.InDelta(t, r.Disk*r.RunningTime, r.DiskQuantity, 1e-6)
		if r.Service == "instance" && r.RunningTime == 24 {
			// Between the cheapest and dearest vCPU+RAM+disk prices.
			lo := 24 * (350*r.VCPU + 120*r.RAM + 3*r.Disk)
			hi := 24 * (600*r.VCPU + 250*r.RAM + 10*r.Disk)
			assert.True(t, lo <= r.TotalPrice && r.TotalPrice <= hi, "%s: %v not in [%v, %v]", r.Name, r.TotalPrice, lo, hi)
		}
	}
	assert.Equal(t, serviceNames(), sortedKeys(services, serviceNames()), "every service appears")
	assert.Len(t, ids, 2000-emptyIDs, "every resource with an infra_id is one row a day")
	assert.Positive(t, emptyIDs, "IP rows without infra_id")
	assert.Less(t, len(vpcsByName["ip-public-0"]), len(rows), "one IP name in several VPCs")
	assert.Greater(t, len(vpcsByName["ip-public-0"]), 1, "one IP name in several VPCs")
	assert.Len(t, labelSets, 300, "rows fall into exactly LabelSets label sets")
	assert.Positive(t, emptyTags)
	assert.Positive(t, diacritics)
}

// TestResourcesAcrossDays: a resource keeps its infra_id from day to day,
// but for the slots replaced in the middle of the month.
func TestResourcesAcrossDays(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 400, LabelSets: 50,
		Now: func() time.Time { return time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC) }})
	idsOn := func(day string) map[int]string {
		out := map[int]string{}
		i := 0
		require.NoError(t, s.EachBill(day, fptapi.Filter{}, func(b *fptapi.Bill) bool {
			out[i] = b.InfraID
			i++
			return true
		}))
		return out
	}
	d3, d10, d20 := idsOn("2025-03-03"), idsOn("2025-03-10"), idsOn("2025-03-20")
	replaced := 0
	for i, id := range d3 {
		assert.Equal(t, id, d10[i], "row %d: stable in the first half", i)
		if i%40 == 7 {
			assert.NotEqual(t, id, d20[i], "row %d: replaced on the 15th", i)
			replaced++
		} else {
			assert.Equal(t, id, d20[i], "row %d: stable", i)
		}
	}
	assert.Positive(t, replaced)
}

// serviceNames are the service values the fake generates, in order.
func serviceNames() []string {
	var out []string
	for _, svc := range services {
		out = append(out, svc.name)
	}
	return out
}

func sortedKeys(m map[string]int, order []string) []string {
	var out []string
	for _, k := range order {
		if m[k] > 0 {
			out = append(out, k)
		}
	}
	return out
}

func TestLabelSetsBeyondPeriod(t *testing.T) {
	t.Parallel()
	// More label sets than the 840 combinations of the base tables.
	g := newGen(1, 5000, 2500)
	q := dayQuery{day: "2024-10-04", dayNum: 20000, dom: 1, elapsed: 86400, n: 5000}
	seen := map[[5]string]bool{}
	for i := 0; i < 2500; i++ {
		b := g.bill(&q, i)
		seen[[5]string{b.VPCID, b.VPCName, b.Service, b.BillingGroupName, b.Tag}] = true
	}
	assert.Len(t, seen, 2500)
}

func TestPagingCoversEveryRowOnce(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 400, MaxPageSize: 150})
	want := expected(t, s, "2025-03-05", fptapi.Filter{})
	require.Len(t, want, 400)
	for _, size := range []int{1, 7, 100, 150, 400, 2000} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			q := query("2025-03-05", size, fptapi.Filter{})
			if size > 150 {
				// Capped pages are short to a client asking for more: it stops
				// after the first page. Ask for the cap to page everything.
				_, p := postBills(t, s, q)
				assert.Len(t, p.Data, 150)
				q.Size = 150
			}
			rows, pages, count := fetchAll(t, s, q)
			assert.Equal(t, want, rows)
			assert.Equal(t, 400, count)
			assert.Equal(t, 400/q.Size+1, pages, "full pages and a short or empty last one")
		})
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 700, LabelSets: 90})
	day := "2025-03-01"
	all := expected(t, s, day, fptapi.Filter{})
	require.Len(t, all, 700)

	var filters []fptapi.Filter
	for _, svc := range serviceNames() {
		filters = append(filters, fptapi.Filter{ServiceType: svc})
	}
	for _, g := range s.BillingGroups() {
		filters = append(filters, fptapi.Filter{BillingGroupName: g.Name})
		for _, c := range g.ConfigNames {
			filters = append(filters,
				fptapi.Filter{BillingConfigName: c},
				fptapi.Filter{BillingGroupName: g.Name, BillingConfigName: c, ServiceType: "instance"})
		}
	}
	filters = append(filters,
		fptapi.Filter{ServiceType: "container-registry"},
		fptapi.Filter{BillingGroupName: "Khối Công nghệ", BillingConfigName: "Marketing"}, // config of another group
	)
	for _, f := range filters {
		t.Run(f.ServiceType+"|"+f.BillingGroupName+"|"+f.BillingConfigName, func(t *testing.T) {
			var want []wireBill
			for _, w := range all {
				if match(&f, w.Service, w.BillingGroupName, w.BillingConfigName) {
					want = append(want, w)
				}
			}
			rows, _, count := fetchAll(t, s, query(day, 37, f))
			assert.Equal(t, want, rows)
			assert.Equal(t, len(want), count)
		})
	}

	// The service filters partition the day.
	total := 0
	for _, svc := range serviceNames() {
		_, p := postBills(t, s, query(day, 1, fptapi.Filter{ServiceType: svc}))
		assert.Positive(t, p.Count, svc)
		total += p.Count
	}
	assert.Equal(t, 700, total)
}

func TestCountIsTotalOnEveryPage(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 250})
	q := query("2025-03-01", 100, fptapi.Filter{ServiceType: "storage"})
	want := len(expected(t, s, q.SearchDate, fptapi.Filter{ServiceType: "storage"}))
	for range 3 {
		_, p := postBills(t, s, q)
		assert.Equal(t, want, p.Count)
		if len(p.LastSortValue) == 0 {
			break
		}
		q.LastSortValue = p.LastSortValue
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{Token: "secret-1"})
	bills := s.URL + "/v1/billing/bills"
	info := s.URL + "/v1/billing/bill/info"
	q := query("2025-03-01", 10, fptapi.Filter{})

	for _, tc := range []struct {
		name, token string
	}{{"missing", ""}, {"wrong", "secret-2"}, {"default", DefaultToken}} {
		r := do(t, http.MethodPost, bills, tc.token, q)
		assert.Equal(t, http.StatusUnauthorized, r.code, tc.name)
		assert.True(t, json.Valid(r.body))
		assert.NotContains(t, string(r.body), "secret")
		r = do(t, http.MethodGet, info, tc.token, nil)
		assert.Equal(t, http.StatusUnauthorized, r.code, tc.name)
	}
	assert.Equal(t, http.StatusOK, do(t, http.MethodPost, bills, "secret-1", q).code)
	assert.Equal(t, 4, s.Requests(fptapi.EndpointBills), "rejected requests count")
	assert.Equal(t, 3, s.Requests(fptapi.EndpointBillInfo))

	s.SetToken("secret-2")
	assert.Equal(t, http.StatusUnauthorized, do(t, http.MethodPost, bills, "secret-1", q).code)
	assert.Equal(t, http.StatusOK, do(t, http.MethodPost, bills, "secret-2", q).code)

	req, ok := s.LastRequest(fptapi.EndpointBills)
	require.True(t, ok)
	assert.Equal(t, "Bearer secret-2", req.Header.Get("Authorization"))
	assert.JSONEq(t, `{"last_sort_value":[],"size":10,"search_date":"2025-03-01","billing_group_name":"","billing_config_name":"","service_type":""}`, string(req.Body))
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 20})
	bills := s.URL + "/v1/billing/bills"
	_, p1 := postBills(t, s, query("2025-03-01", 5, fptapi.Filter{}))
	require.Len(t, p1.LastSortValue, 3)

	for _, tc := range []struct {
		name string
		body string
		code int
	}{
		{"not json", `{"size":`, http.StatusBadRequest},
		{"size as string", `{"size":"10","search_date":"2025-03-01"}`, http.StatusBadRequest},
		{"size missing", `{"search_date":"2025-03-01"}`, http.StatusBadRequest},
		{"size zero", `{"size":0,"search_date":"2025-03-01"}`, http.StatusBadRequest},
		{"size negative", `{"size":-5,"search_date":"2025-03-01"}`, http.StatusBadRequest},
		{"date missing", `{"size":10}`, http.StatusBadRequest},
		{"date format", `{"size":10,"search_date":"01/03/2025"}`, http.StatusBadRequest},
		{"date invalid", `{"size":10,"search_date":"2025-02-30"}`, http.StatusBadRequest},
		{"cursor of numbers", `{"size":10,"search_date":"2025-03-01","last_sort_value":[1,2]}`, http.StatusBadRequest},
		{"cursor unknown", `{"size":10,"search_date":"2025-03-01","last_sort_value":["x"]}`, http.StatusBadRequest},
		{"cursor other day", `{"size":10,"search_date":"2025-03-02","last_sort_value":["2025-03-01","4","2"]}`, http.StatusBadRequest},
		{"cursor past end", `{"size":10,"search_date":"2025-03-01","last_sort_value":["2025-03-01","20","2"]}`, http.StatusBadRequest},
		{"cursor page", `{"size":10,"search_date":"2025-03-01","last_sort_value":["2025-03-01","4","1"]}`, http.StatusBadRequest},
		{"cursor ok", `{"size":10,"search_date":"2025-03-01","last_sort_value":["2025-03-01","4","2"]}`, http.StatusOK},
		{"cursor null", `{"size":10,"search_date":"2025-03-01","last_sort_value":null}`, http.StatusOK},
		{"unknown fields", `{"size":10,"search_date":"2025-03-01","extra":true}`, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.MethodPost, bills, DefaultToken, tc.body)
			assert.Equal(t, tc.code, r.code, "%s", r.body)
			assert.True(t, json.Valid(r.body), "%s", r.body)
		})
	}

	r := do(t, http.MethodGet, bills, DefaultToken, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, r.code)
	assert.Equal(t, http.MethodPost, r.header.Get("Allow"))
	r = do(t, http.MethodPost, s.URL+"/v1/billing/bill/info", DefaultToken, "{}")
	assert.Equal(t, http.StatusMethodNotAllowed, r.code)
	assert.Equal(t, http.StatusNotFound, do(t, http.MethodPost, s.URL+"/v1/billing/nope", DefaultToken, "{}").code)
}

func TestTodayIsPartialAndFutureEmpty(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 15, 6, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	clock := func() time.Time { return now }
	s := newTestServer(t, Config{RowsPerDay: 300, Now: clock})

	sum := func(day string) (cost, maxRT float64, rows int) {
		for _, b := range expected(t, s, day, fptapi.Filter{}) {
			cost += b.TotalPrice
			maxRT = max(maxRT, b.RunningTime)
			rows++
		}
		return cost, maxRT, rows
	}
	full, fullRT, fullRows := sum("2025-03-14")
	morning, morningRT, morningRows := sum("2025-03-15")
	assert.InDelta(t, 24.0, fullRT, 1e-9)
	assert.InDelta(t, 6.0, morningRT, 1e-9)
	assert.Equal(t, fullRows, morningRows)
	assert.Less(t, morning, full/3)

	now = now.Add(12 * time.Hour)
	evening, eveningRT, _ := sum("2025-03-15")
	assert.InDelta(t, 18.0, eveningRT, 1e-9)
	assert.Greater(t, evening, morning*2, "cost grows with the time of day")

	// Days after today are empty; Now is read in the billing time zone.
	rows, _, count := fetchAll(t, s, query("2025-03-16", 100, fptapi.Filter{}))
	assert.Empty(t, rows)
	assert.Zero(t, count)
	now = time.Date(2025, 3, 15, 17, 30, 0, 0, time.UTC) // 00:30 on the 16th in Vietnam
	_, rt, n := sum("2025-03-16")
	assert.Equal(t, 300, n)
	assert.InDelta(t, 0.5, rt, 1e-9)
}

func TestMonthLooksReal(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 400})
	var totals []float64
	for d := 1; d <= 14; d++ {
		var cost float64
		day := time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		require.NoError(t, s.EachBill(day, fptapi.Filter{}, func(b *fptapi.Bill) bool {
			cost += b.TotalPrice
			return true
		}))
		totals = append(totals, cost)
	}
	lo, hi := totals[0], totals[0]
	for _, c := range totals {
		lo, hi = min(lo, c), max(hi, c)
	}
	assert.Greater(t, hi, lo, "days differ")
	assert.Less(t, hi/lo, 1.5, "but not wildly: %v", totals)
	assert.Greater(t, lo, 1e6, "a few hundred resources cost millions of VND a day")
}

func TestBillInfo(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	info := s.URL + "/v1/billing/bill/info"
	type infoResp struct {
		Status  int                   `json:"status"`
		Message string                `json:"message"`
		Data    []fptapi.BillingGroup `json:"data"`
	}
	get := func() infoResp {
		r := do(t, http.MethodGet, info, DefaultToken, nil)
		require.Equal(t, http.StatusOK, r.code)
		require.True(t, json.Valid(r.body))
		var out infoResp
		require.NoError(t, json.Unmarshal(r.body, &out))
		return out
	}
	got := get()
	assert.Equal(t, 0, got.Status)
	assert.Equal(t, s.BillingGroups(), got.Data)

	// The generated rows use exactly these groups and configs.
	known := map[[2]string]bool{}
	for _, g := range got.Data {
		for _, c := range g.ConfigNames {
			known[[2]string{g.Name, c}] = true
		}
	}
	for _, b := range expected(t, s, "2025-03-01", fptapi.Filter{}) {
		assert.True(t, known[[2]string{b.BillingGroupName, b.BillingConfigName}], "%s/%s", b.BillingGroupName, b.BillingConfigName)
	}
	assert.Equal(t, 1, s.Requests(fptapi.EndpointBillInfo))
}

// oddBills carry label values that stress escaping.
func oddBills() []fptapi.Bill {
	odd := []string{
		`quote " inside`, `back\slash`, "new\nline\r\ttab", "Sản xuất Hà Nội",
		"ctrl \x00\x01\x1f del \x7f", "bad utf8 \xff\xfe", "line sep \u2028 para \u2029",
		`</script><!-- & -->`, "emoji 🇻🇳", "",
	}
	var out []fptapi.Bill
	for i, s := range odd {
		out = append(out, fptapi.Bill{
			VPCID: "vpc-" + strconv.Itoa(i), VPCName: s, Service: "instance", Tag: s,
			BillingGroupName: s, BillingConfigName: "cfg " + s, Name: s, Day: "2025-03-02",
			TotalPrice: 1234.5 + float64(i), VCPU: 2, RAM: 4.5, Disk: 1e-7, RAMQuantity: 1e21,
			CPUQuantity: -0.25,
		})
	}
	return out
}

func TestSetBillsRoundTrip(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	in := oddBills()
	s.SetBills("2025-03-02", in)
	in[0].VPCName = "changed after SetBills" // the fake keeps its own copy
	in = oddBills()

	for _, size := range []int{1, 3, 100} {
		rows, _, count := fetchAll(t, s, query("2025-03-02", size, fptapi.Filter{}))
		require.Len(t, rows, len(in))
		assert.Equal(t, len(in), count)
		for i := range in {
			want := in[i]
			if !utf8Valid(want.VPCName) {
				// Invalid UTF-8 becomes U+FFFD, as with encoding/json.
				var fixed string
				js, _ := json.Marshal(want.VPCName)
				require.NoError(t, json.Unmarshal(js, &fixed))
				want.VPCName, want.Tag, want.BillingGroupName, want.Name = fixed, fixed, fixed, fixed
				want.BillingConfigName = "cfg " + fixed
			}
			assert.Equal(t, want, rows[i].bill(), "row %d", i)
		}
	}

	// Filters apply to explicit rows too.
	rows, _, count := fetchAll(t, s, query("2025-03-02", 10, fptapi.Filter{BillingGroupName: "Sản xuất Hà Nội"}))
	require.Len(t, rows, 1)
	assert.Equal(t, 1, count)
	rows, _, _ = fetchAll(t, s, query("2025-03-02", 10, fptapi.Filter{ServiceType: "storage"}))
	assert.Empty(t, rows)

	// An explicit empty day.
	s.SetBills("2025-03-02", nil)
	rows, _, _ = fetchAll(t, s, query("2025-03-02", 10, fptapi.Filter{}))
	assert.Empty(t, rows)
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestNonFiniteNumbersAreStrings(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	b := oddBills()[3]
	b.TotalPrice = math.NaN()
	b.VCPU = math.Inf(1)
	b.RAM = math.Inf(-1)
	s.SetBills("2025-03-02", []fptapi.Bill{b})
	r := do(t, http.MethodPost, s.URL+"/v1/billing/bills", DefaultToken, query("2025-03-02", 10, fptapi.Filter{}))
	require.Equal(t, http.StatusOK, r.code)
	require.True(t, json.Valid(r.body))
	assert.Contains(t, string(r.body), `"total_price":"NaN"`)
	assert.Contains(t, string(r.body), `"vcpu":"+Inf"`)
	assert.Contains(t, string(r.body), `"ram":"-Inf"`)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 300})
	type result struct {
		rows int
		err  error
	}
	results := make(chan result)
	for w := range 4 {
		go func() {
			for i := range 5 {
				day := time.Date(2025, 3, 1+w+i, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
				n, err := countRows(s, day, 64)
				results <- result{n, err}
			}
		}()
	}
	for range 20 {
		s.SetBills("2024-01-01", oddBills())
		s.InjectFault(Fault{Endpoint: fptapi.EndpointBillInfo, Times: 1, Code: 500})
		s.ClearFaults()
		s.SetToken(DefaultToken)
		_ = s.Requests(fptapi.EndpointBills)
		_, _ = s.LastRequest(fptapi.EndpointBills)
	}
	for range 4 * 5 {
		r := <-results
		require.NoError(t, r.err)
		assert.Equal(t, 300, r.rows)
	}
	assert.Equal(t, 4*5*(300/64+1), s.Requests(fptapi.EndpointBills))
}

// countRows pages a day without testify, for use off the test goroutine.
func countRows(s *Server, day string, size int) (int, error) {
	q := query(day, size, fptapi.Filter{})
	total := 0
	for {
		js, err := json.Marshal(q)
		if err != nil {
			return 0, err
		}
		req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/billing/bills", bytes.NewReader(js))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		var p page
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		total += len(p.Data)
		if len(p.Data) < size {
			return total, nil
		}
		q.LastSortValue = p.LastSortValue
	}
}

func TestNewServerListensOnLoopback(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	assert.True(t, strings.HasPrefix(s.URL, "http://127.0.0.1:"), s.URL)
	assert.True(t, strings.HasSuffix(s.URL, "/api"), s.URL)
	s.Close()
	s.Close() // twice is fine
}

func TestAuthScheme(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{})
	body := `{"size":1,"search_date":"2025-03-01"}`
	for _, tc := range []struct {
		header string
		code   int
	}{
		{"Bearer " + DefaultToken, http.StatusOK},
		{"bearer " + DefaultToken, http.StatusOK}, // schemes are case-insensitive
		{"Bearer " + strings.ToUpper(DefaultToken), http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{DefaultToken, http.StatusUnauthorized},
		{"Basic " + DefaultToken, http.StatusUnauthorized},
	} {
		req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/billing/bills", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", tc.header)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, tc.code, resp.StatusCode, tc.header)
	}
}

func TestHandlerEmbeds(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Config{RowsPerDay: 10})
	outer := http.NewServeMux()
	outer.Handle("/api/", s.Handler())
	srv := httptest.NewServer(outer)
	defer srv.Close()
	r := do(t, http.MethodPost, srv.URL+"/api/v1/billing/bills", DefaultToken, query("2025-03-01", 100, fptapi.Filter{}))
	require.Equal(t, http.StatusOK, r.code)
	var p page
	require.NoError(t, json.Unmarshal(r.body, &p))
	assert.Len(t, p.Data, 10)
}
