{{/* The chart name, or nameOverride. */}}
{{- define "apranova.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object name: fullnameOverride, else "<release>-<name>" (or the release
name alone when it already contains the chart name). Kept short enough for "-operator" suffixes. */}}
{{- define "apranova.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "apranova.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "apranova.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: apranova
{{- end }}

{{/* Labels of one component: include with (dict "root" $ "component" "operator"). */}}
{{- define "apranova.componentLabels" -}}
{{ include "apranova.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "apranova.selectorLabels" -}}
app.kubernetes.io/name: {{ include "apranova.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* "<fullname>-<component>": the name of a component's Deployment, ConfigMap, Secret, ... */}}
{{- define "apranova.componentName" -}}
{{ include "apranova.fullname" .root }}-{{ .component }}
{{- end }}

{{- define "apranova.serviceAccountName" -}}
{{- $values := index .root.Values .component }}
{{- if $values.serviceAccount.create }}
{{- default (include "apranova.componentName" .) $values.serviceAccount.name }}
{{- else }}
{{- default "default" $values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret whose keys become a component's environment, or "" when there is none. */}}
{{- define "apranova.secretName" -}}
{{- $values := index .root.Values .component }}
{{- if $values.existingSecret }}
{{- $values.existingSecret }}
{{- else if $values.secretEnv }}
{{- include "apranova.componentName" . }}
{{- end }}
{{- end }}

{{- define "apranova.image" -}}
{{- $image := .Values.image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/* Settings that hold credentials: refused in the ConfigMap-backed `env` maps. */}}
{{- define "apranova.secretSettingNames" -}}
{{- list "DATABASE_URL" "STUDENT_DB_ADMIN_URL" "STRIPE_SECRET_KEY" "STRIPE_WEBHOOK_SECRET" "SMTP_URL" "DISCORD_BOT_TOKEN" "GITHUB_TOKEN" | toJson }}
{{- end }}

{{/* Settings the chart sets from its own values (name: the value to use instead). */}}
{{- define "apranova.chartSettings" -}}
{{- dict "OPERATOR_HEALTH_HOST" "the pod listens on all addresses" "OPERATOR_HEALTH_PORT" "operator.healthPort" "OPERATOR_METRICS_PORT" "operator.metricsPort" | toJson }}
{{- end }}

{{/* Fails with a clear message when a component's plain `env` map holds a credential or a
setting the chart derives from other values. */}}
{{- define "apranova.checkEnv" -}}
{{- $values := index .root.Values .component }}
{{- range $name := include "apranova.secretSettingNames" .root | fromJsonArray }}
{{- if hasKey $values.env $name }}
{{- fail (printf "%s.env.%s holds a credential: put it in %s.secretEnv or in the Secret named by %s.existingSecret" $.component $name $.component $.component) }}
{{- end }}
{{- end }}
{{- range $name, $instead := include "apranova.chartSettings" .root | fromJson }}
{{- if hasKey $values.env $name }}
{{- fail (printf "%s.env.%s is set by the chart: use %s" $.component $name $instead) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The pod-level security context of a component: its own, else the chart-wide default. */}}
{{- define "apranova.podSecurityContext" -}}
{{- $values := index .root.Values .component }}
{{- toYaml (default .root.Values.podSecurityContext $values.podSecurityContext) }}
{{- end }}

{{- define "apranova.securityContext" -}}
{{- $values := index .root.Values .component }}
{{- toYaml (default .root.Values.securityContext $values.securityContext) }}
{{- end }}
