package fptapi_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// decodeOne serves body as the only page and returns its rows.
func decodeOne(t *testing.T, body string) ([]fptapi.Bill, error) {
	t.Helper()
	s := newScript(t, response{body: body})
	var got []fptapi.Bill
	err := newClient(t, s.URL(), fptapi.WithPageSize(100)).Bills(context.Background(), testDay, fptapi.Filter{},
		func(p []fptapi.Bill) error {
			got = append(got, p...)
			return nil
		})
	return got, err
}

func TestDecodeRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    []fptapi.Bill
		wantErr string // substring; "" for success
	}{
		{
			name: "all fields",
			body: `{"status":0,"message":"ok","count":1,"last_sort_value":["a"],"data":[{
				"org_id":"o1","org_name":"Công ty","tenant_iaas_id":"t1","tenant_iaas_name":"Tenant","vpc_id":"v1","vpc_name":"Sản xuất",
				"vdi_site":"HN01","pool_name":"p","day":"2025-01-15","start_time":"2025-01-15 00:00:00","service":"instance","name":"vm-1",
				"infra_id":"i1","attach_vm":"vm-0","storage_policy":"SSD","tag":"env:prod","disk":40,"disk_total":40.5,"vcpu":4,"vcpu_total":8,
				"ram":16,"ram_total":32,"running_time":24,"total_price":123456.789,"disk_quantity":972,"cpu_quantity":96,"ram_quantity":384,
				"billing_config_name":"cfg","billing_group_name":"Nhóm","invoice_group_name":"inv"}]}`,
			want: []fptapi.Bill{{
				OrgID: "o1", TenantIaasID: "t1", VPCID: "v1", VPCName: "Sản xuất", Day: "2025-01-15", Service: "instance", Name: "vm-1",
				InfraID: "i1", AttachVM: "vm-0", Tag: "env:prod", Disk: 40, VCPU: 4, RAM: 16, TotalPrice: 123456.789,
				DiskQuantity: 972, CPUQuantity: 96, RAMQuantity: 384, BillingConfigName: "cfg", BillingGroupName: "Nhóm",
			}},
		},
		{
			name: "numbers as strings, null and empty",
			body: `{"status":0,"data":[{"total_price":"12.5","vcpu":" 4 ","ram":null,"disk":"","cpu_quantity":"-1e3","ram_quantity":"0.1"}]}`,
			want: []fptapi.Bill{{TotalPrice: 12.5, VCPU: 4, CPUQuantity: -1000, RAMQuantity: 0.1}},
		},
		{
			name: "large and precise numbers",
			body: `{"status":0,"data":[{"total_price":1.7976931348623157e308,"disk":0.30000000000000004,"ram":12345678901234567890}]}`,
			want: []fptapi.Bill{{TotalPrice: 1.7976931348623157e308, Disk: 0.30000000000000004, RAM: 12345678901234567890}},
		},
		{
			name: "strings as numbers, booleans and null",
			body: `{"status":0,"data":[{"vpc_id":12345,"tag":null,"name":true,"service":"storage"}]}`,
			want: []fptapi.Bill{{VPCID: "12345", Name: "true", Service: "storage"}},
		},
		{
			name: "escapes and unknown fields",
			body: `{"status":0,"new_field":{"x":[1,{"y":null}]},"data":[{"vpc_name":"D\u1eef li\u1ec7u \"L\u1edbn\"\n","extra":[true,false],"nested":{"a":{"b":"c"}},"total_price":1}]}`,
			want: []fptapi.Bill{{VPCName: "Dữ liệu \"Lớn\"\n", TotalPrice: 1}},
		},
		{
			name: "invalid UTF-8 replaced",
			body: "{\"status\":0,\"data\":[{\"vpc_name\":\"ab\xffcd\",\"name\":\"x\xfe\"}]}",
			want: []fptapi.Bill{{VPCName: "ab\uFFFDcd", Name: "x\uFFFD"}},
		},
		{
			// As encoding/json does, whether or not the string has escapes.
			name: "invalid UTF-8 replaced byte by byte",
			body: "{\"status\":0,\"data\":[{\"vpc_name\":\"a\xff\xfeb\",\"name\":\"\\n\xff\xfe\",\"tag\":\"\xed\xa0\x80\"}]}",
			want: []fptapi.Bill{{VPCName: "a\uFFFD\uFFFDb", Name: "\n\uFFFD\uFFFD", Tag: "\uFFFD\uFFFD\uFFFD"}},
		},
		{name: "status as boolean true", body: `{"status":true,"data":[{"name":"a"}]}`, want: []fptapi.Bill{{Name: "a"}}},
		{name: "status as string 0", body: `{"status":"0","data":[{"name":"a"}]}`, want: []fptapi.Bill{{Name: "a"}}},
		{name: "status absent", body: `{"data":[{"name":"a"}]}`, want: []fptapi.Bill{{Name: "a"}}},
		{name: "data null", body: `{"status":0,"data":null}`},
		{name: "data absent", body: `{"status":0}`},
		{name: "whitespace everywhere", body: " \n{ \"status\" : 0 ,\t\"data\" : [ { \"name\" : \"a\" } ] }\r\n", want: []fptapi.Bill{{Name: "a"}}},
		{name: "keys in any case", body: `{"Status":0,"DATA":[{"Name":"a","Total_Price":"2"}]}`, want: []fptapi.Bill{{Name: "a", TotalPrice: 2}}},
		{name: "nesting deep in an unknown field", body: `{"status":0,"x":` + nested(1000) + `,"data":[{"name":"a"}]}`, want: []fptapi.Bill{{Name: "a"}}},

		{name: "NaN string", body: `{"status":0,"data":[{"total_price":"NaN"}]}`, wantErr: `"NaN" (not a finite number) into Go struct field billRow.data.total_price`},
		{name: "Inf string", body: `{"status":0,"data":[{"vcpu":"Inf"}]}`, wantErr: "(not a finite number) into Go struct field billRow.data.vcpu"},
		{name: "-Infinity string", body: `{"status":0,"data":[{"vcpu":"-Infinity"}]}`, wantErr: "not a finite number"},
		{name: "overflowing number", body: `{"status":0,"data":[{"ram":1e999}]}`, wantErr: "1e999 (not a finite number) into Go struct field billRow.data.ram"},
		{name: "overflowing string", body: `{"status":0,"data":[{"ram":"-1e400"}]}`, wantErr: "not a finite number"},
		{name: "hex string", body: `{"status":0,"data":[{"ram":"0x10"}]}`, wantErr: "not a finite number"},
		{name: "underscores", body: `{"status":0,"data":[{"ram":"1_000"}]}`, wantErr: "not a finite number"},
		{name: "bare NaN", body: `{"status":0,"data":[{"ram":NaN}]}`, wantErr: "invalid character 'N'"},
		{name: "number as object", body: `{"status":0,"data":[{"disk":{}}]}`, wantErr: "{} (want a number) into Go struct field billRow.data.disk"},
		{name: "number as boolean", body: `{"status":0,"data":[{"disk":true}]}`, wantErr: "true (want a number)"},
		{name: "string as array", body: `{"status":0,"data":[{"name":["a"]}]}`, wantErr: `["a"] (want a string) into Go struct field billRow.data.name`},
		{name: "row null", body: `{"status":0,"data":[{"name":"a"},null]}`, wantErr: "data[1]: a row is null"},
		{name: "row not an object", body: `{"status":0,"data":[1]}`, wantErr: "cannot unmarshal number into Go struct field billsResponse.data"},
		{name: "data an object", body: `{"status":0,"data":{}}`, wantErr: "cannot unmarshal object into Go struct field billsResponse.data"},
		{name: "cursor a string", body: `{"status":0,"last_sort_value":"a","data":[]}`, wantErr: `"a" (want an array) into Go struct field billsResponse.last_sort_value`},
		{name: "status an object", body: `{"status":{},"data":[]}`, wantErr: "{} (want a number or boolean) into Go struct field billsResponse.envelope.status"},
		{name: "not JSON", body: `<html>oops</html>`, wantErr: `want a JSON object, got "<html>oops</html>"`},
		{name: "null body", body: `null`, wantErr: `want a JSON object, got "null"`},
		{name: "array body", body: `[]`, wantErr: `want a JSON object, got "[]"`},
		{name: "empty body", body: ``, wantErr: "decode page 1: want a JSON object"},
		{name: "truncated", body: `{"status":0,"data":[{"name":"a"`, wantErr: "unexpected end of JSON input"},
		{name: "trailing comma", body: `{"status":0,"data":[{"name":"a"},]}`, wantErr: "invalid character ']'"},
		{name: "trailing garbage", body: `{"status":0,"data":[]} x`, wantErr: "invalid character 'x' after top-level value"},
		{name: "trailing NUL", body: "{\"status\":0,\"data\":[]}\x00", wantErr: "after top-level value"},
		{name: "garbage after a NUL", body: "{\"status\":0,\"data\":[]} \x00junk", wantErr: "after top-level value"},
		{name: "NUL in a string", body: "{\"status\":0,\"data\":[{\"name\":\"a\x00b\"}]}", wantErr: "invalid character '\\x00' in string literal"},
		{name: "NUL as a value", body: "{\"status\":0,\"data\":[{\"name\":\x00}]}", wantErr: "invalid character '\\x00' looking for beginning of value"},
		{name: "NUL in an unknown field", body: "{\"status\":0,\"x\":[1,\x00],\"data\":[]}", wantErr: "invalid character '\\x00'"},
		{name: "NUL after a comma", body: "{\"status\":0,\x00}", wantErr: "invalid character '\\x00' looking for beginning of object key string"},
		{name: "NUL instead of a comma", body: "{\"status\":0\x00}", wantErr: "invalid character '\\x00' after object key:value pair"},
		{name: "status given twice", body: `{"status":1,"data":[{"name":"a"}],"status":0}`, wantErr: "(status given twice)"},
		{name: "status given twice in other case", body: `{"status":0,"data":[{"name":"a"}],"STATUS":1}`, wantErr: "(status given twice)"},
		{name: "bad escape", body: `{"status":0,"data":[{"name":"\x"}]}`, wantErr: "invalid character 'x' in string escape code"},
		{name: "leading zeros", body: `{"status":0,"data":[{"disk":01}]}`, wantErr: "invalid character '1' after object key:value pair"},
		{name: "deeper than encoding/json goes", body: `{"status":0,"x":` + nested(20000) + `,"data":[]}`, wantErr: "exceeded max depth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeOne(t, tt.body)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				var decErr *fptapi.DecodeError
				require.ErrorAs(t, err, &decErr)
				assert.Equal(t, 1, decErr.Page)
				assert.Equal(t, fptapi.EndpointBills, decErr.Endpoint)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func nested(depth int) string {
	s := "1"
	for range depth {
		s = "[" + s + "]"
	}
	return s
}
