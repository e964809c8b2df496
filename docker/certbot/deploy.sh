#!/bin/sh
# certbot's deploy hook: a new certificate for RENEWED_LINEAGE is in place;
# copy it where nginx reads it. Each file is replaced in one rename, the key
# first: nginx/https/run.sh reloads on a change, never onto a certificate
# without its key.
set -eu
umask 077
for name in privkey.pem fullchain.pem; do
  cp "$RENEWED_LINEAGE/$name" "/srv/certs/.$name.new"
  mv "/srv/certs/.$name.new" "/srv/certs/$name"
done
echo "certbot: deployed a new certificate for ${RENEWED_DOMAINS:-?}" >&2
