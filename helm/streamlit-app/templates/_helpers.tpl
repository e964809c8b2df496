{{/* Names and labels. */}}
{{- define "streamlit-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "streamlit-app.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "dashboard"). */}}
{{- define "streamlit-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamlit-app.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "streamlit-app.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "streamlit-app.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{- define "streamlit-app.serviceAccountName" -}}
{{- default (include "streamlit-app.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "streamlit-app.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The Secret every secret file comes from: the user's, or the chart's. */}}
{{- define "streamlit-app.secretName" -}}
{{- default (printf "%s-secrets" (include "streamlit-app.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The dashboard Service's target: oauth2-proxy in front, or Streamlit. */}}
{{- define "streamlit-app.dashboardTargetPort" -}}
{{- if .Values.oauth2Proxy.enabled }}oauth2-proxy{{ else }}streamlit{{ end -}}
{{- end -}}

{{- define "streamlit-app.apiUrl" -}}
http://{{ include "streamlit-app.fullname" . }}-api:{{ .Values.api.service.port }}
{{- end -}}

{{/*
Where the app reads its secret files: app/core/settings.py reads every
APP_* file in APP_SECRETS_DIR. tests/chart checks the two agree.
*/}}
{{- define "streamlit-app.appSecretsDir" -}}/run/secrets/app{{- end -}}

{{/* Pod-level hardening: the restricted Pod Security Standard. */}}
{{- define "streamlit-app.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "streamlit-app.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  privileged: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  capabilities:
    drop: [ALL]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Spread one component's pods over nodes. */}}
{{- define "streamlit-app.topologySpread" -}}
{{- if .root.Values.topologySpread }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "streamlit-app.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end -}}

{{/* The app's settings (app/core/settings.py) as the services and the Job read
them: non-secret APP_* values here, secrets as files in APP_SECRETS_DIR. */}}
{{- define "streamlit-app.appEnv" -}}
{{- range $secret := list "APP_DATABASE_URL" "APP_SECRETS_DIR" }}
{{- if hasKey $.Values.appSettings $secret }}
{{- fail (printf "appSettings.%s: set by the chart from secrets (secrets.databaseUrl or secrets.existingSecret), never as a plain value" $secret) }}
{{- end }}
{{- end }}
- name: APP_SECRETS_DIR
  value: {{ include "streamlit-app.appSecretsDir" . }}
- name: APP_API_URL
  value: {{ include "streamlit-app.apiUrl" . }}
{{- range $name, $value := .Values.appSettings }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "streamlit-app.appSecretMount" -}}
- name: app-secrets
  mountPath: {{ include "streamlit-app.appSecretsDir" . }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "streamlit-app.appSecretVolume" -}}
- name: app-secrets
  secret:
    secretName: {{ include "streamlit-app.secretName" . }}
    defaultMode: 0440
    items:
      - key: APP_DATABASE_URL
        path: APP_DATABASE_URL
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}

{{/* Roll pods when their configuration or the chart's Secret changes. */}}
{{- define "streamlit-app.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end -}}

{{/* Streamlit's config: the app's .streamlit/config.toml and the chart's overrides.
Its trustedUserHeaders are the ones the oauth2-proxy sidecar sets; without the
sidecar, only those dashboard.trustedUserHeaders names (none by default). */}}
{{- define "streamlit-app.streamlitConfig" -}}
{{- $config := fromToml (.Files.Get "files/streamlit-config.toml") -}}
{{- $config = mustMergeOverwrite $config (deepCopy .Values.dashboard.streamlitConfig) -}}
{{- if .Values.oauth2Proxy.enabled -}}
{{- if .Values.dashboard.trustedUserHeaders -}}
{{- fail "dashboard.trustedUserHeaders: only with oauth2Proxy.enabled=false; the sidecar's headers are the app's own (.streamlit/config.toml)" -}}
{{- end -}}
{{- else -}}
{{- $_ := set $config.server "trustedUserHeaders" .Values.dashboard.trustedUserHeaders -}}
{{- end -}}
{{- toToml $config -}}
{{- end -}}

{{/* NetworkPolicy egress every app pod needs: DNS and the database. */}}
{{- define "streamlit-app.egressDnsAndDatabase" -}}
- ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
- to:
    {{- toYaml .Values.networkPolicy.databasePeers | nindent 4 }}
  ports: [{port: {{ .Values.networkPolicy.databasePort }}, protocol: TCP}]
{{- end -}}

{{/*
Scanner findings accepted on purpose (checkov reads these annotations; the
chart README lists them). Pass (dict "root" $ "probes" true) for run-once pods.
*/}}
{{- define "streamlit-app.acceptedFindings" -}}
checkov.io/skip1: CKV_K8S_15=Images are pinned by digest or release tag, so IfNotPresent is exact; Always would tie every pod start to the registry
{{- if not (and .root.Values.image.digest (or (not .root.Values.oauth2Proxy.enabled) .root.Values.oauth2Proxy.image.digest)) }}
checkov.io/skip2: CKV_K8S_43=Tags by default so the chart installs anywhere; production sets image.digest and oauth2Proxy.image.digest
{{- end }}
{{- if .runOnce }}
checkov.io/skip3: CKV_K8S_8=Runs once to completion; a liveness probe has nothing to restart
checkov.io/skip4: CKV_K8S_9=Runs once to completion; no Service routes to it
{{- end }}
{{- end -}}
