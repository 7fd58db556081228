{{/* The chart name, or nameOverride. */}}
{{- define "datatrails-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: fullnameOverride, else the release name when it already contains the chart
name, else <release>-<chart>. At most 63 characters (a DNS label).
*/}}
{{- define "datatrails-operator.fullname" -}}
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

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "datatrails-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the operator's pods; never change them (Deployment selectors are immutable). */}}
{{- define "datatrails-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "datatrails-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of every object. managed-by is Helm's: the operator's own Secrets carry
app.kubernetes.io/managed-by=datatrails-operator, and nothing of the chart's must match that selector.
*/}}
{{- define "datatrails-operator.labels" -}}
helm.sh/chart: {{ include "datatrails-operator.chart" . }}
{{ include "datatrails-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: datatrails-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "datatrails-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "datatrails-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The leader election Lease's name. */}}
{{- define "datatrails-operator.leaseName" -}}
{{- default (include "datatrails-operator.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/* repository:tag or repository@digest. */}}
{{- define "datatrails-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Checks that hold across values (the schema checks each value alone); a failure names the values.
*/}}
{{- define "datatrails-operator.validate" -}}
{{- if and (eq .Values.rbac.scope "namespaces") (empty .Values.watchNamespaces) }}
{{- fail "rbac.scope=namespaces needs watchNamespaces: the namespaces to grant access in and to watch" }}
{{- end }}
{{- if and (ne .Values.rbac.scope "namespaces") (not (empty .Values.rbac.secretReadNamespaces)) }}
{{- fail "rbac.secretReadNamespaces applies only with rbac.scope=namespaces (cluster scope already reads Secrets everywhere)" }}
{{- end }}
{{- if ge (int .Values.leaderElection.renewDeadlineMs) (int .Values.leaderElection.leaseDurationMs) }}
{{- fail "leaderElection.renewDeadlineMs must be less than leaderElection.leaseDurationMs" }}
{{- end }}
{{- if ge (int .Values.leaderElection.retryPeriodMs) (int .Values.leaderElection.renewDeadlineMs) }}
{{- fail "leaderElection.retryPeriodMs must be less than leaderElection.renewDeadlineMs" }}
{{- end }}
{{- if eq (int .Values.health.port) (int .Values.metrics.port) }}
{{- fail "health.port and metrics.port must differ" }}
{{- end }}
{{- if lt (int .Values.replicaCount) (int .Values.sharding.shards) }}
{{- fail "sharding.shards must not exceed replicaCount: every shard needs a replica to hold it" }}
{{- end }}
{{- if and (gt (int .Values.sharding.shards) 1) (not .Values.leaderElection.enabled) }}
{{- fail "sharding.shards > 1 needs leaderElection.enabled: shards are held on Leases" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled: two replicas without a Lease would both work" }}
{{- end }}
{{- end }}

{{/*
The rules every watched namespace needs (the namespaced part of the operator's access). Used as the
namespaced half of the ClusterRole in cluster scope and as the Role in each namespace otherwise.
docs/rbac.md says why each verb is there.
*/}}
{{- define "datatrails-operator.namespacedRules" -}}
- apiGroups: ["datatrails.ai"]
  resources: ["datatrailsintegrations"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["datatrails.ai"]
  resources: ["bearertokens"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["datatrails.ai"]
  resources: ["datatrailsintegrations/status", "bearertokens/status", "datatrailsconnections/status"]
  verbs: ["patch"]
- apiGroups: ["datatrails.ai"]
  resources: ["datatrailsintegrations/finalizers", "bearertokens/finalizers"]
  verbs: ["update"]
- apiGroups: ["datatrails.ai"]
  resources: ["datatrailsconnections"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["serviceaccounts/token"]
  verbs: ["create"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
spec.reload's access to workloads (workloadReload.enabled), limited to the watched namespaces: in
the ClusterRole only when every namespace is watched, else in a Role of its own in each of them.
*/}}
{{- define "datatrails-operator.reloadRules" -}}
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "list", "patch"]
{{- end }}

{{/* The cluster-scoped reads, needed in both scopes. */}}
{{- define "datatrails-operator.clusterRules" -}}
- apiGroups: ["datatrails.ai"]
  resources: ["clusterdatatrailsconnections"]
  verbs: ["list", "watch"]
- apiGroups: ["datatrails.ai"]
  resources: ["clusterdatatrailsconnections/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get"]
{{- end }}
