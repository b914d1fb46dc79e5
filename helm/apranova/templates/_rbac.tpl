{{/* The operator's cluster-wide rules. It creates each student's namespace and the objects inside
it, and Kopf watches those kinds cluster-wide, so they need a ClusterRole; the verbs are exactly
the calls it makes: server-side apply is "patch" (plus "create" while the object does not exist),
"get" only where it reads single objects, "delete" only for what it prunes (a tool's objects, the
namespace). Nothing here reads or changes RBAC, nodes, pods or CRDs. */}}
{{- define "apranova.operatorRules" -}}
# What it reconciles: finalizers by merge patch, status through the subresource.
- apiGroups: [apranova.io]
  resources: [studentenrollments]
  verbs: [get, list, watch, patch]
- apiGroups: [apranova.io]
  resources: [studentenrollments/status]
  verbs: [patch]
- apiGroups: [apranova.io]
  resources: [tracks]
  verbs: [get, list, watch]
# Each student's namespace, deleted with the enrollment.
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch, create, patch, delete]
# Objects inside it that live as long as the namespace.
- apiGroups: [""]
  resources: [serviceaccounts, resourcequotas, limitranges]
  verbs: [list, watch, create, patch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch, create, patch]
# A tool's objects, pruned when the tool leaves the track; Secrets are also read back.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [services, persistentvolumeclaims]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [list, watch, create, patch, delete]
# Kopf notices CRDs installed after start-up.
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
{{- end }}

{{/* Events about enrollments (cluster-scoped) are posted in the namespace "default", so the
operator may create Events there and nowhere else. */}}
{{- define "apranova.operatorEventRules" -}}
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end }}

{{/* The API's rules: it reads Tracks (checkout, the track cards), and creates, reads, lists and
watches (the status cache), patches and deletes (GDPR erasure) StudentEnrollments; it reads a
namespace before naming an enrollment after it, so a namespace someone else owns is never chosen. */}}
{{- define "apranova.apiRules" -}}
- apiGroups: [apranova.io]
  resources: [tracks]
  verbs: [get, list]
- apiGroups: [apranova.io]
  resources: [studentenrollments]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get]
{{- end }}
