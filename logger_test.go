package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logfmtPair matches key=value, with a value in quotes or up to a space.
var logfmtPair = regexp.MustCompile(`(?:^| )([a-z_]+)=("[^"]*"|\S*)`)

// TestLogLinesShareKeys: the project's lines and exporter-toolkit's (through
// slog) carry the same keys, with the time as ts in UTC, in both formats.
func TestLogLinesShareKeys(t *testing.T) {
	for _, format := range []string{"logfmt", "json"} {
		t.Run(format, func(t *testing.T) {
			cfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}
			require.NoError(t, cfg.Format.Set(format))
			var buf bytes.Buffer
			logger, slogger := newLogger(&buf, cfg)
			level.Info(logger).Log("msg", "from the project")
			slogger.Info("from exporter-toolkit")

			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			require.Len(t, lines, 2, buf.String())
			for _, line := range lines {
				fields := map[string]string{}
				if format == "json" {
					require.NoError(t, json.Unmarshal([]byte(line), &fields), line)
				} else {
					for _, m := range logfmtPair.FindAllStringSubmatch(line, -1) {
						fields[m[1]] = m[2]
					}
				}
				assert.Equal(t, []string{"caller", "level", "msg", "ts"}, slices.Sorted(maps.Keys(fields)), line)
				ts, err := time.Parse(time.RFC3339Nano, fields["ts"])
				if assert.NoError(t, err, line) {
					assert.Equal(t, time.UTC, ts.Location(), line)
				}
			}
		})
	}
}
