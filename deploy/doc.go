// Package deploy holds the ways to run fptcloud_exporter on Kubernetes, the
// Helm chart (helm/fptcloud-exporter) and the manifests rendered from it
// (kubernetes/), and their tests, which prove them on a real kube-apiserver.
// tools/install.sh builds the programs they need, in modules of their own
// so that the exporter's go.mod stays lean.
package deploy
