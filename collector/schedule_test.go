package collector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

func TestNextWaitRefreshesJustAfterBillingMidnight(t *testing.T) {
	t.Parallel()
	hcm, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	at := func(hh, mm, ss int) time.Time { return time.Date(2026, 11, 25, hh, mm, ss, 0, hcm) }

	tests := []struct {
		name       string
		interval   time.Duration
		notReady   bool
		start, end time.Time
		want       time.Duration
	}{
		{"not ready yet: retry within a minute", 15 * time.Minute, true, at(10, 0, 0), at(10, 0, 20), 40 * time.Second},
		{"not ready, short interval", 10 * time.Second, true, at(10, 0, 0), at(10, 0, 1), 9 * time.Second},
		{"rest of the interval", 15 * time.Minute, false, at(10, 0, 0), at(10, 0, 20), 15*time.Minute - 20*time.Second},
		{"refresh slower than the interval", time.Minute, false, at(10, 0, 0), at(10, 2, 0), 0},
		// 23:59:50 in Vietnam is 16:59:50 UTC: the wait ends just after
		// Vietnam's midnight, not UTC's seven hours later.
		{"midnight comes first", 15 * time.Minute, false, at(23, 59, 40), at(23, 59, 50), 11 * time.Second},
		{"long interval, midnight first", 6 * time.Hour, false, at(20, 0, 0), at(20, 0, 0), 4*time.Hour + time.Second},
		{"just after midnight", 15 * time.Minute, false, at(0, 0, 1), at(0, 0, 2), 15*time.Minute - time.Second},
		// It read the day that has just ended: the new one is due now.
		{"refresh ran past midnight", 15 * time.Minute, false, at(23, 59, 50), at(23, 59, 50).Add(20 * time.Second), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRefresher(Config{Source: newStub(nil), Location: hcm, RefreshInterval: tt.interval})
			require.NoError(t, err)
			if !tt.notReady {
				// Served: the day the refresh read, as read at its end.
				r.publish(func(s *Snapshot) { s.snap = &served{day: billing.DateOf(tt.start.In(hcm)), at: tt.end} })
			}
			// The machine's zone must not matter: pass UTC times.
			assert.Equal(t, tt.want, r.nextWait(tt.start.UTC(), tt.end.UTC()))
		})
	}
}
