{{/* name: <namePrefix><name> */}}
{{- define "tenantry.name" -}}
{{- printf "%s%s" (index . 0).Values.namePrefix (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenantry.serviceAccountName" -}}
{{- include "tenantry.name" (list . "controller-manager") -}}
{{- end -}}

{{/* Labels on every object; app.kubernetes.io/name matches config/default. */}}
{{- define "tenantry.labels" -}}
app.kubernetes.io/name: tenantry
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "tenantry.selectorLabels" -}}
app.kubernetes.io/name: tenantry
control-plane: controller-manager
{{- end -}}

{{- define "tenantry.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
