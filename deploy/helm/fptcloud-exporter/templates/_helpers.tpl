{{- define "fptcloud-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fptcloud-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "fptcloud-exporter.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "fptcloud-exporter.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "fptcloud-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fptcloud-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "fptcloud-exporter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "fptcloud-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "fptcloud-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "fptcloud-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the token, and its key; fails without a token. */}}
{{- define "fptcloud-exporter.tokenSecretName" -}}
{{- if and .Values.token.existingSecret .Values.token.value }}
{{- fail "set only one of token.existingSecret and token.value" }}
{{- end }}
{{- if .Values.token.existingSecret }}
{{- .Values.token.existingSecret }}
{{- else if .Values.token.value }}
{{- printf "%s-token" (include "fptcloud-exporter.fullname" .) }}
{{- else }}
{{- fail "the exporter needs an FPT Cloud API token: set token.existingSecret (a Secret you manage) or token.value (the chart creates the Secret), or demo=true" }}
{{- end }}
{{- end }}

{{- define "fptcloud-exporter.tokenSecretKey" -}}
{{- if .Values.token.existingSecret }}{{ .Values.token.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{/* true when the ServiceMonitor is wanted: forced by value, else when the API is served. */}}
{{- define "fptcloud-exporter.serviceMonitorEnabled" -}}
{{- if kindIs "bool" .Values.serviceMonitor.enabled }}
{{- ternary "true" "" .Values.serviceMonitor.enabled }}
{{- else if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor" }}true
{{- end }}
{{- end }}

{{- define "fptcloud-exporter.prometheusRuleEnabled" -}}
{{- if kindIs "bool" .Values.prometheusRule.enabled }}
{{- ternary "true" "" .Values.prometheusRule.enabled }}
{{- else if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PrometheusRule" }}true
{{- end }}
{{- end }}

{{- define "fptcloud-exporter.usesPVC" -}}
{{- if and .Values.storage.enabled (eq .Values.storage.type "persistentVolumeClaim") }}true{{ end }}
{{- end }}

{{- define "fptcloud-exporter.pvcName" -}}
{{- default (printf "%s-data" (include "fptcloud-exporter.fullname" .)) .Values.storage.persistentVolumeClaim.existingClaim }}
{{- end }}

{{/*
Labels of the ServiceMonitor or PrometheusRule (dict "root" . "labels" its
labels value): the chart's, release: <kubePrometheusStackRelease> for
kube-prometheus-stack's default selectors, then the object's own labels,
which replace a release label of the first two.
*/}}
{{- define "fptcloud-exporter.operatorLabels" -}}
{{- $own := dict }}
{{- with .root.Values.kubePrometheusStackRelease }}
{{- $_ := set $own "release" . }}
{{- end }}
{{- $own = mergeOverwrite $own (.labels | default dict) }}
{{- include "fptcloud-exporter.labels" .root }}
{{- with $own }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
A budget amount as the --budget.* flags take it. A values file's numbers
arrive as float64, which would print as 5e+08: the schema allows whole
numbers only, so %.0f prints them exactly.
*/}}
{{- define "fptcloud-exporter.vnd" -}}
{{- if kindIs "float64" . }}{{ printf "%.0f" . }}{{ else }}{{ . }}{{ end }}
{{- end }}
