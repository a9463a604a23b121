{{/* The name of the app: the job label of the ServiceMonitor's targets. */}}
{{- define "cme.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object of the release. */}}
{{- define "cme.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cme.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cme.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cme.labels" -}}
{{ include "cme.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The Secret holding the token: the existing one, or the chart's. */}}
{{- define "cme.secretName" -}}
{{- default (include "cme.fullname" .) .Values.cloudflare.existingSecret }}
{{- end }}

{{- define "cme.secretKey" -}}
{{- if .Values.cloudflare.existingSecret }}{{ .Values.cloudflare.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}
