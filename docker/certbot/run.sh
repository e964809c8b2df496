#!/bin/sh
# Certificates for nginx from an ACME CA (compose.production.yaml):
# - until the CA's certificate arrives, a self-signed placeholder, so nginx
#   can start and answer the CA's http-01 challenge on port 80;
# - then `certbot certonly` for TLS_DOMAIN every ACME_CHECK_SECONDS (12 h):
#   it obtains the certificate, keeps it while it is not due, and renews it
#   when it is (the CA's renewal info, ARI, or a third of its life left);
# - deploy.sh copies each new certificate and key to /srv/certs, which nginx
#   reads (nginx/https/run.sh reloads it on a change).
# A failed attempt (DNS not pointing here yet, the CA down) is logged and
# tried again at the next check; the certificate in place stays served.
# ACME_SERVER=off: nothing to do (nginx serves a certificate of your own).
set -eu
: "${ACME_SERVER:?set ACME_SERVER, the ACME directory URL, in .env}"
if [ "$ACME_SERVER" = off ]; then
  echo "certbot: ACME_SERVER=off; nginx serves the certificate in TLS_CERTS" >&2
  trap 'exit 0' TERM INT
  while :; do sleep 86400 & wait $!; done
fi
: "${TLS_DOMAIN:?set TLS_DOMAIN, the DNS name of the site, in .env}"
interval=${ACME_CHECK_SECONDS:-43200}
umask 077  # the key: its owner's (uid 101, nginx's) alone

if [ ! -s /srv/certs/fullchain.pem ]; then
  python3 /opt/certbot/placeholder.py "$TLS_DOMAIN" /srv/certs
fi
# A CA with a private root (an internal ACME server, Pebble in the tests).
if [ -s /etc/certbot/acme-ca.pem ]; then
  export REQUESTS_CA_BUNDLE=/etc/certbot/acme-ca.pem
fi
if [ -n "${ACME_EMAIL:-}" ]; then
  set -- --email "$ACME_EMAIL"
else
  set -- --register-unsafely-without-email
fi

trap 'exit 0' TERM INT
while :; do
  certbot certonly --non-interactive --agree-tos "$@" \
    --server "$ACME_SERVER" \
    --webroot --webroot-path /srv/acme \
    --cert-name site --domain "$TLS_DOMAIN" --keep-until-expiring \
    --deploy-hook /opt/certbot/deploy.sh \
    --config-dir /etc/letsencrypt --work-dir /tmp/certbot --logs-dir /tmp/certbot-logs ||
    echo "certbot: no certificate from $ACME_SERVER this time; next try in ${interval} s" >&2
  sleep "$interval" &
  wait $!
done
