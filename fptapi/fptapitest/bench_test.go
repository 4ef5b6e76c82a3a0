package fptapitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// BenchmarkRenderPage measures the fake's own cost per row: hashing,
// generating and encoding a page.
func BenchmarkRenderPage(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
		flt  fptapi.Filter
	}{
		{"size=100", 100, fptapi.Filter{}},
		{"size=1000", 1000, fptapi.Filter{}},
		{"size=1000/service=instance", 1000, fptapi.Filter{ServiceType: "instance"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := newServer(Config{RowsPerDay: 1_000_000, Now: fixedNow})
			q := mustDay(b, s, "2025-03-01")
			var buf []byte
			rows, start := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				p := pageRequest{q: q, size: tc.size, start: start, page: 2, flt: tc.flt}
				buf = s.renderPage(&p)
				start = (start + tc.size*7) % 900_000
				rows += tc.size
			}
			b.SetBytes(int64(len(buf)))
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(len(buf))/float64(tc.size), "B/row")
		})
	}
}

// BenchmarkServePages pages a day over HTTP on loopback, as the exporter
// would, reading each body without decoding it.
func BenchmarkServePages(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			s := NewServer(Config{RowsPerDay: 1_000_000, Now: fixedNow})
			defer s.Close()
			var body bytes.Buffer
			rows, last := 0, -1
			b.ReportAllocs()
			for b.Loop() {
				cursor := "[]"
				if last >= 0 {
					cursor = `["2025-03-01","` + strconv.Itoa(last) + `","2"]`
				}
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/billing/bills", bytes.NewBufferString(
					`{"last_sort_value":`+cursor+`,"size":`+strconv.Itoa(size)+`,"search_date":"2025-03-01"}`))
				req.Header.Set("Authorization", "Bearer "+DefaultToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body.Reset()
				_, _ = io.Copy(&body, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("HTTP %d: %.200s", resp.StatusCode, body.Bytes())
				}
				rows += size
				last = (last + size) % 900_000
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// TestLargeDay pages a whole day of 100,000 rows (about 85 MB of JSON)
// over HTTP and checks that the fake's memory stays bounded: it never
// builds the day, only the page asked for. Not parallel: the heap it
// measures is the whole process's, and the parallel tests wait until it
// is done.
func TestLargeDay(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 rows take a few seconds")
	}
	rowsPerDay, size := 100_000, 1000
	if testhelp.RaceEnabled {
		rowsPerDay = 20_000 // the same paths, in a fifth of the time
	}
	s := newTestServer(t, Config{RowsPerDay: rowsPerDay})
	var (
		cursor   = []string{}
		total    int
		pages    int
		peakHeap uint64
		ms       runtime.MemStats
		rowStart = []byte(`{"org_id"`)
	)
	client := &http.Client{}
	for {
		js, err := json.Marshal(billsReq{LastSortValue: cursor, Size: size, SearchDate: "2025-03-01"})
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/billing/bills", bytes.NewReader(js))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+DefaultToken)
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)

		// Decode only the header; count rows by their first key.
		i := bytes.Index(body, []byte(`,"data":`))
		require.Positive(t, i)
		var head page
		require.NoError(t, json.Unmarshal(append(body[:i:i], '}'), &head))
		require.Equal(t, rowsPerDay, head.Count)
		n := bytes.Count(body, rowStart)
		total += n
		pages++
		if pages%10 == 1 {
			require.True(t, json.Valid(body))
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapAlloc)
		}
		if n < size {
			break
		}
		cursor = head.LastSortValue
	}
	require.Equal(t, rowsPerDay, total)
	require.Equal(t, rowsPerDay/size+1, pages)
	t.Logf("pages %d, peak heap %d MiB", pages, peakHeap>>20)
	require.Less(t, peakHeap, uint64(32<<20), "memory must not follow rows")
}
