{{/* The parts both Deployments share. Include with (dict "root" $ "component" "<name>"). */}}

{{/* Pod template annotations: a checksum of the component's settings, so a change rolls it. */}}
{{- define "apranova.podAnnotations" -}}
{{- $values := index .root.Values .component }}
checksum/config: {{ dict "env" $values.env "secretEnv" $values.secretEnv "existingSecret" $values.existingSecret | toJson | sha256sum }}
{{- with $values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* envFrom (ConfigMap, Secret) and env (the chart's fixed variables, then extraEnv).
Include with (dict "root" $ "component" "<name>" "env" (list (dict "name" .. "value" ..))). */}}
{{- define "apranova.containerEnv" -}}
{{- $values := index .root.Values .component }}
{{- $secret := include "apranova.secretName" . }}
{{- if or $values.env $secret }}
envFrom:
  {{- if $values.env }}
  - configMapRef:
      name: {{ include "apranova.componentName" . }}
  {{- end }}
  {{- if $secret }}
  - secretRef:
      name: {{ $secret }}
  {{- end }}
{{- end }}
{{- $env := concat .env $values.extraEnv }}
{{- with $env }}
env:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Scheduling and security fields of the pod spec. */}}
{{- define "apranova.podSpecCommon" -}}
{{- $values := index .root.Values .component }}
serviceAccountName: {{ include "apranova.serviceAccountName" . }}
automountServiceAccountToken: true
securityContext:
  {{- include "apranova.podSecurityContext" . | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  # The root filesystem is read-only; Python and the libraries may still need a scratch folder.
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- end }}
