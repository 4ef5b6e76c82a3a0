package fptapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Responses are decoded with encoding/json into the wire types below; the
// lenient rules live in the small types number, text, status and cursor.
// At the API's pace decoding takes well under 1% of a core
// (docs/performance.md), so plain code wins over speed.

// envelope is what every answer carries.
type envelope struct {
	Status  status          `json:"status"`
	Message json.RawMessage `json:"message"`
}

// apiError is the error of a 2xx answer whose status says the call failed.
func (e *envelope) apiError(endpoint, token string) *APIError {
	return &APIError{Endpoint: endpoint, HTTPStatus: http.StatusOK,
		Status: cleanMessage(e.Status.text, token), Message: cleanMessage(messageText(e.Message), token)}
}

// billsResponse is a bills answer. "data" null, [] or absent is an empty
// page; a null row is an error (see decodeBills).
type billsResponse struct {
	envelope
	LastSortValue cursor     `json:"last_sort_value"`
	Data          []*billRow `json:"data"`
}

// billInfoResponse is a bill/info answer.
type billInfoResponse struct {
	envelope
	Data []BillingGroup `json:"data"`
}

// billRow is one bill row as sent. Only the fields Bill keeps are decoded;
// encoding/json skips the rest.
type billRow struct {
	OrgID             text   `json:"org_id"`
	TenantIaasID      text   `json:"tenant_iaas_id"`
	VPCID             text   `json:"vpc_id"`
	VPCName           text   `json:"vpc_name"`
	Service           text   `json:"service"`
	BillingGroupName  text   `json:"billing_group_name"`
	BillingConfigName text   `json:"billing_config_name"`
	Tag               text   `json:"tag"`
	Name              text   `json:"name"`
	InfraID           text   `json:"infra_id"`
	AttachVM          text   `json:"attach_vm"`
	Day               text   `json:"day"`
	VCPU              number `json:"vcpu"`
	RAM               number `json:"ram"`
	Disk              number `json:"disk"`
	CPUQuantity       number `json:"cpu_quantity"`
	RAMQuantity       number `json:"ram_quantity"`
	DiskQuantity      number `json:"disk_quantity"`
	TotalPrice        number `json:"total_price"`
}

func (r *billRow) bill() Bill {
	return Bill{
		OrgID:             string(r.OrgID),
		TenantIaasID:      string(r.TenantIaasID),
		VPCID:             string(r.VPCID),
		VPCName:           string(r.VPCName),
		Service:           string(r.Service),
		BillingGroupName:  string(r.BillingGroupName),
		BillingConfigName: string(r.BillingConfigName),
		Tag:               string(r.Tag),
		Name:              string(r.Name),
		InfraID:           string(r.InfraID),
		AttachVM:          string(r.AttachVM),
		Day:               string(r.Day),
		VCPU:              float64(r.VCPU),
		RAM:               float64(r.RAM),
		Disk:              float64(r.Disk),
		CPUQuantity:       float64(r.CPUQuantity),
		RAMQuantity:       float64(r.RAMQuantity),
		DiskQuantity:      float64(r.DiskQuantity),
		TotalPrice:        float64(r.TotalPrice),
	}
}

// decodeBills decodes a bills answer, appending its rows to dst[:0]. A
// failed answer (see status) has no rows and is not an error. A null row is
// an error: it stands for a row whose cost cannot be known.
func decodeBills(body []byte, dst []Bill) (billsResponse, []Bill, error) {
	var resp billsResponse
	if err := decodeAnswer(body, &resp, &resp.envelope); err != nil || resp.Status.failed {
		return resp, nil, err
	}
	rows := dst[:0]
	for i, row := range resp.Data {
		if row == nil {
			return resp, nil, fmt.Errorf("data[%d]: a row is null, want an object", i)
		}
		rows = append(rows, row.bill())
	}
	return resp, rows, nil
}

// decodeAnswer decodes a 2xx body into v, whose envelope is env. A body
// that does not fit v but whose envelope says the call failed is not a
// decode error: a failed answer's data may be anything, and its status and
// message are what the caller reports.
func decodeAnswer(body []byte, v any, env *envelope) error {
	err := unmarshalObject(body, v)
	if err == nil {
		return nil
	}
	var e envelope
	if unmarshalObject(body, &e) == nil && e.Status.failed {
		*env = e
		return nil
	}
	return err
}

// unmarshalObject is json.Unmarshal for a body that must be a JSON object
// (json.Unmarshal takes a top-level null for an empty object).
func unmarshalObject(body []byte, v any) error {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("want a JSON object, got %q", excerpt(b))
	}
	return json.Unmarshal(body, v)
}

// fieldError rejects the value b of a field. encoding/json adds the field's
// path to an *UnmarshalTypeError, so the message names the field.
func fieldError(b []byte, why string, want reflect.Type) error {
	return &json.UnmarshalTypeError{Value: excerpt(b) + " " + why, Type: want}
}

