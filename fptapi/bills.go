package fptapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// billsRequest is the body of POST /v1/billing/bills.
type billsRequest struct {
	LastSortValue     json.RawMessage `json:"last_sort_value"`
	Size              int             `json:"size"`
	SearchDate        string          `json:"search_date"`
	BillingGroupName  string          `json:"billing_group_name"`
	BillingConfigName string          `json:"billing_config_name"`
	ServiceType       string          `json:"service_type"`
}

// Bills pages through the bills of day's calendar date (in day's location),
// calling fn once per non-empty page. fn must not keep the slice (its
// strings may be kept). An error from fn stops paging and is returned as is.
//
// Paging ends on an empty page or a page shorter than the page size, never
// because of the response's "count", whose meaning is not documented. A
// successful answer whose "data" is null, [] or absent is an empty page: on
// page 1 the day has no rows (yet: just after billing midnight), and Bills
// returns nil without calling fn; on a later page the day ended with the
// page before. Whether an empty day is plausible is for the caller to judge.
//
// A cursor returned twice (ErrCursorRepeated), a full page without a cursor
// (ErrMissingCursor) or more than WithMaxPages pages (ErrTooManyPages) are
// errors. After an error, rows already handed to fn are an incomplete day.
func (c *Client) Bills(ctx context.Context, day time.Time, f Filter, fn func(page []Bill) error) error {
	req := billsRequest{
		LastSortValue:     json.RawMessage("[]"),
		Size:              c.pageSize,
		SearchDate:        day.Format(time.DateOnly),
		BillingGroupName:  f.BillingGroupName,
		BillingConfigName: f.BillingConfigName,
		ServiceType:       f.ServiceType,
	}
	var (
		buf  bytes.Buffer
		rows []Bill
		last bool
		err  error
		seen = make(map[string]bool)
	)
	for n := 1; n <= c.maxPages; n++ {
		if rows, last, err = c.billsPage(ctx, &req, n, &buf, rows, seen); err != nil {
			return fmt.Errorf("%w (search_date %s, page %d)", err, req.SearchDate, n)
		}
		if len(rows) > 0 {
			if err := fn(rows); err != nil {
				return err
			}
		}
		if last {
			return nil
		}
	}
	return fmt.Errorf("fptapi: %s %s: %w: more than %d pages", EndpointBills, req.SearchDate, ErrTooManyPages, c.maxPages)
}

// billsPage fetches page n, decodes its rows into rows[:0], and sets req's
// cursor for the next page. It reports whether this was the last page.
func (c *Client) billsPage(ctx context.Context, req *billsRequest, n int, buf *bytes.Buffer, rows []Bill,
	seen map[string]bool) (_ []Bill, last bool, err error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, false, fmt.Errorf("fptapi: %s: encode request: %w", EndpointBills, err)
	}
	token, err := c.call(ctx, EndpointBills, http.MethodPost, body, buf)
	if err != nil {
		return nil, false, err
	}
	resp, rows, err := decodeBills(buf.Bytes(), rows)
	if err != nil {
		return nil, false, &DecodeError{Endpoint: EndpointBills, Page: n, Err: redactedError(err, token)}
	}
	if resp.Status.failed {
		return nil, false, resp.apiError(EndpointBills, token)
	}
	if len(rows) < req.Size {
		return rows, true, nil
	}
	// Check the cursor before the rows are handed over: a page reached
	// through a repeated cursor may be a page already counted.
	cur := string(resp.LastSortValue)
	if cur == "" {
		return nil, false, fmt.Errorf("fptapi: %s: %w", EndpointBills, ErrMissingCursor)
	}
	if seen[cur] {
		return nil, false, fmt.Errorf("fptapi: %s: %w: %s", EndpointBills, ErrCursorRepeated, cleanMessage(excerpt(resp.LastSortValue), token))
	}
	seen[cur] = true
	req.LastSortValue = json.RawMessage(cur)
	return rows, false, nil
}

// BillInfo returns the billing groups and their billing config names.
func (c *Client) BillInfo(ctx context.Context) ([]BillingGroup, error) {
	var buf bytes.Buffer
	token, err := c.call(ctx, EndpointBillInfo, http.MethodGet, nil, &buf)
	if err != nil {
		return nil, err
	}
	var resp billInfoResponse
	if err := decodeAnswer(buf.Bytes(), &resp, &resp.envelope); err != nil {
		return nil, &DecodeError{Endpoint: EndpointBillInfo, Err: redactedError(err, token)}
	}
	if resp.Status.failed {
		return nil, resp.apiError(EndpointBillInfo, token)
	}
	return resp.Data, nil
}
