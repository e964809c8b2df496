#!/bin/sh
# nginx of the production profile (docker/compose.production.yaml): waits for
# a certificate in /etc/nginx/certs (certbot's placeholder comes within
# seconds; a certificate of your own is there already), runs nginx, and
# reloads it whenever the certificate or key changes (a renewal), checking
# every TLS_RELOAD_CHECK_SECONDS (60). A reload is graceful: open
# connections, WebSockets included, finish on the old workers.
set -eu
certs=/etc/nginx/certs
conf=/etc/nginx/app/nginx.conf
interval=${TLS_RELOAD_CHECK_SECONDS:-60}

fingerprint() { cat "$certs/fullchain.pem" "$certs/privkey.pem" 2>/dev/null | cksum; }

until [ -s "$certs/fullchain.pem" ] && [ -s "$certs/privkey.pem" ]; do
  echo "nginx: waiting for $certs/fullchain.pem and privkey.pem" >&2
  sleep 2
done

nginx -c "$conf" -g "daemon off;" &
nginx_pid=$!
# docker stop's SIGTERM ends nginx (fast shutdown), SIGQUIT gracefully.
trap 'kill -TERM "$nginx_pid" 2>/dev/null' TERM INT
trap 'kill -QUIT "$nginx_pid" 2>/dev/null' QUIT

seen=$(fingerprint)
while kill -0 "$nginx_pid" 2>/dev/null; do
  sleep "$interval" &
  wait $! || true
  now=$(fingerprint)
  if [ "$now" != "$seen" ]; then
    echo "nginx: the certificate changed; reloading" >&2
    kill -HUP "$nginx_pid" 2>/dev/null || true
    seen=$now
  fi
done
wait "$nginx_pid"
