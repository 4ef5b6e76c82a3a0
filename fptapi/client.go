package fptapi

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/time/rate"
)

// DefaultBaseURL is FPT Cloud's Console API (the Japan region uses
// https://console-api.fptcloud.jp/api).
const DefaultBaseURL = "https://console-api.fptcloud.com/api"

// Defaults of a client built without WithUserAgent or WithPageSize.
const (
	DefaultUserAgent = "fptcloud_exporter"
	DefaultPageSize  = 100
)

// MaxPageSize is the largest WithPageSize. FPT documents no maximum; the
// exporter's --fpt.page-size and fptapitest's pages stop at 1000, so no
// size is accepted here that was never run against the fake.
const MaxPageSize = 1000

// errorBodyLimit bounds how much of a non-2xx body is read: enough for a
// JSON error or the head of an HTML page, never a whole error page.
const errorBodyLimit = 4 << 10

// Endpoint names, as reported to an Observer and carried by errors.
const (
	EndpointBills    = "bills"     // POST /v1/billing/bills
	EndpointBillInfo = "bill_info" // GET /v1/billing/bill/info
)

var endpointPaths = map[string]string{
	EndpointBills:    "/v1/billing/bills",
	EndpointBillInfo: "/v1/billing/bill/info",
}

// RequestInfo describes one HTTP attempt, for an Observer.
type RequestInfo struct {
	Endpoint string // EndpointBills or EndpointBillInfo
	Code     string // HTTP status code ("200", "429") or an error class ("timeout", "canceled", "transport")
	Retry    int    // 0 for the first attempt, 1 for the first retry, ...
}

// Observer is called once per HTTP attempt; it must be cheap and safe for concurrent use.
type Observer func(RequestInfo)

// Option configures a Client. Invalid values make NewClient fail.
type Option func(*Client)

// WithBaseURL sets the API base URL, e.g. https://console-api.fptcloud.jp/api.
func WithBaseURL(u string) Option { return func(c *Client) { c.baseURL = u } }

// WithHTTPClient sets the HTTP client; its Timeout bounds one attempt.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.httpc = h } }

// WithUserAgent sets the whole User-Agent, e.g. "fptcloud_exporter/" + version.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithRateLimit bounds requests per second (math.Inf(1) for no limit) with
// the given burst.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *Client) { c.ratePerSecond, c.rateBurst = perSecond, burst }
}

// WithRetryPolicy sets how transport errors and HTTP 429/5xx are retried.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithPageSize sets the rows asked for per page (1..MaxPageSize).
func WithPageSize(n int) Option { return func(c *Client) { c.pageSize = n } }

// WithMaxResponseBytes caps the size of one response body.
func WithMaxResponseBytes(n int64) Option { return func(c *Client) { c.maxResponseBytes = n } }

// WithMaxPages caps the pages of one bills query, so that a server that
// never stops paging cannot keep the client busy forever.
func WithMaxPages(n int) Option { return func(c *Client) { c.maxPages = n } }

// WithObserver sets a hook called once per HTTP attempt.
func WithObserver(o Observer) Option { return func(c *Client) { c.observer = o } }

// WithTokenFunc makes the client ask f for the token before every attempt
// (e.g. to follow a rotated token file); it takes precedence over the token
// given to NewClient.
func WithTokenFunc(f func() (string, error)) Option { return func(c *Client) { c.tokenFunc = f } }

// Client talks to FPT Cloud's billing API. It is safe for concurrent use:
// its fields are not changed after NewClient.
type Client struct {
	baseURL          string
	httpc            *http.Client
	userAgent        string
	ratePerSecond    float64
	rateBurst        int
	limiter          *rate.Limiter
	retry            RetryPolicy
	pageSize         int
	maxResponseBytes int64
	maxPages         int
	observer         Observer
	tokenFunc        func() (string, error)
	sleep            func(context.Context, time.Duration) error // the wait before a retry; tests replace it
}

