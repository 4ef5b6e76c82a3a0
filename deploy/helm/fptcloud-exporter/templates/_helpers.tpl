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

{{/*
Where the accounts file and the accounts' tokens are mounted. Directories,
never subPath mounts: the kubelet updates a directory mount when its
ConfigMap or Secret changes, and a rotated token must reach the file the
exporter re-reads.
*/}}
{{- define "fptcloud-exporter.configDir" -}}/etc/fptcloud_exporter/config{{- end }}
{{- define "fptcloud-exporter.tokensDir" -}}/etc/fptcloud_exporter/tokens{{- end }}

{{/* The Secret holding an account's token, and its key (the account as context). */}}
{{- define "fptcloud-exporter.accountSecretName" -}}
{{- if .account.token.existingSecret }}
{{- .account.token.existingSecret }}
{{- else }}
{{- printf "%s-token" (include "fptcloud-exporter.fullname" .root) }}
{{- end }}
{{- end }}

{{/* The chart-made Secret keys each token by its account's name. */}}
{{- define "fptcloud-exporter.accountSecretKey" -}}
{{- if .account.token.existingSecret }}
{{- .account.token.existingSecretKey | default "token" }}
{{- else }}
{{- .account.name }}
{{- end }}
{{- end }}

{{/*
The accounts file of --config.file, in the exporter's own keys. Strings go
through toJson, which YAML reads as double-quoted scalars: a name, billing
group or amount is then never taken for a number, a boolean or a date, and
an amount reaches the exporter exactly as written. Empty settings are left
out, so that the exporter's defaults and the fpt.* flags apply.
*/}}
{{- define "fptcloud-exporter.accountsFile" -}}
{{- $tokensDir := include "fptcloud-exporter.tokensDir" . -}}
# Written by the fptcloud-exporter chart from its accounts value.
accounts:
{{- range .Values.accounts }}
  - name: {{ .name | toJson }}
    token_file: {{ printf "%s/%s/token" $tokensDir .name | toJson }}
    {{- with .apiURL }}
    api_url: {{ toJson . }}
    {{- end }}
    {{- with .timezone }}
    timezone: {{ toJson . }}
    {{- end }}
    {{- if hasKey . "rateLimit" }}
    rate_limit: {{ toJson .rateLimit }}
    {{- end }}
    {{- with .serviceTypes }}
    service_types: {{ toJson . }}
    {{- end }}
    {{- with .billingGroups }}
    billing_groups: {{ toJson . }}
    {{- end }}
    {{- with .billingConfigs }}
    billing_configs: {{ toJson . }}
    {{- end }}
    {{- with .budgets }}
    {{- if or .dailyVND .monthlyVND .billingGroupDailyVND .billingGroupMonthlyVND }}
    budgets:
      {{- with .dailyVND }}
      daily_vnd: {{ include "fptcloud-exporter.vnd" . | toJson }}
      {{- end }}
      {{- with .monthlyVND }}
      monthly_vnd: {{ include "fptcloud-exporter.vnd" . | toJson }}
      {{- end }}
      {{- with .billingGroupDailyVND }}
      billing_group_daily_vnd:
        {{- range $group, $amount := . }}
        {{ toJson $group }}: {{ include "fptcloud-exporter.vnd" $amount | toJson }}
        {{- end }}
      {{- end }}
      {{- with .billingGroupMonthlyVND }}
      billing_group_monthly_vnd:
        {{- range $group, $amount := . }}
        {{ toJson $group }}: {{ include "fptcloud-exporter.vnd" $amount | toJson }}
        {{- end }}
      {{- end }}
    {{- end }}
    {{- end }}
{{- end }}
{{- end }}

{{/*
Checks of accounts that values.schema.json cannot make (unique names) or
that must hold with --skip-schema-validation too: with --config.file the
exporter refuses the single account's token, filters and budgets, so they
are refused here, at install, rather than by a pod in a crash loop.
Renders nothing.
*/}}
{{- define "fptcloud-exporter.checkAccounts" -}}
{{- if .Values.accounts }}
{{- $seen := dict }}
{{- range .Values.accounts }}
{{- if hasKey $seen .name }}
{{- fail (printf "accounts: the name %q is given twice: each account needs its own, which names its series (account=%q) and its month cache directory" .name .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
{{- end }}
{{- $single := list }}
{{- if .Values.token.existingSecret }}{{ $single = append $single "token.existingSecret" }}{{ end }}
{{- if .Values.token.value }}{{ $single = append $single "token.value" }}{{ end }}
{{- if .Values.fpt.serviceTypes }}{{ $single = append $single "fpt.serviceTypes" }}{{ end }}
{{- if .Values.fpt.billingGroups }}{{ $single = append $single "fpt.billingGroups" }}{{ end }}
{{- range $k, $v := .Values.budgets }}{{ if $v }}{{ $single = append $single (printf "budgets.%s" $k) }}{{ end }}{{ end }}
{{- range .Values.extraArgs }}
{{- if regexMatch "^--(fpt\\.token-file|fpt\\.service-type|fpt\\.billing-group|fpt\\.billing-config|budget\\.|config\\.file)" . }}
{{- $single = append $single (printf "extraArgs %s" .) }}
{{- end }}
{{- end }}
{{- range .Values.extraEnv }}
{{- if eq .name "FPTCLOUD_TOKEN" }}{{ $single = append $single "extraEnv FPTCLOUD_TOKEN" }}{{ end }}
{{- end }}
{{- with $single }}
{{- fail (printf "with accounts set, leave %s unset: each account takes its own token, filters and budgets under accounts (the exporter refuses both with --config.file)" (join ", " .)) }}
{{- end }}
{{- end }}
{{- end }}
