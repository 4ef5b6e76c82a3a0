// Package alerts holds the Prometheus recording and alerting rules shipped
// with fptcloud_exporter (fptcloud-rules.yml, fptcloud-alerts.yml) and their
// tests: promtool's unit tests under tests/, run by rules_test.go, and an
// end-to-end test against a real Prometheus and Alertmanager (e2e_test.go).
package alerts
