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

{{/*
The name of one of the release's objects: the full name and "-suffix", the
full name cut so that the whole fits `limit` (63, the DNS label most names
must be; 52 for a CronJob, whose Jobs add 11 characters). Every object is
named here, so a 53-character release name (Helm's longest) fits everywhere.
(dict "root" $ "suffix" "dashboard"), (dict "root" $ "suffix" "rollup" "limit" 52),
(dict "root" $) for the full name alone.
*/}}
{{- define "streamlit-app.resourceName" -}}
{{- $limit := .limit | default 63 | int -}}
{{- $fullname := include "streamlit-app.fullname" .root -}}
{{- if .suffix -}}
{{- $room := sub $limit (add1 (len .suffix)) | int -}}
{{- printf "%s-%s" ($fullname | trunc $room | trimSuffix "-") .suffix -}}
{{- else -}}
{{- $fullname | trunc $limit | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "dashboard"). */}}
{{- define "streamlit-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamlit-app.name" .root | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/component: {{ .component | quote }}
{{- end -}}

{{- define "streamlit-app.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | quote }}
{{ include "streamlit-app.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service | quote }}
{{- end -}}

{{/* The chart's own ServiceAccount, or the one named, or the namespace's default. */}}
{{- define "streamlit-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "streamlit-app.resourceName" (dict "root" .)) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "streamlit-app.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Another image of the pods (oauth2-proxy, PgBouncer): its values' image map. */}}
{{- define "streamlit-app.imageRef" -}}
{{ .repository }}{{ with .digest }}@{{ . }}{{ else }}:{{ .tag }}{{ end }}
{{- end -}}

{{/* The Secret every secret file comes from: the user's, or the chart's. */}}
{{- define "streamlit-app.secretName" -}}
{{- default (include "streamlit-app.resourceName" (dict "root" . "suffix" "secrets")) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The dashboard Service's target: oauth2-proxy in front, or Streamlit. */}}
{{- define "streamlit-app.dashboardTargetPort" -}}
{{- if .Values.oauth2Proxy.enabled }}oauth2-proxy{{ else }}streamlit{{ end -}}
{{- end -}}

{{/* The app image's HEALTHCHECK command (docker/Dockerfile; tests/chart checks
they are the same): Streamlit's /_stcore/health on its own port, from inside
its container, as a JSON list. */}}
{{- define "streamlit-app.streamlitHealthcheck" -}}
{{- list "python3" "-c" "import os, urllib.request; urllib.request.urlopen(os.environ.get('HEALTHCHECK_URL', 'http://127.0.0.1:8501/_stcore/health'), timeout=4)" | toJson -}}
{{- end -}}

{{- define "streamlit-app.apiUrl" -}}
http://{{ include "streamlit-app.resourceName" (dict "root" . "suffix" "api") }}:{{ .Values.api.service.port }}
{{- end -}}

{{/*
Every secret the pods read, named once: key -> the containers that read it.
The key is the environment variable its consumer knows, the Secret's key and
the file name under secretsDir (the app reads APP_* files there, Streamlit and
oauth2-proxy are given *_FILE paths). The Secret and each container's volume
range over this.
*/}}
{{- define "streamlit-app.secretKeys" -}}
APP_DATABASE_URL: [dashboard, api, migrate{{ if .Values.rollup.schedule }}, rollup{{ end }}{{ if .Values.pgbouncer.enabled }}, pgbouncer-config{{ end }}]
STREAMLIT_SERVER_COOKIE_SECRET: [dashboard]
{{- if .Values.oauth2Proxy.enabled }}
OAUTH2_PROXY_CLIENT_SECRET: [oauth2-proxy]
OAUTH2_PROXY_COOKIE_SECRET: [oauth2-proxy]
{{- if include "streamlit-app.redisSessions" . }}
OAUTH2_PROXY_REDIS_PASSWORD: [oauth2-proxy-config]
{{- end }}
{{- end }}
{{- end -}}

{{/* Non-empty when oauth2-proxy keeps sessions in Redis (a URL is then required). */}}
{{- define "streamlit-app.redisSessions" -}}
{{- $store := .Values.oauth2Proxy.sessionStore }}
{{- if and .Values.oauth2Proxy.enabled (eq $store.type "redis") }}
{{- $_ := required "oauth2Proxy.sessionStore.redisUrl: the address of your Redis or Valkey (redis://HOST:6379/0) is required with sessionStore.type redis" $store.redisUrl }}true
{{- end }}
{{- end -}}

{{/* The port of oauth2Proxy.sessionStore.redisUrl (6379 when it names none). */}}
{{- define "streamlit-app.redisPort" -}}
{{- $host := (urlParse .Values.oauth2Proxy.sessionStore.redisUrl).host }}
{{- if contains ":" $host }}{{ last (splitList ":" $host) }}{{ else }}6379{{ end -}}
{{- end -}}

{{/* Where every container finds its secret files, as compose mounts them. */}}
{{- define "streamlit-app.secretsDir" -}}/run/secrets{{- end -}}

{{/* The secret files one container reads: (dict "root" $ "container" "api"). */}}
{{- define "streamlit-app.secretVolume" -}}
- name: secrets-{{ .container }}
  secret:
    secretName: {{ include "streamlit-app.secretName" .root | quote }}
    defaultMode: 0440
    items:
      {{- range $key, $readers := include "streamlit-app.secretKeys" .root | fromYaml }}
      {{- if has $.container $readers }}
      - key: {{ $key }}
        path: {{ $key }}
      {{- end }}
      {{- end }}
{{- end -}}

{{- define "streamlit-app.secretMount" -}}
- name: secrets-{{ .container }}
  mountPath: {{ include "streamlit-app.secretsDir" .root }}
  readOnly: true
{{- end -}}

{{/* Pod-level hardening: the restricted Pod Security Standard. */}}
{{- define "streamlit-app.podSecurity" -}}
automountServiceAccountToken: false
# No Docker-link variables for the namespace's Services: one named "app" would
# inject APP_* names the settings would take for their own.
enableServiceLinks: false
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
{{- $secretKeys := keys (include "streamlit-app.secretKeys" . | fromYaml) }}
{{- range $secret := append $secretKeys "APP_SECRETS_DIR" }}
{{- if hasKey $.Values.appSettings $secret }}
{{- fail (printf "appSettings.%s: set by the chart from secrets (secrets.* or secrets.existingSecret), never as a plain value" $secret) }}
{{- end }}
{{- end }}
{{- if hasKey .Values.appSettings "APP_DATABASE_VIA" }}
{{- fail "appSettings.APP_DATABASE_VIA: set by the chart for the dashboard and API with pgbouncer.enabled; for a pooler of your own, point secrets.APP_DATABASE_URL at it" }}
{{- end }}
- name: APP_SECRETS_DIR
  value: {{ include "streamlit-app.secretsDir" . }}
{{- if not (hasKey .Values.appSettings "APP_ENV") }}
# No SQLite fallback: a Secret without APP_DATABASE_URL stops the pod at start-up.
- name: APP_ENV
  value: production
{{- end }}
- name: APP_API_URL
  value: {{ include "streamlit-app.apiUrl" . | quote }}
{{- range $name, $value := .Values.appSettings }}
- name: {{ $name | quote }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/*
A Deployment's replicas: (dict "root" $ "component" "dashboard" "name" $name).
With the autoscaler on, its count as the cluster has it now (so an upgrade
neither resets it nor fights the autoscaler), and on the first install (or
where `lookup` sees no cluster: helm template) minReplicas: omitted, a new
Deployment would start at 1 pod and `--wait` and `helm test` would pass there.
*/}}
{{- define "streamlit-app.replicas" -}}
{{- $values := index .root.Values .component }}
{{- if $values.autoscaling.enabled }}
{{- $scaling := $values.autoscaling }}
{{- $live := lookup "apps/v1" "Deployment" .root.Release.Namespace .name | default dict }}
{{- $now := dig "spec" "replicas" $scaling.minReplicas $live | int }}
replicas: {{ max $scaling.minReplicas $now | min $scaling.maxReplicas }}
{{- else }}
replicas: {{ $values.replicaCount }}
{{- end }}
{{- end -}}

{{/*
A Deployment's most pods holding connections during a rollout: twice `pods`.
The Deployment controller does not count a terminating pod against replicas +
maxSurge (KEP-3973 makes that opt-in), so it starts a replacement as soon as
an old pod begins to stop, while the old one still holds its pool: through
its preStop pause and its shutdown, up to its grace period (PgBouncer 1.23+
keeps serving its clients after SIGTERM). New pods become ready faster than
old ones stop, so every one of the `pods` old pods can be stopping while
`pods` new ones run: whatever maxSurge and maxUnavailable say, one rollout
peaks at 2 x pods (one rollout or scale-in at a time; a second within the
first's grace period can add more).
*/}}
{{- define "streamlit-app.rolloutPeak" -}}
{{- mul . 2 -}}
{{- end -}}

{{/*
The most PostgreSQL connections the release can hold at once, as YAML: each
process's pool bound (APP_DB_POOL_SIZE + APP_DB_MAX_OVERFLOW, defaults as in
app/core/settings.py) times the processes that can run together. A Deployment
peaks at its most pods (the autoscaler's maximum, else its replicas) and as
many again stopping during a rollout (rolloutPeak); each API pod runs
`workers` processes; the migrations Job and the rollup CronJob's Job (one at
a time) hold one connection each.
With PgBouncer the pods' pools are its clients (`clients`, bounded by one
replica's max_client_conn) and PostgreSQL sees PgBouncer's pods at their peak
times each one's pool.
*/}}
{{- define "streamlit-app.connectionBudget" -}}
{{- $settings := .Values.appSettings }}
{{- $size := hasKey $settings "APP_DB_POOL_SIZE" | ternary (get $settings "APP_DB_POOL_SIZE") 5 | int }}
{{- $overflow := hasKey $settings "APP_DB_MAX_OVERFLOW" | ternary (get $settings "APP_DB_MAX_OVERFLOW") 5 | int }}
{{- $bound := add $size $overflow }}
{{- $peak := dict }}
{{- range $component := list "dashboard" "api" }}
{{- $values := index $.Values $component }}
{{- $pods := $values.autoscaling.enabled | ternary $values.autoscaling.maxReplicas $values.replicaCount | int }}
{{- $_ := set $peak $component (include "streamlit-app.rolloutPeak" $pods | int) }}
{{- end }}
{{- $dashboard := mul $peak.dashboard $bound }}
{{- $api := mul $peak.api .Values.api.workers $bound }}
{{- $migrations := .Values.migrations.enabled | ternary 1 0 }}
{{- $rollup := empty .Values.rollup.schedule | ternary 0 1 }}
{{- $jobs := add $migrations $rollup }}
poolBound: {{ $bound }}
dashboard: {{ $dashboard }}
api: {{ $api }}
migrations: {{ $migrations }}
rollup: {{ $rollup }}
{{- with .Values.pgbouncer }}
{{- if .enabled }}
{{- $pods := include "streamlit-app.rolloutPeak" (int .replicaCount) | int }}
{{- $each := add .poolSize .reservePool }}
clients: {{ add $dashboard $api }}
pgbouncerPods: {{ $pods }}
pgbouncerEach: {{ $each }}
pgbouncer: {{ mul $pods $each }}
total: {{ add (mul $pods $each) $jobs }}
{{- else }}
total: {{ add $dashboard $api $jobs }}
{{- end }}
{{- end }}
{{- end -}}

{{/* One line for people: where the release's connections go. */}}
{{- define "streamlit-app.connectionBudgetLine" -}}
{{- $budget := include "streamlit-app.connectionBudget" . | fromYaml -}}
{{- if .Values.pgbouncer.enabled -}}
at most {{ $budget.total }} PostgreSQL connections (PgBouncer {{ $budget.pgbouncer }}: {{ $budget.pgbouncerPods }} pods x {{ $budget.pgbouncerEach }}, migrations {{ $budget.migrations }}, rollup {{ $budget.rollup }})
{{- else -}}
at most {{ $budget.total }} PostgreSQL connections (dashboard {{ $budget.dashboard }}, API {{ $budget.api }}, migrations {{ $budget.migrations }}, rollup {{ $budget.rollup }}; {{ $budget.poolBound }} per process)
{{- end -}}
{{- end -}}

{{/* With PgBouncer, the line for its clients: the pods' pools. */}}
{{- define "streamlit-app.poolerClientsLine" -}}
{{- $budget := include "streamlit-app.connectionBudget" . | fromYaml -}}
at most {{ $budget.clients }} client connections to PgBouncer (dashboard {{ $budget.dashboard }}, API {{ $budget.api }}; {{ $budget.poolBound }} per process)
{{- end -}}

{{/* Fail the render when the pods could open more connections than the
database lets this release have (database.maxConnections; 0: no check), or
more than one PgBouncer accepts. */}}
{{- define "streamlit-app.checkConnectionBudget" -}}
{{- $budget := include "streamlit-app.connectionBudget" . | fromYaml }}
{{- $limit := int .Values.database.maxConnections }}
{{- $lower := .Values.pgbouncer.enabled | ternary "pgbouncer.replicaCount, pgbouncer.poolSize or pgbouncer.reservePool" "dashboard/api replicas, autoscaling.maxReplicas, api.workers or appSettings.APP_DB_POOL_SIZE/APP_DB_MAX_OVERFLOW, or turn on pgbouncer.enabled" }}
{{- if and $limit (gt (int $budget.total) $limit) }}
{{- fail (printf "database.maxConnections: the release could open %s in a rollout (every pod beside a stopping one), more than the %d the database allows it. Lower %s (chart README, Connection budget)" (include "streamlit-app.connectionBudgetLine" .) $limit $lower) }}
{{- end }}
{{- if and .Values.pgbouncer.enabled (gt (int $budget.clients) (int .Values.pgbouncer.maxClientConnections)) }}
{{- fail (printf "pgbouncer.maxClientConnections: the pods could open %s in a rollout (every pod beside a stopping one), more than the %d one PgBouncer accepts (they all land on one while another restarts). Raise it, or lower dashboard/api replicas, autoscaling.maxReplicas, api.workers or appSettings.APP_DB_POOL_SIZE/APP_DB_MAX_OVERFLOW (chart README, Connection budget)" (include "streamlit-app.poolerClientsLine" .) (int .Values.pgbouncer.maxClientConnections)) }}
{{- end }}
{{- end -}}

{{/* PgBouncer's port, in its pods and at its Service. */}}
{{- define "streamlit-app.pgbouncerPort" -}}6432{{- end -}}

{{/* The dashboard's and API's way to the database with pgbouncer.enabled:
APP_DATABASE_VIA, the PgBouncer Service (app/core/settings.py). */}}
{{- define "streamlit-app.databaseVia" -}}
{{- if .Values.pgbouncer.enabled }}
- name: APP_DATABASE_VIA
  value: {{ include "streamlit-app.resourceName" (dict "root" . "suffix" "pgbouncer") }}:{{ include "streamlit-app.pgbouncerPort" . }}
{{- end }}
{{- end -}}

{{/* A container of the app image running one of its entrypoint's commands
(`args`): the app's settings and its secret files, hardened; `mounts`, more
volumeMounts. (dict "root" $ "container" "migrate" "args" (list "seed")
"resources" {...} "mounts" (list ...)) */}}
{{- define "streamlit-app.commandContainer" -}}
{{- $root := .root -}}
- name: {{ .container | quote }}
  image: {{ include "streamlit-app.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  args:
    {{- toYaml .args | nindent 4 }}
  env:
    {{- include "streamlit-app.appEnv" $root | nindent 4 }}
  resources:
    {{- toYaml .resources | nindent 4 }}
  {{- include "streamlit-app.containerSecurity" $root | nindent 2 }}
  volumeMounts:
    {{- include "streamlit-app.appMounts" . | nindent 4 }}
    {{- with .mounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/* The pod of a run-once command of the app image (the migrations hook, the
rollup CronJob): the namespace's default ServiceAccount with no token (a hook
runs before the chart's exists) and the command's container.
(dict "root" $ "container" "migrate" "args" (list "seed") "resources" {...}) */}}
{{- define "streamlit-app.commandPod" -}}
{{ include "streamlit-app.podSecurity" .root }}
restartPolicy: Never
containers:
  {{- include "streamlit-app.commandContainer" . | nindent 2 }}
volumes:
  {{- include "streamlit-app.appVolumes" . | nindent 2 }}
{{- end -}}

{{/* Mounts and volumes of a container of the app image: its secrets and a
writable /tmp. (dict "root" $ "container" "api") */}}
{{- define "streamlit-app.appMounts" -}}
{{ include "streamlit-app.secretMount" . }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "streamlit-app.appVolumes" -}}
{{ include "streamlit-app.secretVolume" . }}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}

{{/* Roll pods when their configuration or the chart's Secret changes. */}}
{{- define "streamlit-app.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum | quote }}
{{- include "streamlit-app.secretChecksum" . }}
{{- end -}}

{{- define "streamlit-app.secretChecksum" -}}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum | quote }}
{{- else if .Values.secrets.checksum }}
checksum/secret: {{ .Values.secrets.checksum | quote }}
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

{{/* NetworkPolicy egress every app pod needs: DNS and the database, which
the dashboard and API reach through PgBouncer when it is enabled:
(dict "root" $ "viaPooler" true). */}}
{{- define "streamlit-app.egressDnsAndDatabase" -}}
- ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
{{- if and .viaPooler .root.Values.pgbouncer.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "streamlit-app.selectorLabels" (dict "root" .root "component" "pgbouncer") | nindent 10 }}
  ports: [{port: {{ include "streamlit-app.pgbouncerPort" .root }}, protocol: TCP}]
{{- else }}
- to:
    {{- toYaml .root.Values.networkPolicy.databasePeers | nindent 4 }}
  ports: [{port: {{ .root.Values.networkPolicy.databasePort }}, protocol: TCP}]
{{- end }}
{{- end -}}

{{/*
Scanner findings accepted on purpose (checkov reads these annotations; the
chart README lists them). Pass (dict "root" $ "probes" true) for run-once pods.
*/}}
{{- define "streamlit-app.acceptedFindings" -}}
checkov.io/skip1: CKV_K8S_15=Images are pinned by digest or release tag, so IfNotPresent is exact; Always would tie every pod start to the registry
{{- $values := .root.Values }}
{{- if not (and $values.image.digest (or (not $values.oauth2Proxy.enabled) $values.oauth2Proxy.image.digest) (or (not $values.pgbouncer.enabled) $values.pgbouncer.image.digest)) }}
checkov.io/skip2: CKV_K8S_43=Tags by default so the chart installs anywhere; production sets image.digest, oauth2Proxy.image.digest and pgbouncer.image.digest
{{- end }}
{{- if .runOnce }}
checkov.io/skip3: CKV_K8S_8=Runs once to completion; a liveness probe has nothing to restart
checkov.io/skip4: CKV_K8S_9=Runs once to completion; no Service routes to it
{{- end }}
{{- end -}}

{{/* The Grafana dashboard's uid, one per release and namespace, within
Grafana's 40 characters: both names (dots made dashes) cut to 31, and 8
characters of a hash of the two, which keeps long names apart. */}}
{{- define "streamlit-app.grafanaUid" -}}
{{- $readable := printf "%s-%s" .Release.Namespace .Release.Name | replace "." "-" | trunc 31 | trimSuffix "-" -}}
{{- printf "%s-%s" $readable (printf "%s/%s" .Release.Namespace .Release.Name | sha256sum | trunc 8) -}}
{{- end -}}

{{/* oauth2-proxy's metrics port: metrics_address in files/oauth2-proxy.cfg. */}}
{{- define "streamlit-app.oauth2ProxyMetricsPort" -}}44180{{- end -}}

{{/* NetworkPolicy ingress from Prometheus (metrics.scrapeNamespaces) to metrics
ports: (dict "root" $ "ports" (list 9464)). The API serves /metrics on its one
port, so the API's whole port is open to those namespaces. */}}
{{- define "streamlit-app.scrapeIngress" -}}
- from:
    {{- range .root.Values.metrics.scrapeNamespaces }}
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ . | quote }}
    {{- end }}
  ports:
    {{- range .ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
{{- end -}}
