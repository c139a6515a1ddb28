{{/* ---------- names and labels ---------- */}}
{{- define "ocireg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-ocireg, at most 40 characters so "<fullname>-blob-upload-migrations" stays a DNS label. */}}
{{- define "ocireg.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ocireg.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ocireg.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ocireg
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "gateway") */}}
{{- define "ocireg.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ocireg.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ocireg.componentLabels" -}}
{{ include "ocireg.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ocireg.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ocireg.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The services, who calls whom and what each uses come from topology.yaml, generated from
libs/topology (pnpm gen:topology; a unit test fails while it is stale).
*/}}
{{- define "ocireg.topology" -}}
{{- .Files.Get "topology.yaml" -}}
{{- end -}}

{{/* The services' names in the topology's order, as JSON: range over `include "ocireg.serviceNames" . | fromJsonArray`. */}}
{{- define "ocireg.serviceNames" -}}
{{- $names := list -}}
{{- range (include "ocireg.topology" . | fromYaml).services }}{{ $names = append $names .name }}{{ end -}}
{{- toJson $names -}}
{{- end -}}

{{/*
Each service by name: values key, kind of server, ports (from the values), the services it
calls over gRPC and the dependencies it uses. Used by every per-service template, so they all agree.
*/}}
{{- define "ocireg.components" -}}
{{- range $s := (include "ocireg.topology" . | fromYaml).services }}
{{- $v := get $.Values $s.valuesKey }}
{{ $s.name }}: {{ dict "key" $s.valuesKey "kind" $s.kind "port" (eq $s.kind "http" | ternary $v.httpPort $v.grpcPort) "metricsPort" $v.metricsPort "calls" $s.calls "uses" $s.uses "outbound" ($s.outbound | default false) | toJson }}
{{- end }}
{{- end -}}

{{/* The variables a service finds the services it calls in (AUTH_ADDR, ...), as JSON: (dict "root" $ "component" "gateway") */}}
{{- define "ocireg.calleeAddressVariables" -}}
{{- $services := (include "ocireg.topology" .root | fromYaml).services -}}
{{- $calls := list -}}
{{- range $services }}{{ if eq .name $.component }}{{ $calls = .calls }}{{ end }}{{ end -}}
{{- $names := list -}}
{{- range $services }}{{ if has .name $calls }}{{ $names = append $names .addressVariable }}{{ end }}{{ end -}}
{{- toJson $names -}}
{{- end -}}

{{/* Image of one service: (dict "root" $ "component" "blob-upload" "key" "blobUpload") */}}
{{- define "ocireg.image" -}}
{{- $override := get .root.Values.images .key -}}
{{- if $override -}}
{{- $override -}}
{{- else -}}
{{- $repo := printf "%s-%s" .root.Values.image.repository .component -}}
{{- if .root.Values.image.registry }}{{ $repo = printf "%s/%s" .root.Values.image.registry $repo }}{{ end -}}
{{- printf "%s:%s" $repo (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* host:port of a gRPC service inside the cluster. */}}
{{- define "ocireg.address" -}}
{{- $c := get (include "ocireg.components" .root | fromYaml) .component -}}
{{- printf "%s-%s:%v" (include "ocireg.fullname" .root) .component $c.port -}}
{{- end -}}

{{/* ---------- Secrets and where each secret value comes from ---------- */}}
{{- define "ocireg.secretName" -}}{{ include "ocireg.fullname" . }}{{- end -}}
{{- define "ocireg.configMapName" -}}{{ include "ocireg.fullname" . }}-config{{- end -}}

{{- define "ocireg.databaseUrlRef" -}}
{{- if and (not .Values.trial.enabled) .Values.postgres.existingSecret -}}
{ name: {{ .Values.postgres.existingSecret }}, key: {{ .Values.postgres.existingSecretKey }} }
{{- else -}}
{ name: {{ include "ocireg.secretName" . }}, key: DATABASE_URL }
{{- end -}}
{{- end -}}

{{- define "ocireg.redisUrlRef" -}}
{{- if and (not .Values.trial.enabled) .Values.redis.existingSecret -}}
{ name: {{ .Values.redis.existingSecret }}, key: {{ .Values.redis.existingSecretKey }} }
{{- else -}}
{ name: {{ include "ocireg.secretName" . }}, key: REDIS_URL }
{{- end -}}
{{- end -}}

{{- define "ocireg.s3SecretName" -}}
{{- if and (not .Values.trial.enabled) .Values.s3.existingSecret }}{{ .Values.s3.existingSecret }}{{ else }}{{ include "ocireg.secretName" . }}{{ end -}}
{{- end -}}

{{- define "ocireg.authSecretName" -}}
{{- .Values.auth.existingSecret | default (include "ocireg.secretName" .) -}}
{{- end -}}

{{/* Non-secret settings, from the ConfigMap: (dict "root" $ "names" (list ...)) */}}
{{- define "ocireg.configEnv" -}}
{{- range .names }}
- name: {{ . }}
  valueFrom: { configMapKeyRef: { name: {{ include "ocireg.configMapName" $.root }}, key: {{ . }} } }
{{- end }}
{{- end -}}

{{- define "ocireg.databaseEnv" -}}
- name: DATABASE_URL
  valueFrom: { secretKeyRef: {{ include "ocireg.databaseUrlRef" . }} }
{{- end -}}

{{- define "ocireg.redisEnv" -}}
- name: REDIS_URL
  valueFrom: { secretKeyRef: {{ include "ocireg.redisUrlRef" . }} }
{{- end -}}

{{/* The storage backend (STORAGE_BACKEND): storage.backend, or s3 in trial mode (its MinIO). */}}
{{- define "ocireg.storageBackend" -}}
{{- if .Values.trial.enabled -}}
{{- if ne .Values.storage.backend "s3" }}{{ fail "trial.enabled=true keeps blobs in its own MinIO: storage.backend must be s3" }}{{ end -}}
s3
{{- else -}}
{{ .Values.storage.backend }}
{{- end -}}
{{- end -}}

{{/* The Secret holding the Azure account key, when the services use one (not workload identity). */}}
{{- define "ocireg.azureKeySecretName" -}}
{{- if .Values.azure.existingSecret }}{{ .Values.azure.existingSecret }}{{ else if .Values.azure.accountKey }}{{ include "ocireg.secretName" . }}{{ end -}}
{{- end -}}

{{/* The Secret holding the GCS service account key, when the services use one (not workload identity). */}}
{{- define "ocireg.gcsKeySecretName" -}}
{{- if .Values.gcs.existingSecret }}{{ .Values.gcs.existingSecret }}{{ else if .Values.gcs.keyFile }}{{ include "ocireg.secretName" . }}{{ end -}}
{{- end -}}
{{- define "ocireg.gcsKeyDir" -}}/etc/ocireg/gcs{{- end -}}

{{/* What the services that reach the blobs (gateway, metadata, blob-upload) read of the chosen backend. */}}
{{- define "ocireg.storageEnv" -}}
{{- $backend := include "ocireg.storageBackend" . -}}
{{ include "ocireg.configEnv" (dict "root" . "names" (list "STORAGE_BACKEND")) }}
{{- if eq $backend "s3" }}{{ include "ocireg.s3Env" . }}
{{- else if eq $backend "azure" }}{{ include "ocireg.configEnv" (dict "root" . "names" (list "AZURE_STORAGE_ACCOUNT" "AZURE_STORAGE_CONTAINER" "AZURE_STORAGE_ENDPOINT")) }}
{{- with include "ocireg.azureKeySecretName" . }}
- name: AZURE_STORAGE_KEY
  valueFrom: { secretKeyRef: { name: {{ . }}, key: {{ if $.Values.azure.existingSecret }}{{ $.Values.azure.accountKeyKey }}{{ else }}AZURE_STORAGE_KEY{{ end }} } }
{{- end }}
{{- else if eq $backend "gcs" }}{{ include "ocireg.configEnv" (dict "root" . "names" (compact (list "GCS_BUCKET" (ternary "GCS_PROJECT_ID" "" (not (empty .Values.gcs.projectId)))))) }}
{{- if include "ocireg.gcsKeySecretName" . }}
- { name: GOOGLE_APPLICATION_CREDENTIALS, value: {{ printf "%s/key.json" (include "ocireg.gcsKeyDir" .) | quote }} }
{{- end }}
{{- end }}
{{- end -}}

{{/* The GCS key file of the storage pods, as a volume and its mount (nothing for other backends, or without a key). */}}
{{- define "ocireg.storageVolumeMounts" -}}
{{- if and (eq (include "ocireg.storageBackend" .) "gcs") (include "ocireg.gcsKeySecretName" .) }}
- { name: gcs-key, mountPath: {{ include "ocireg.gcsKeyDir" . }}, readOnly: true }
{{- end }}
{{- end -}}
{{- define "ocireg.storageVolumes" -}}
{{- with include "ocireg.gcsKeySecretName" . }}
{{- if eq (include "ocireg.storageBackend" $) "gcs" }}
- name: gcs-key
  secret: { secretName: {{ . }}, defaultMode: 0440, items: [{ key: {{ if $.Values.gcs.existingSecret }}{{ $.Values.gcs.keyFileKey }}{{ else }}GCS_KEY_JSON{{ end }}, path: key.json }] }
{{- end }}
{{- end }}
{{- end -}}

{{/* Labels of the storage pods: AKS's webhook gives them the workload identity's token. */}}
{{- define "ocireg.storagePodLabels" -}}
{{- if and (eq (include "ocireg.storageBackend" .) "azure") .Values.azure.workloadIdentity.enabled }}
azure.workload.identity/use: "true"
{{- end }}
{{- end -}}

{{- define "ocireg.s3Env" -}}
{{ include "ocireg.configEnv" (dict "root" . "names" (list "S3_ENDPOINT" "S3_BUCKET" "S3_REGION")) }}
- name: S3_ACCESS_KEY
  valueFrom: { secretKeyRef: { name: {{ include "ocireg.s3SecretName" . }}, key: {{ if .Values.trial.enabled }}S3_ACCESS_KEY{{ else }}{{ .Values.s3.accessKeyKey }}{{ end }} } }
- name: S3_SECRET_KEY
  valueFrom: { secretKeyRef: { name: {{ include "ocireg.s3SecretName" . }}, key: {{ if .Values.trial.enabled }}S3_SECRET_KEY{{ else }}{{ .Values.s3.secretKeyKey }}{{ end }} } }
{{- end -}}

{{/* ---------- pod pieces shared by every workload ---------- */}}
{{- define "ocireg.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "ocireg.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}

{{- define "ocireg.podPlacement" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Trial dependencies: hostnames inside the release. */}}
{{- define "ocireg.trialHost" -}}{{ include "ocireg.fullname" .root }}-{{ .name }}{{- end -}}

{{/*
MIGRATE_ON_START of metadata, auth, indexer and webhooks. Off when the migrations hook runs them, except in
trial mode: there the hook can only run after install (the release creates its PostgreSQL), and
`helm install --wait` waits for every pod to be Ready before post-install hooks, so a service that
needs its tables to start (auth with a bootstrap admin) would wait for a hook that waits for it.
*/}}
{{- define "ocireg.migrateOnStart" -}}
{{- or (not .Values.migrations.enabled) .Values.trial.enabled | toString -}}
{{- end -}}

{{/* When the migrations Job runs: before install/upgrade; after install in trial mode, whose PostgreSQL the release itself creates. */}}
{{- define "ocireg.migrationsHook" -}}
{{- if .Values.trial.enabled }}post-install,pre-upgrade{{ else }}pre-install,pre-upgrade{{ end -}}
{{- end -}}

{{/* Where every service finds its mutual-TLS material (the mounted <fullname>-<service>-tls Secret). */}}
{{- define "ocireg.tlsMountPath" -}}/etc/ocireg/tls{{- end -}}
{{- define "ocireg.tlsSecretName" -}}{{ include "ocireg.fullname" .root }}-{{ .component }}-tls{{- end -}}

{{/* Settings every gRPC service reads: its port, TLS material, health port, metrics. */}}
{{- define "ocireg.grpcServiceEnv" -}}
- { name: GRPC_HOST, value: "0.0.0.0" }
- { name: GRPC_PORT, value: {{ .port | quote }} }
- { name: INTERNAL_TLS_DIR, value: {{ include "ocireg.tlsMountPath" .root | quote }} }
- { name: GRPC_HEALTH_PORT, value: {{ .root.Values.probes.grpcHealthPort | quote }} }
- { name: METRICS_PORT, value: {{ .metricsPort | quote }} }
{{- end -}}

{{/* X-Forwarded-For is believed from these: the values, or the cluster's private ranges behind the chart's ingress. */}}
{{- define "ocireg.trustedProxies" -}}
{{- if .Values.gateway.trustedProxyCIDRs -}}
{{ join "," .Values.gateway.trustedProxyCIDRs }}
{{- else if .Values.gateway.ingress.enabled -}}
10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fd00::/8
{{- end -}}
{{- end -}}

{{/* The environment of each service: exactly what its config.ts reads. */}}
{{- define "ocireg.env.gateway" -}}
- { name: HTTP_HOST, value: "0.0.0.0" }
- { name: HTTP_PORT, value: {{ .Values.gateway.httpPort | quote }} }
- { name: METRICS_PORT, value: {{ .Values.gateway.metricsPort | quote }} }
- { name: INTERNAL_TLS_DIR, value: {{ include "ocireg.tlsMountPath" . | quote }} }
- { name: ADMIN_GRPC_HOST, value: "0.0.0.0" }
- { name: ADMIN_GRPC_PORT, value: {{ .Values.gateway.admin.port | quote }} }
{{- if .Values.gateway.admin.tlsSecret }}
- { name: ADMIN_TLS_DIR, value: "/etc/ocireg/admin-tls" }
{{- end }}
{{- with include "ocireg.trustedProxies" . }}
- { name: TRUSTED_PROXY_CIDRS, value: {{ . | quote }} }
{{- end }}
{{ include "ocireg.configEnv" (dict "root" . "names" (concat (list "LOG_LEVEL") (include "ocireg.calleeAddressVariables" (dict "root" . "component" "gateway") | fromJsonArray) (list "UPLOAD_TIME_LIMIT_SECONDS" "UPLOAD_PART_SIZE" "MAX_MANIFEST_SIZE"))) }}
{{- if .Values.gateway.blobRedirectSeconds }}
- { name: BLOB_REDIRECT_SECONDS, value: {{ .Values.gateway.blobRedirectSeconds | int64 | quote }} }
{{- end }}
- { name: PULL_FLUSH_SECONDS, value: {{ .Values.gateway.pullFlushSeconds | default 30 | int64 | quote }} }
{{- with .Values.gateway.pullThrough }}
- { name: UPSTREAM_TIMEOUT_SECONDS, value: {{ .upstreamTimeoutSeconds | toString | quote }} }
- { name: UPSTREAM_SPOOL_DIR, value: "/var/spool/ocireg" }
{{- with .allowedHosts }}
- { name: UPSTREAM_ALLOWED_HOSTS, value: {{ join "," . | quote }} }
{{- end }}
{{- with .allowedCidrs }}
- { name: UPSTREAM_ALLOWED_CIDRS, value: {{ join "," . | quote }} }
{{- end }}
{{- with .mirrors }}
{{- $pairs := list }}
{{- range $registry, $upstream := . }}{{ $pairs = append $pairs (printf "%s=%s" $registry $upstream) }}{{ end }}
- { name: UPSTREAM_MIRRORS, value: {{ join "," $pairs | quote }} }
{{- end }}
{{- with .mirrorHosts }}
{{- $pairs := list }}
{{- range $host, $upstream := . }}{{ $pairs = append $pairs (printf "%s=%s" $host $upstream) }}{{ end }}
- { name: UPSTREAM_MIRROR_HOSTS, value: {{ join "," $pairs | quote }} }
{{- end }}
{{- end }}
{{- with .Values.gateway.replication }}
- { name: REPLICATION_ENABLED, value: {{ .enabled | toString | quote }} }
- { name: REPLICATION_POLL_SECONDS, value: {{ .pollSeconds | toString | quote }} }
- { name: REPLICATION_CONCURRENCY, value: {{ .concurrency | toString | quote }} }
- { name: REPLICATION_TIMEOUT_SECONDS, value: {{ .timeoutSeconds | toString | quote }} }
{{- with .allowedCidrs }}
- { name: REPLICATION_ALLOWED_CIDRS, value: {{ join "," . | quote }} }
{{- end }}
{{- end }}
{{ include "ocireg.storageEnv" . }}
{{ include "ocireg.redisEnv" . }}
{{- $publicUrl := .Values.gateway.publicUrl }}
{{- if and (not $publicUrl) .Values.gateway.ingress.enabled }}
{{- $publicUrl = printf "%s://%s" (ternary "https" "http" (not (empty .Values.gateway.ingress.tlsSecret))) .Values.gateway.ingress.host }}
{{- end }}
{{- if $publicUrl }}
- { name: PUBLIC_URL, value: {{ $publicUrl | quote }} }
{{- end }}
- { name: TOKEN_SERVICE, value: {{ .Values.gateway.tokenService | quote }} }
{{- end -}}

{{- define "ocireg.env.auth" -}}
{{ include "ocireg.grpcServiceEnv" (dict "root" . "port" .Values.auth.grpcPort "metricsPort" .Values.auth.metricsPort) }}
- { name: MIGRATE_ON_START, value: {{ include "ocireg.migrateOnStart" . | quote }} }
{{ include "ocireg.configEnv" (dict "root" . "names" (concat (list "LOG_LEVEL") (include "ocireg.calleeAddressVariables" (dict "root" . "component" "auth") | fromJsonArray))) }}
{{ include "ocireg.databaseEnv" . }}
{{ include "ocireg.redisEnv" . }}
- name: AUTH_TOKEN_PEPPER
  valueFrom: { secretKeyRef: { name: {{ include "ocireg.authSecretName" . }}, key: AUTH_TOKEN_PEPPER } }
- name: AUTH_SIGNING_KEY
  valueFrom: { secretKeyRef: { name: {{ include "ocireg.authSecretName" . }}, key: AUTH_SIGNING_KEY } }
- name: AUTH_PREVIOUS_PUBLIC_KEYS
  valueFrom: { secretKeyRef: { name: {{ include "ocireg.authSecretName" . }}, key: AUTH_PREVIOUS_PUBLIC_KEYS, optional: true } }
- { name: OPERATOR_EMAILS, value: {{ .Values.auth.operatorEmails | quote }} }
- { name: REGISTRY_TOKEN_SECONDS, value: {{ .Values.auth.registryTokenSeconds | int64 | quote }} }
- { name: PASSWORD_SIGN_IN, value: {{ .Values.auth.passwordSignIn | toString | quote }} }
{{- if or .Values.auth.oidc.providers .Values.auth.oidc.existingSecret }}
- name: OIDC_PROVIDERS
  valueFrom: { secretKeyRef: { name: {{ .Values.auth.oidc.existingSecret | default (include "ocireg.secretName" .) }}, key: OIDC_PROVIDERS } }
{{- end }}
- { name: CI_ID_TOKEN_AUDIENCE, value: {{ .Values.auth.ci.idTokenAudience | quote }} }
- { name: CI_LOGIN_SECONDS, value: {{ .Values.auth.ci.loginSeconds | int64 | quote }} }
{{- if .Values.auth.bootstrapAdmin.email }}
- { name: BOOTSTRAP_ADMIN_EMAIL, value: {{ .Values.auth.bootstrapAdmin.email | quote }} }
- name: BOOTSTRAP_ADMIN_TOKEN
  valueFrom: { secretKeyRef: { name: {{ required "auth.bootstrapAdmin.existingSecret is required with auth.bootstrapAdmin.email" .Values.auth.bootstrapAdmin.existingSecret }}, key: BOOTSTRAP_ADMIN_TOKEN } }
{{- end }}
{{- end -}}

{{- define "ocireg.env.metadata" -}}
{{ include "ocireg.grpcServiceEnv" (dict "root" . "port" .Values.metadata.grpcPort "metricsPort" .Values.metadata.metricsPort) }}
- { name: MIGRATE_ON_START, value: {{ include "ocireg.migrateOnStart" . | quote }} }
- { name: DATABASE_POOL_SIZE, value: {{ .Values.metadata.databasePoolSize | quote }} }
- { name: AUDIT_RETENTION_DAYS, value: {{ .Values.metadata.auditRetentionDays | quote }} }
- { name: RESTORE_WINDOW_SECONDS, value: {{ .Values.metadata.restoreWindowSeconds | quote }} }
{{ include "ocireg.configEnv" (dict "root" . "names" (list "LOG_LEVEL" "KAFKA_BROKERS" "UPLOAD_TIME_LIMIT_SECONDS")) }}
{{ include "ocireg.databaseEnv" . }}
{{ include "ocireg.redisEnv" . }}
{{ include "ocireg.storageEnv" . }}
{{- with .Values.metadata.upstreamCredentialsSecret }}
- name: UPSTREAM_CREDENTIALS_KEY
  valueFrom: { secretKeyRef: { name: {{ . }}, key: UPSTREAM_CREDENTIALS_KEY } }
{{- end }}
{{- with .Values.metadata.replication }}
- { name: REPLICATION_MAX_ATTEMPTS, value: {{ .maxAttempts | toString | quote }} }
- { name: REPLICATION_RETRY_BASE_SECONDS, value: {{ .retryBaseSeconds | toString | quote }} }
- { name: REPLICATION_RETRY_MAX_SECONDS, value: {{ .retryMaxSeconds | toString | quote }} }
- { name: REPLICATION_RETRY_WINDOW_SECONDS, value: {{ .retryWindowSeconds | toString | quote }} }
- { name: REPLICATION_LEASE_SECONDS, value: {{ .leaseSeconds | toString | quote }} }
{{- end }}
{{- with .Values.metadata.gc }}
- { name: GC_ENABLED, value: {{ .enabled | toString | quote }} }
- { name: GC_INTERVAL_SECONDS, value: {{ .intervalSeconds | quote }} }
- { name: GC_UNTAGGED_GRACE_SECONDS, value: {{ .untaggedGraceSeconds | quote }} }
- { name: GC_BLOB_GRACE_SECONDS, value: {{ .blobGraceSeconds | quote }} }
- { name: GC_ORPHAN_GRACE_SECONDS, value: {{ .orphanGraceSeconds | quote }} }
- { name: GC_SWEEP_INTERVAL_SECONDS, value: {{ .sweepIntervalSeconds | quote }} }
{{- end }}
{{- with .Values.metadata.retention }}
- { name: RETENTION_ENABLED, value: {{ .enabled | toString | quote }} }
- { name: RETENTION_INTERVAL_SECONDS, value: {{ .intervalSeconds | quote }} }
- { name: RETENTION_DUE_POLL_SECONDS, value: {{ .duePollSeconds | quote }} }
- { name: RETENTION_CONFIRM_ABOVE_PERCENT, value: {{ .confirmAbovePercent | quote }} }
{{- end }}
{{- end -}}

{{- define "ocireg.env.blob-upload" -}}
{{ include "ocireg.grpcServiceEnv" (dict "root" . "port" .Values.blobUpload.grpcPort "metricsPort" .Values.blobUpload.metricsPort) }}
{{ include "ocireg.configEnv" (dict "root" . "names" (list "LOG_LEVEL" "UPLOAD_TIME_LIMIT_SECONDS" "UPLOAD_LEASE_SECONDS" "MAX_BLOB_SIZE" "UPLOAD_PART_SIZE")) }}
{{ include "ocireg.storageEnv" . }}
{{ include "ocireg.redisEnv" . }}
{{- end -}}

{{- define "ocireg.env.webhooks" -}}
{{ include "ocireg.grpcServiceEnv" (dict "root" . "port" .Values.webhooks.grpcPort "metricsPort" .Values.webhooks.metricsPort) }}
- { name: MIGRATE_ON_START, value: {{ include "ocireg.migrateOnStart" . | quote }} }
- { name: WEBHOOKS_GROUP_ID, value: {{ .Values.webhooks.groupId | quote }} }
{{- with .Values.webhooks }}
{{- if .allowedCidrs }}
- { name: WEBHOOK_ALLOWED_CIDRS, value: {{ join "," .allowedCidrs | quote }} }
{{- end }}
- { name: WEBHOOK_FOLLOW_REDIRECTS, value: {{ .followRedirects | toString | quote }} }
- { name: WEBHOOK_RETRY_BASE_MS, value: {{ .retryBaseMs | quote }} }
- { name: WEBHOOK_DISABLE_AFTER_FAILURES, value: {{ .disableAfterFailures | quote }} }
- { name: WEBHOOK_CONCURRENCY_PER_HOOK, value: {{ .concurrencyPerHook | quote }} }
- { name: WEBHOOK_TIMEOUT_MS, value: {{ .timeoutMs | quote }} }
- { name: WEBHOOK_LOG_DAYS, value: {{ .logDays | quote }} }
{{- with .secretsKeySecret }}
- name: WEBHOOK_SECRETS_KEY
  valueFrom: { secretKeyRef: { name: {{ . }}, key: WEBHOOK_SECRETS_KEY } }
{{- end }}
{{- end }}
{{ include "ocireg.configEnv" (dict "root" . "names" (concat (list "LOG_LEVEL") (include "ocireg.calleeAddressVariables" (dict "root" . "component" "webhooks") | fromJsonArray) (list "KAFKA_BROKERS"))) }}
{{ include "ocireg.databaseEnv" . }}
{{- end -}}

{{- define "ocireg.env.indexer" -}}
{{ include "ocireg.grpcServiceEnv" (dict "root" . "port" .Values.indexer.grpcPort "metricsPort" .Values.indexer.metricsPort) }}
- { name: MIGRATE_ON_START, value: {{ include "ocireg.migrateOnStart" . | quote }} }
- { name: KAFKA_GROUP_ID, value: {{ .Values.indexer.kafkaGroupId | quote }} }
{{ include "ocireg.configEnv" (dict "root" . "names" (concat (list "LOG_LEVEL") (include "ocireg.calleeAddressVariables" (dict "root" . "component" "indexer") | fromJsonArray) (list "KAFKA_BROKERS"))) }}
{{ include "ocireg.databaseEnv" . }}
{{- end -}}
