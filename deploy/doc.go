// Package deploy holds the ways to run fptcloud_exporter on Kubernetes: the
// Helm chart (helm/fptcloud-exporter), the plain manifests rendered from it
// (kubernetes/), and their tests. The tests render the chart with Helm and
// prove it on a real kube-apiserver backed by etcd; the programs they need
// are built by tools/install.sh, in modules of their own so that the
// exporter's go.mod stays lean.
package deploy
