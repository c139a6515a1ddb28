{{- define "ocireg.fullname" -}}{{ .Release.Name }}-ocireg{{- end -}}

{{- define "ocireg.labels" -}}
app.kubernetes.io/name: ocireg
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "ocireg.secretName" -}}{{ include "ocireg.fullname" . }}-secrets{{- end -}}

{{/* Pod and container security settings shared by every workload. */}}
{{- define "ocireg.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ocireg.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Addresses of the gRPC services, for the gateway. */}}
{{- define "ocireg.addresses" -}}
- name: AUTH_ADDR
  value: {{ include "ocireg.fullname" . }}-auth:{{ index .Values.services "auth" "port" }}
- name: METADATA_ADDR
  value: {{ include "ocireg.fullname" . }}-metadata:{{ index .Values.services "metadata" "port" }}
- name: BLOB_UPLOAD_ADDR
  value: {{ include "ocireg.fullname" . }}-blob-upload:{{ index .Values.services "blob-upload" "port" }}
- name: INDEXER_ADDR
  value: {{ include "ocireg.fullname" . }}-indexer:{{ index .Values.services "indexer" "port" }}
{{- end -}}

{{- define "ocireg.s3Env" -}}
- name: S3_ENDPOINT
  value: {{ required "s3.endpoint is required" .Values.s3.endpoint | quote }}
- name: S3_BUCKET
  value: {{ .Values.s3.bucket | quote }}
- name: S3_REGION
  value: {{ .Values.s3.region | quote }}
- name: S3_ACCESS_KEY
  valueFrom: { secretKeyRef: { name: {{ .Values.s3.existingSecret | default (include "ocireg.secretName" .) }}, key: S3_ACCESS_KEY } }
- name: S3_SECRET_KEY
  valueFrom: { secretKeyRef: { name: {{ .Values.s3.existingSecret | default (include "ocireg.secretName" .) }}, key: S3_SECRET_KEY } }
{{- end -}}