// NewClient returns a client that authenticates with token (see WithTokenFunc for rotation).
// Without options it asks 100 rows a page, at most 5 requests a second,
// retries 4 times from about 1s with waits of at most 30s, gives an
// attempt a minute and reads at most 32 MiB of a body and 100,000 pages.
func NewClient(token string, opts ...Option) (*Client, error) {
	c := &Client{
		baseURL:          DefaultBaseURL,
		userAgent:        DefaultUserAgent,
		ratePerSecond:    5,
		rateBurst:        5,
		retry:            RetryPolicy{MaxRetries: 4, BaseDelay: time.Second, MaxDelay: 30 * time.Second},
		pageSize:         DefaultPageSize,
		maxResponseBytes: 32 << 20,
		maxPages:         100000,
		sleep:            sleep,
	}
	for _, o := range opts {
		o(c)
	}
	if c.httpc == nil { // also after WithHTTPClient(nil)
		c.httpc = &http.Client{Timeout: time.Minute}
	}
	if c.tokenFunc == nil {
		t, err := CleanToken(token)
		if err != nil {
			return nil, fmt.Errorf("fptapi: %w", err)
		}
		c.tokenFunc = func() (string, error) { return t, nil }
	}
	if err := cmp.Or(c.validateRequests(), c.validateLimits()); err != nil {
		return nil, fmt.Errorf("fptapi: %w", err)
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	lim := rate.Limit(c.ratePerSecond)
	if math.IsInf(c.ratePerSecond, 1) {
		lim = rate.Inf
	}
	c.limiter = rate.NewLimiter(lim, c.rateBurst)
	return c, nil
}

// validateRequests checks what goes into every request: the URL and the
// User-Agent.
func (c *Client) validateRequests() error {
	u, err := url.Parse(c.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("base URL %q: want an absolute http(s) URL", c.baseURL)
	}
	if c.userAgent == "" || strings.ContainsFunc(c.userAgent, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("user agent %q: want a non-empty header value", c.userAgent)
	}
	return nil
}

// validateLimits checks the rate, retry, paging and size bounds.
func (c *Client) validateLimits() error {
	if math.IsNaN(c.ratePerSecond) || c.ratePerSecond <= 0 {
		return fmt.Errorf("rate limit %v: want > 0 requests per second", c.ratePerSecond)
	}
	if c.rateBurst < 1 {
		return fmt.Errorf("rate burst %d: want >= 1", c.rateBurst)
	}
	if c.retry.MaxRetries < 0 || c.retry.BaseDelay < 0 || c.retry.MaxDelay < 0 {
		return fmt.Errorf("retry policy %+v: want no negative values", c.retry)
	}
	if c.pageSize < 1 || c.pageSize > MaxPageSize {
		return fmt.Errorf("page size %d: want 1..%d", c.pageSize, MaxPageSize)
	}
	if c.maxResponseBytes < 1 {
		return fmt.Errorf("max response bytes %d: want >= 1", c.maxResponseBytes)
	}
	if c.maxPages < 1 {
		return fmt.Errorf("max pages %d: want >= 1", c.maxPages)
	}
	return nil
}

// CleanToken trims surrounding white space (token files usually end in a
// newline, CRLF from Windows editors) and a leading UTF-8 byte order mark
// (Notepad writes one), and refuses what cannot be the token: an empty
// token, a pasted "Bearer " prefix, quotes, white space or control
// characters inside it. Its errors never quote the token.
func CleanToken(s string) (string, error) {
	t := strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == byteOrderMark })
	switch {
	case t == "":
		return "", errors.New("token is empty")
	case hasBearerPrefix(t):
		return "", errors.New(`token starts with "Bearer ": remove the prefix, the exporter adds it`)
	case strings.ContainsAny(t, "\"'`“”‘’"):
		return "", errors.New("token contains quotes: write the token alone, without quotes around it")
	case strings.ContainsFunc(t, unicode.IsSpace):
		return "", errors.New("token contains white space")
	case strings.ContainsFunc(t, unicode.IsControl), strings.ContainsRune(t, byteOrderMark):
		return "", errors.New("token contains control characters")
	}
	return t, nil
}

// byteOrderMark starts files that Windows editors save as UTF-8.
const byteOrderMark = '\ufeff'

// hasBearerPrefix reports whether t is "Bearer <something>", as copied from
// an Authorization header or a curl example.
func hasBearerPrefix(t string) bool {
	word, rest, found := strings.Cut(t, " ")
	if !found {
		word, rest, found = strings.Cut(t, "\t")
	}
	return found && strings.EqualFold(word, "bearer") && strings.TrimSpace(rest) != ""
}

