{{/* The operator's name, from the release. */}}
{{- define "shopfleet.operator" -}}
{{ .Release.Name }}-operator
{{- end }}

{{/* Labels of everything the chart makes. */}}
{{- define "shopfleet.labels" -}}
app.kubernetes.io/part-of: shopfleet
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* How the operator's Pods are selected. */}}
{{- define "shopfleet.operatorSelector" -}}
app.kubernetes.io/name: shopfleet-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
