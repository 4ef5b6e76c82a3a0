#!/usr/bin/env bash
# Builds the programs that check the Helm chart and the alert rules into a
# cache directory, one directory per pinned version, and prints an env line
# per tool for the tests. A tool whose cached binary of the pinned version is
# there is not built again, so only the first run on a machine pays for it.
#
#   deploy/tools/install.sh            # build what is missing, print env lines
#
# Versions come from deploy/tools/go.mod and deploy/tools/kubernetes/go.mod,
# and PROMETHEUS3_VERSION below. Nothing here goes on PATH: Debian's
# prometheus 2.x keeps the names prometheus and promtool.
set -euo pipefail

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${FPTCLOUD_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/fptcloud_exporter-ci}"
mkdir -p "${cache}"

# Prometheus 3.x releases are published as Go modules v0.3xx.y.
PROMETHEUS3_VERSION=3.16.0
PROMETHEUS3_MODULE_VERSION=v0.316.0

log() { printf '%s\n' "$*" >&2; }

mod_version() { # module dir, module path
	(cd "$1" && go list -m -f '{{.Version}}' "$2")
}

# build NAME VERSION -- command...: runs the command with $out set to a fresh
# directory, then moves it into place, so a killed build never leaves a
# directory that looks complete.
build() {
	local name="$1" version="$2"
	shift 3
	local dest="${cache}/${name}-${version}"
	if [[ -d "${dest}/bin" ]]; then
		log "${name} ${version}: cached in ${dest}"
		return
	fi
	local out="${dest}.partial.$$"
	rm -rf "${out}"
	mkdir -p "${out}/bin"
	local start=$SECONDS
	log "${name} ${version}: building..."
	out="${out}" "$@"
	rm -rf "${dest}"
	mv "${out}" "${dest}"
	log "${name} ${version}: built in $((SECONDS - start))s"
}

kube_version="$(mod_version "${tools_dir}/kubernetes" k8s.io/kubernetes)"
helm_version="$(mod_version "${tools_dir}" helm.sh/helm/v3)"
cgen_version="$(mod_version "${tools_dir}" sigs.k8s.io/controller-tools)"
promop_version="$(mod_version "${tools_dir}" github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring)"

build_prometheus3() {
	local v=github.com/prometheus/common/version
	GOBIN="${out}/bin" GOFLAGS=-buildvcs=false go install \
		-ldflags "-X ${v}.Version=${PROMETHEUS3_VERSION} -X ${v}.Revision=${PROMETHEUS3_MODULE_VERSION} -X ${v}.Branch=HEAD" \
		"github.com/prometheus/prometheus/cmd/prometheus@${PROMETHEUS3_MODULE_VERSION}" \
		"github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS3_MODULE_VERSION}"
}

build_kube() {
	# kubectl and kube-apiserver report this version; without it they say
	# v0.0.0 and Helm's kubeVersion checks misjudge the server.
	local v=k8s.io/component-base/version minor
	minor="$(cut -d. -f2 <<<"${kube_version}")"
	(cd "${tools_dir}/kubernetes" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath -o "${out}/bin/" \
		-ldflags "-s -w -X ${v}.gitVersion=${kube_version} -X ${v}.gitMajor=1 -X ${v}.gitMinor=${minor} -X ${v}.gitTreeState=clean" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
}

build_helm() {
	(cd "${tools_dir}" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath -o "${out}/bin/helm" \
		-ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version}" helm.sh/helm/v3/cmd/helm)
}

build_controller_gen() {
	(cd "${tools_dir}" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath -o "${out}/bin/controller-gen" \
		sigs.k8s.io/controller-tools/cmd/controller-gen)
}

# The CRDs come from prometheus-operator's Go types, the source of the
# operator's own CRDs; only the kinds the chart uses are kept.
build_crds() {
	local cgen="${cache}/controller-gen-${cgen_version}/bin/controller-gen"
	(cd "${tools_dir}" && "${cgen}" crd:allowDangerousTypes=true,maxDescLen=0 \
		paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 \
		output:crd:dir="${out}/all")
	cp "${out}/all/monitoring.coreos.com_servicemonitors.yaml" \
		"${out}/all/monitoring.coreos.com_prometheusrules.yaml" "${out}/bin/"
	rm -rf "${out}/all"
}

build kubernetes "${kube_version}" -- build_kube
build helm "${helm_version}" -- build_helm
build controller-gen "${cgen_version}" -- build_controller_gen
build monitoring-crds "${promop_version}" -- build_crds
build prometheus "${PROMETHEUS3_VERSION}" -- build_prometheus3

# What the tests read (deploy/tools_test.go, internal/testhelp) and .ci/run.
echo "FPTCLOUD_PROMETHEUS3_DIR=${cache}/prometheus-${PROMETHEUS3_VERSION}/bin"
echo "FPTCLOUD_KUBE_BIN=${cache}/kubernetes-${kube_version}/bin"
echo "FPTCLOUD_HELM=${cache}/helm-${helm_version}/bin/helm"
echo "FPTCLOUD_CRDS_DIR=${cache}/monitoring-crds-${promop_version}/bin"
