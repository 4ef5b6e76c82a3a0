package fptapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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
// Paging ends on an empty page ("data": []) or a page shorter than the page
// size, never because of the response's "count", whose meaning is not
// documented. "data": null is not an empty page but a *DecodeError wrapping
// ErrNullData: taken as the end of the day, a null on page 3 would pass
// pages 1 and 2 off as the whole day. A cursor returned twice
// (ErrCursorRepeated), a full page without a cursor (ErrMissingCursor) or
// more than WithMaxPages pages (ErrTooManyPages) are errors too. After an
// error, rows already handed to fn are an incomplete day.
func (c *Client) Bills(ctx context.Context, day time.Time, f Filter, fn func(page []Bill) error) error {
	date := day.Format(time.DateOnly)
	req := billsRequest{
		LastSortValue:     json.RawMessage("[]"),
		Size:              c.pageSize,
		SearchDate:        date,
		BillingGroupName:  f.BillingGroupName,
		BillingConfigName: f.BillingConfigName,
		ServiceType:       f.ServiceType,
	}
	var (
		buf  bytes.Buffer
		dec  pageDecoder
		seen = make(map[string]struct{})
	)
	for n := 1; ; n++ {
		if n > c.maxPages {
			return fmt.Errorf("fptapi: %s %s: %w: more than %d pages", EndpointBills, date, ErrTooManyPages, c.maxPages)
		}
		last, err := c.billsPage(ctx, &req, n, &buf, &dec, seen, fn)
		if err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

// billsPage fetches and hands over page n, and sets req's cursor for the
// next one. It reports whether this was the last page.
func (c *Client) billsPage(ctx context.Context, req *billsRequest, n int, buf *bytes.Buffer, dec *pageDecoder,
	seen map[string]struct{}, fn func([]Bill) error) (last bool, err error) {
	where := func(err error) error {
		return fmt.Errorf("%w (search_date %s, page %d)", err, req.SearchDate, n)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return false, fmt.Errorf("fptapi: %s: encode request: %w", EndpointBills, err)
	}
	token, err := c.call(ctx, EndpointBills, http.MethodPost, body, buf)
	if err != nil {
		return false, where(err)
	}
	p, err := dec.decode(buf.Bytes())
	if err != nil {
		return false, where(&DecodeError{Endpoint: EndpointBills, Page: n, Err: redactedError(err, token)})
	}
	if !p.ok {
		return false, where(&APIError{Endpoint: EndpointBills, HTTPStatus: http.StatusOK,
			Status: cleanMessage(p.status, token), Message: cleanMessage(p.message, token)})
	}
	if p.nullData {
		return false, where(&DecodeError{Endpoint: EndpointBills, Page: n, Err: ErrNullData})
	}
	if len(p.rows) == 0 {
		return true, nil
	}
	last = len(p.rows) < req.Size
	if !last {
		// Check the cursor before handing the rows over: a page reached
		// through a repeated cursor may be a page already counted.
		if len(p.cursor) == 0 {
			return false, where(fmt.Errorf("fptapi: %s: %w", EndpointBills, ErrMissingCursor))
		}
		if _, dup := seen[string(p.cursor)]; dup {
			return false, where(fmt.Errorf("fptapi: %s: %w: %s", EndpointBills, ErrCursorRepeated, cleanMessage(excerpt(p.cursor), token)))
		}
		cur := string(p.cursor)
		seen[cur] = struct{}{}
		req.LastSortValue = json.RawMessage(cur)
	}
	return last, fn(p.rows)
}

// redactedError flattens err into text without the token: parser errors
// quote pieces of the body, which could echo it.
func redactedError(err error, token string) error {
	if s := err.Error(); token != "" && strings.Contains(s, token) {
		return fmt.Errorf("%s", redact(s, token))
	}
	return err
}

// BillInfo returns the billing groups and their billing config names.
func (c *Client) BillInfo(ctx context.Context) ([]BillingGroup, error) {
	var buf bytes.Buffer
	token, err := c.call(ctx, EndpointBillInfo, http.MethodGet, nil, &buf)
	if err != nil {
		return nil, err
	}
	groups, status, ok, message, err := decodeBillInfo(buf.Bytes())
	if err != nil {
		return nil, &DecodeError{Endpoint: EndpointBillInfo, Err: redactedError(err, token)}
	}
	if !ok {
		return nil, &APIError{Endpoint: EndpointBillInfo, HTTPStatus: http.StatusOK,
			Status: cleanMessage(status, token), Message: cleanMessage(message, token)}
	}
	return groups, nil
}
