package fptapitest

// Injected faults: the Fault type, its queue, and the answers that replace
// the API's (error statuses, HTML pages, resets, delays).

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// Fault is an injected misbehaviour. Faults are queued; for each request the
// first matching one fires. Response faults (Reset, HTML, a Code other than
// 0/200, or Status) answer instead of the API; the others (Delay, Truncate,
// RepeatCursor, NullData, Oversize, NumbersAsStrings, NullNumbers) change the
// normal answer, which still checks the token and the request.
type Fault struct {
	Endpoint     string        // "bills" (default when "") or "bill_info"
	Page         int           // 0 = any page; 1 = first page (empty cursor); N = the Nth page of a query
	Times        int           // fires this many times; 0 = every time until ClearFaults
	Code         int           // HTTP status to answer (0 = 200)
	RetryAfter   string        // Retry-After header value, sent when non-empty
	Status       any           // body "status" to send instead of 0 (e.g. 1, false)
	Message      string        // body "message"; "" -> a default for the answer
	Truncate     bool          // a valid page cut off mid-JSON
	HTML         bool          // an HTML error page body (with Code, e.g. 502)
	Delay        time.Duration // wait before answering (return early if the request ctx ends)
	RepeatCursor bool          // answer with the previous page's cursor again
	NullData     bool          // "data": null
	Oversize     int64         // pad the body (a long message) to at least this many bytes
	Reset        bool          // hijack and close the TCP connection without answering

	NumbersAsStrings bool // numeric row fields as JSON strings, e.g. "12.5"
	NullNumbers      bool // numeric row fields as null
}

// answers reports whether the fault replaces the API's answer.
func (f *Fault) answers() bool {
	return f.Reset || f.HTML || (f.Code != 0 && f.Code != http.StatusOK) || f.Status != nil
}

func (f *Fault) numMode() numMode {
	switch {
	case f.NullNumbers:
		return numNull
	case f.NumbersAsStrings:
		return numString
	}
	return numPlain
}

type queuedFault struct {
	f    Fault
	left int // remaining firings; 0 = unlimited
}

// InjectFault queues a fault.
func (s *Server) InjectFault(f Fault) {
	s.locked(func() { s.faults = append(s.faults, &queuedFault{f: f, left: f.Times}) })
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() { s.locked(func() { s.faults = nil }) }

// takeFault pops the first fault matching endpoint and page.
func (s *Server) takeFault(endpoint string, page int) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.faults {
		if cmp.Or(q.f.Endpoint, fptapi.EndpointBills) != endpoint || (q.f.Page != 0 && q.f.Page != page) {
			continue
		}
		if q.left > 0 {
			q.left--
			if q.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return q.f, true
	}
	return Fault{}, false
}

// beforeAnswer runs a fault's delay and answering part. It returns false
// when the request has been dealt with (answered, reset or abandoned).
func (s *Server) beforeAnswer(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Delay > 0 && !s.sleep(r, f.Delay) {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Reset {
		resetConn(w)
		return false
	}
	if f.answers() {
		writeFaultAnswer(w, f)
		return false
	}
	return true
}

// sleep waits d, false when the request or the server ends first.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

// writeFaultAnswer answers a response fault: an HTML page, or a JSON body
// with the fault's status and message.
func writeFaultAnswer(w http.ResponseWriter, f *Fault) {
	code := cmp.Or(f.Code, http.StatusOK)
	msg := cmp.Or(f.Message, http.StatusText(code))
	if f.HTML {
		write(w, code, "text/html", htmlPage(code, msg, f.Oversize), f.Truncate)
		return
	}
	var status any = code
	if f.Status != nil {
		status = f.Status
		if _, err := json.Marshal(status); err != nil {
			status = 1
		}
	}
	var body []byte
	if code == http.StatusOK {
		a := billsAnswer{Status: status, Message: msg, LastSortValue: []string{}, Data: []wireBill{}}
		body = marshalPadded(&a, &a.Message, f.Oversize)
	} else {
		a := errorAnswer{Status: status, Message: msg}
		body = marshalPadded(&a, &a.Message, f.Oversize)
	}
	writeJSON(w, code, body, f.Truncate)
}

// htmlPage is nginx's error page, its heading padded with spaces until the
// page is at least size bytes.
func htmlPage(code int, msg string, size int64) []byte {
	page := func(heading string) []byte {
		return fmt.Appendf(nil, "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n"+
			"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", code, html.EscapeString(msg), heading)
	}
	b := page(html.EscapeString(msg))
	if n := size - int64(len(b)); n > 0 {
		b = page(html.EscapeString(msg) + strings.Repeat(" ", int(n)))
	}
	return b
}

// resetConn drops the connection without an answer, with a TCP RST when it
// can.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
