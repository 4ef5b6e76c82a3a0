package collector

import (
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
)

// TestMetricNamesMatchDescribe keeps MetricNames, which the rules' and
// dashboards' tests rely on, equal to what the Collector describes.
func TestMetricNamesMatchDescribe(t *testing.T) {
	t.Parallel()
	ch := make(chan *prometheus.Desc, len(allDescs)+2)
	(&Collector{}).Describe(ch)
	NewReloadStatus(time.Now()).Describe(ch)
	close(ch)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	var described []string
	for d := range ch {
		m := fqName.FindStringSubmatch(d.String())
		if assert.Len(t, m, 2, d.String()) {
			described = append(described, m[1])
		}
	}
	assert.ElementsMatch(t, append(MetricNames(), ReloadMetricNames()...), described)
}
