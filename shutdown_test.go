package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// TestShutdownLetsInFlightScrapesFinish cancels the server's context while a
// scrape is being served: the scrape still gets its answer and the shutdown
// is clean. A scrape that outlasts
// the grace period is cut off, and the shutdown is still clean.
func TestShutdownLetsInFlightScrapesFinish(t *testing.T) {
	tests := []struct {
		name        string
		grace       time.Duration
		releaseLate bool // release the scrape only after the grace period
		wantAnswer  bool
	}{
		{name: "scrape finishes within the grace period", grace: 10 * time.Second, wantAnswer: true},
		{name: "scrape outlasts the grace period", grace: 100 * time.Millisecond, releaseLate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				select {
				case <-release:
				case <-r.Context().Done():
				}
				_, _ = w.Write([]byte("metrics\n"))
			})
			addr := testhelp.FreeAddr(t)
			flags := &web.FlagConfig{WebListenAddresses: &[]string{addr}, WebSystemdSocket: new(bool), WebConfigFile: new(string)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- listenAndServe(ctx, handler, flags, tt.grace, log.NewNopLogger(), promslog.NewNopLogger())
			}()

			type answer struct {
				code int
				err  error
			}
			answers := make(chan answer, 1)
			go func() {
				for {
					resp, err := http.Get("http://" + addr + "/metrics")
					if err != nil && ctx.Err() == nil {
						time.Sleep(10 * time.Millisecond) // not listening yet
						continue
					}
					if err != nil {
						answers <- answer{err: err}
						return
					}
					resp.Body.Close()
					answers <- answer{code: resp.StatusCode}
					return
				}
			}()
			select {
			case <-entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the scrape never reached the handler")
			}
			cancel()
			if tt.releaseLate {
				require.NoError(t, <-done, "cut-off scrapes still make a clean shutdown")
				close(release)
				a := <-answers
				assert.Error(t, a.err, "the cut-off scrape gets no answer")
				return
			}
			select {
			case err := <-done:
				t.Fatalf("returned %v while a scrape was still in flight", err)
			case <-time.After(100 * time.Millisecond):
			}
			close(release)
			a := <-answers
			require.NoError(t, a.err)
			assert.Equal(t, http.StatusOK, a.code, "the in-flight scrape is answered")
			require.NoError(t, <-done)
		})
	}
}