// call sends one request with retries and leaves the 2xx body in buf. It
// returns the token it used last, for redacting what the caller decodes.
func (c *Client) call(ctx context.Context, endpoint, method string, body []byte, buf *bytes.Buffer) (string, error) {
	for retry := 0; ; retry++ {
		a := c.attempt(ctx, endpoint, method, body, buf, retry)
		if a.err == nil {
			return a.token, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			if errors.Is(a.err, cerr) {
				return a.token, a.err
			}
			return a.token, fmt.Errorf("%w (stopped: %w)", a.err, cerr)
		}
		if !a.retryable || retry >= c.retry.MaxRetries {
			if a.retryable && retry > 0 {
				return a.token, fmt.Errorf("%w (gave up after %d retries)", a.err, retry)
			}
			return a.token, a.err
		}
		// Retrying sooner than the server asked would most likely fail
		// again and spend the retries for nothing.
		if a.retryAfter > c.retry.MaxDelay {
			asked := a.retryAfter
			if asked > time.Second { // an HTTP date has whole seconds; the rest is clock noise
				asked = asked.Round(time.Second)
			}
			return a.token, fmt.Errorf("%w (no retry: server asked to retry after %s, more than the %s this client waits)",
				a.err, asked, c.retry.MaxDelay)
		}
		delay := c.retry.backoff(retry, a.retryAfter)
		// Fail fast rather than sleep into a deadline that the retry
		// could not meet anyway.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= delay {
			return a.token, fmt.Errorf("%w (no retry: waiting %s would pass the context deadline: %w)",
				a.err, delay.Round(time.Millisecond), context.DeadlineExceeded)
		}
		if err := c.sleep(ctx, delay); err != nil {
			return a.token, fmt.Errorf("%w (while waiting to retry: %w)", a.err, err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type attemptResult struct {
	token      string
	err        error
	retryable  bool
	retryAfter time.Duration
}

// attempt makes one HTTP request and reports it to the observer.
func (c *Client) attempt(ctx context.Context, endpoint, method string, body []byte, buf *bytes.Buffer, retry int) attemptResult {
	if err := c.limiter.Wait(ctx); err != nil {
		if ctx.Err() == nil {
			// The wait would pass the deadline: say so in a way errors.Is knows.
			err = fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
		}
		return attemptResult{err: fmt.Errorf("fptapi: %s: rate limit: %w", endpoint, err)}
	}
	raw, err := c.tokenFunc()
	if err != nil {
		return attemptResult{err: fmt.Errorf("fptapi: %s: get token: %w", endpoint, err)}
	}
	token, err := CleanToken(raw)
	if err != nil {
		return attemptResult{err: fmt.Errorf("fptapi: %s: %w", endpoint, err)}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+endpointPaths[endpoint], bytes.NewReader(body))
	if err != nil {
		return attemptResult{token: token, err: fmt.Errorf("fptapi: %s: %w", endpoint, err)}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.userAgent)

	code, a := c.send(req, endpoint, token, buf)
	if c.observer != nil {
		c.observer(RequestInfo{Endpoint: endpoint, Code: code, Retry: retry})
	}
	a.token = token
	return a
}

// send does req and leaves a 2xx body in buf. code is the HTTP status, or
// the class of a failure, for the observer.
func (c *Client) send(req *http.Request, endpoint, token string, buf *bytes.Buffer) (code string, _ attemptResult) {
	ctx := req.Context()
	resp, err := c.httpc.Do(req)
	if err != nil {
		return errorClass(ctx, err), attemptResult{err: fmt.Errorf("fptapi: %s: %w", endpoint, err), retryable: ctx.Err() == nil}
	}
	defer resp.Body.Close()
	code = strconv.Itoa(resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
		// Drain a little more so the connection can be reused; a huge
		// error page is simply dropped with its connection.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		apiErr := errorFromBody(endpoint, resp.StatusCode, excerpt, token)
		apiErr.URL = req.URL.Redacted()
		return code, attemptResult{
			err:        apiErr,
			retryable:  retryableStatus(resp.StatusCode),
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		}
	}
	err = readBody(resp, buf, c.maxResponseBytes)
	if errors.Is(err, ErrResponseTooLarge) {
		return code, attemptResult{err: fmt.Errorf("fptapi: %s: %w", endpoint, err)}
	}
	if err != nil {
		// The connection broke mid-body: as retryable as a failed dial.
		return errorClass(ctx, err), attemptResult{err: fmt.Errorf("fptapi: %s: read body: %w", endpoint, err), retryable: ctx.Err() == nil}
	}
	return code, attemptResult{}
}

// readBody reads a whole 2xx body into buf, failing once it passes limit.
func readBody(resp *http.Response, buf *bytes.Buffer, limit int64) error {
	buf.Reset()
	if resp.ContentLength > limit {
		return fmt.Errorf("%w: Content-Length %d exceeds the limit of %d bytes", ErrResponseTooLarge, resp.ContentLength, limit)
	}
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength)) // one allocation of the right size, not doublings
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1)); err != nil {
		return err
	}
	if int64(buf.Len()) > limit {
		return fmt.Errorf("%w: body exceeds the limit of %d bytes", ErrResponseTooLarge, limit)
	}
	return nil
}

// errorClass names a failed attempt for an Observer.
func errorClass(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil, errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "transport"
}
