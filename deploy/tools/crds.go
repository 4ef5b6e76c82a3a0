//go:build tools

// Package tools keeps prometheus-operator's API types in this module's graph:
// controller-gen reads them to write the monitoring.coreos.com CRDs.
package tools

import _ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
