{{/*
How a long-running pod stops without failing a request. When a pod is deleted
(a rollout, a scale-in, a drain, `kubectl delete pod`) Kubernetes marks its
endpoints not ready at once, but the ingress controller and kube-proxy take a
moment to stop sending it new requests (Traefik: 1-2.5 s here). The preStop
pause keeps every container serving through that moment; only then do they
get SIGTERM. The grace period covers the pause and the container's own
shutdown after it, or the kubelet kills the container mid-way.
*/}}

{{/* The pause of one container (none with shutdownDelaySeconds 0). */}}
{{- define "streamlit-app.preStop" -}}
{{- $pause := int .Values.shutdownDelaySeconds }}
{{- if $pause -}}
# Kubernetes' own sleep action (on by default since 1.30, GA in 1.34): no
# sleep binary needed in the image (oauth2-proxy's has none).
lifecycle:
  preStop:
    sleep:
      seconds: {{ $pause }}
{{- end }}
{{- end -}}

{{/*
The dashboard's pause also marks it draining, and its readiness fails within
2 s: Traefik keeps sending a sticky session's requests to a stopping pod for
as long as it is ready (a "fenced" server), so a tab reconnecting with its
cookie would reach Streamlit just as it exits. Streamlit's own health is the
startup and liveness probes' (which restart it); the sidecar's readiness is
its own; this one says only "not stopping". The flag lives on the pod's /tmp.
*/}}
{{- define "streamlit-app.drainingPreStop" -}}
{{- $pause := int .Values.shutdownDelaySeconds }}
{{- if $pause -}}
lifecycle:
  preStop:
    exec:
      command: ["sh", "-c", "touch {{ include "streamlit-app.drainingFlag" . }} && sleep {{ $pause }}"]
{{- end }}
{{- end -}}

{{- define "streamlit-app.drainingFlag" -}}/tmp/draining{{- end -}}

{{- define "streamlit-app.drainingReadiness" -}}
readinessProbe:
  exec:
    command: ["test", "!", "-e", {{ include "streamlit-app.drainingFlag" . | quote }}]
  periodSeconds: 2
  timeoutSeconds: 2
  failureThreshold: 1
{{- end -}}

{{/*
A pod's terminationGracePeriodSeconds, refused unless it outlasts the pause
and the shutdown after it: (dict "root" $ "component" "api" "drain" 20
"after" "gunicorn finishes its requests (GUNICORN_GRACEFUL_TIMEOUT)").
*/}}
{{- define "streamlit-app.gracePeriod" -}}
{{- $values := index .root.Values .component }}
{{- $grace := int $values.terminationGracePeriodSeconds }}
{{- $pause := int .root.Values.shutdownDelaySeconds }}
{{- if le $grace (add $pause .drain) }}
{{- fail (printf "%s.terminationGracePeriodSeconds (%d) must exceed shutdownDelaySeconds (%d) plus the %d s in which %s: set it to %d or more" .component $grace $pause (int .drain) .after (add $pause .drain 1)) }}
{{- end -}}
terminationGracePeriodSeconds: {{ $grace }}
{{- end -}}