func excerpt(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "…"
	}
	return string(b)
}

// unquote returns the content of the JSON string b. Strings without
// escapes and in valid UTF-8, the usual case, skip a second parse, which
// would allocate for every field of every row.
func unquote(b []byte) (string, error) {
	in := b[1 : len(b)-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// text is a string field. A number or boolean is taken as its JSON text,
// null as ""; an object or array is an error.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		s, err := unquote(b)
		*t = text(s)
		return err
	case 'n':
		*t = ""
	case '{', '[':
		return fieldError(b, "(want a string)", reflect.TypeFor[string]())
	default:
		*t = text(b)
	}
	return nil
}

// number is a numeric field: a JSON number, a string holding one (spaces
// around it allowed, "" for 0) or null (0). NaN and infinities, in any
// spelling, are errors, so that no sum can turn into NaN.
type number float64

func (n *number) UnmarshalJSON(b []byte) error {
	s := string(b)
	switch b[0] {
	case 'n':
		*n = 0
		return nil
	case '{', '[', 't', 'f':
		return fieldError(b, "(want a number)", reflect.TypeFor[float64]())
	case '"':
		var err error
		if s, err = unquote(b); err != nil {
			return err
		}
		s = cmp.Or(strings.TrimSpace(s), "0")
	}
	// ParseFloat also reads "Inf", "NaN", hexadecimal and underscores:
	// allow only digits, signs, points and exponents. It fails on overflow.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || strings.Trim(s, "0123456789+-.eE") != "" {
		return fieldError(b, "(not a finite number)", reflect.TypeFor[float64]())
	}
	*n = number(f)
	return nil
}

// status is a body's "status". Success is documented as integer 0; other
// FPT endpoints send true; "0", "true", "ok", "success" (any case) and an
// absent or null status count as success too. Anything else is a failure,
// kept as sent for the error.
type status struct {
	text   string
	failed bool
	seen   bool
}

func (s *status) UnmarshalJSON(b []byte) error {
	// Keys match case-insensitively in encoding/json, so "Status" and
	// "status" would both land here: an answer that says two things is
	// not guessed at.
	if s.seen {
		return fieldError(b, "(status given twice)", reflect.TypeFor[int]())
	}
	s.seen = true
	switch b[0] {
	case 'n':
	case 't':
		s.text = "true"
	case 'f':
		s.text, s.failed = "false", true
	case '"':
		var err error
		if s.text, err = unquote(b); err != nil {
			return err
		}
		s.failed = !slices.Contains([]string{"0", "true", "ok", "success"}, strings.ToLower(strings.TrimSpace(s.text)))
	case '{', '[':
		return fieldError(b, "(want a number or boolean)", reflect.TypeFor[int]())
	default:
		s.text = string(b)
		f, err := strconv.ParseFloat(s.text, 64)
		s.failed = err != nil || f != 0
	}
	return nil
}

// cursor is last_sort_value, kept as its JSON text: the client sends it
// back as is. null and [] are no cursor.
type cursor []byte

func (c *cursor) UnmarshalJSON(b []byte) error {
	switch {
	case b[0] == 'n', b[0] == '[' && len(bytes.TrimSpace(b[1:len(b)-1])) == 0:
		*c = nil
	case b[0] != '[':
		return fieldError(b, "(want an array)", reflect.TypeFor[[]string]())
	default:
		*c = bytes.Clone(b)
	}
	return nil
}

// messageText is a body's message: a string as is, null or absent as "",
// anything else as its JSON text.
func messageText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw)
	}
	return s
}

// errorBody is a non-2xx JSON body. Proxies and frameworks put the text in
// different keys; message wins, then msg, error and detail.
type errorBody struct {
	envelope
	Msg    json.RawMessage `json:"msg"`
	Error  json.RawMessage `json:"error"`
	Detail json.RawMessage `json:"detail"`
}

func (e *errorBody) message() string {
	for _, raw := range []json.RawMessage{e.Message, e.Msg, e.Error, e.Detail} {
		if s := messageText(raw); s != "" {
			return s
		}
	}
	return ""
}

// errorFromBody builds the APIError of a non-2xx response from a bounded
// excerpt of its body: the JSON status and message if it has them, else the
// excerpt's text.
func errorFromBody(endpoint string, code int, excerpt []byte, token string) *APIError {
	e := &APIError{Endpoint: endpoint, HTTPStatus: code, Message: string(excerpt)}
	var body errorBody
	if unmarshalObject(excerpt, &body) == nil {
		e.Status, e.Message = body.Status.text, body.message()
	}
	e.Status, e.Message = cleanMessage(e.Status, token), cleanMessage(e.Message, token)
	return e
}
