package fptapitest

// Injected faults: the Fault type, its queue, and the answers that replace
// the API's (error statuses, HTML pages, resets, delays).

import (
	"cmp"
	"fmt"
	"html"
	"net"
	"net/http"
	"slices"
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

// InjectFault queues a fault.
func (s *Server) InjectFault(f Fault) { s.locked(func() { s.faults = append(s.faults, f) }) }

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() { s.locked(func() { s.faults = nil }) }

// takeFault pops the first fault matching endpoint and page: the zero
// Fault, which changes nothing, when none does.
func (s *Server) takeFault(endpoint string, page int) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if cmp.Or(f.Endpoint, fptapi.EndpointBills) != endpoint || (f.Page != 0 && f.Page != page) {
			continue
		}
		if f.Times == 1 {
			s.faults = slices.Delete(s.faults, i, i+1)
		} else if f.Times > 1 {
			s.faults[i].Times--
		}
		return f
	}
	return Fault{}
}

// admit runs the request's fault (its delay, then its answer if it
// answers), then checks the token. It returns the fault, and false when
// the request has been dealt with (answered, reset or abandoned).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, endpoint string, page int) (Fault, bool) {
	f := s.takeFault(endpoint, page)
	if f.Delay > 0 && !s.sleep(r, f.Delay) {
		return f, false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	switch {
	case f.Reset:
		resetConn(w)
		return f, false
	case f.HTML || f.Status != nil || (f.Code != 0 && f.Code != http.StatusOK):
		writeFaultAnswer(w, &f)
		return f, false
	}
	return f, s.authorized(w, r)
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
	}
	if code == http.StatusOK {
		a := billsAnswer{Status: status, Message: msg, LastSortValue: []string{}, Data: []wireBill{}}
		write(w, code, jsonType, marshalPadded(&a, &a.Message, f.Oversize), f.Truncate)
		return
	}
	a := errorAnswer{Status: status, Message: msg}
	write(w, code, jsonType, marshalPadded(&a, &a.Message, f.Oversize), f.Truncate)
}

// htmlPage is nginx's error page, its heading padded with spaces until the
// page is at least size bytes.
func htmlPage(code int, msg string, size int64) []byte {
	const format = "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n" +
		"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	esc := html.EscapeString(msg)
	b := fmt.Appendf(nil, format, code, esc, esc)
	if n := size - int64(len(b)); n > 0 {
		b = fmt.Appendf(nil, format, code, esc, esc+strings.Repeat(" ", int(n)))
	}
	return b
}

// resetConn drops the connection without an answer, with a TCP RST when it
// can.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
