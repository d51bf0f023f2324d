{{- define "fp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "fp.pool" -}}
{{- default (include "fp.fullname" .) .Values.runtime.pool | trunc 30 | trimSuffix "-" -}}
{{- end -}}

{{- define "fp.labels" -}}
app.kubernetes.io/name: fastapi-platform
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "fp.gatewaySelector" -}}
app.kubernetes.io/name: fastapi-platform
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end -}}

{{/* Runtime Pods carry these (poolmgr/host/kube/pod-spec.ts). */}}
{{- define "fp.runtimeSelector" -}}
app.kubernetes.io/component: runtime
fastapi-platform.dev/pool: {{ include "fp.pool" . }}
{{- end -}}

{{- define "fp.secretName" -}}
{{- default (printf "%s-keys" (include "fp.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{- define "fp.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s-redis:6379" (include "fp.fullname" .) -}}
{{- else -}}
{{- required "redis.url is required when redis.enabled is false" .Values.redis.url -}}
{{- end -}}
{{- end -}}

{{- define "fp.mongoUrl" -}}
{{- if .Values.mongodb.enabled -}}
{{- printf "mongodb://%s-mongodb:27017/" (include "fp.fullname" .) -}}
{{- else -}}
{{- required "mongodb.url is required when mongodb.enabled is false" .Values.mongodb.url -}}
{{- end -}}
{{- end -}}
