#!/usr/bin/env bash
# Back up and restore the compose stack's PostgreSQL database: `make backup`
# and `make restore` run this with their compose command after the `--`.
#   backup DIR KEEP -- COMPOSE...   pg_dump to DIR/<UTC time>/app.dump; KEEP > 0:
#                                   then remove all but the KEEP newest backups in DIR
#   restore FILE -- COMPOSE...      stop $DB_WRITERS, pg_restore FILE, start them again
#                                   (and reload nginx, which finds them at their new addresses)
# pg_dump and pg_restore run in the postgres container (its image's versions,
# the server's own), over TCP with the password from its secret file, as the
# official image and the stand-in both allow; the archive streams through the
# engine's exec, so the files belong to whoever runs make.
# pg_dump reads one snapshot: the dump is consistent while the app writes on.
set -euo pipefail

usage() {
  echo "usage: scripts/compose-backup.sh backup DIR KEEP -- COMPOSE... | restore FILE -- COMPOSE..." >&2
  exit 2
}
action=${1:-}
case "$action" in
  backup) [ "$#" -ge 4 ] && [ "$4" = -- ] || usage; dir=$2 keep=$3; shift 4 ;;
  restore) [ "$#" -ge 3 ] && [ "$3" = -- ] || usage; file=$2; shift 3 ;;
  *) usage ;;
esac
[ "$#" -gt 0 ] || usage
compose=("$@")
# The services that write to the database (make restore stops them meanwhile).
read -r -a writers <<<"${DB_WRITERS:-api dashboard-1 dashboard-2}"

# Runs in the postgres container: the client with the connection settings.
# shellcheck disable=SC2016 # expanded by the container's shell
connect='PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")" exec "$0" --host=127.0.0.1 --username="$POSTGRES_USER" --dbname="$POSTGRES_DB" "$@"'
in_postgres() { "${compose[@]}" exec -T postgres sh -c "$connect" "$@"; }

# Backup folders are named by their UTC time, so by name is oldest first.
STAMP='[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z'

backup() {
  case "$keep" in
    "" | *[!0-9]*) echo "compose-backup: BACKUP_KEEP=$keep: a number of backups to keep (0: all)" >&2; exit 2 ;;
  esac
  # A backup holds every row, the audit trail's e-mails included: owner only.
  umask 077
  mkdir -p "$dir"
  local target
  target="$dir/$(date -u +%Y%m%dT%H%M%SZ)"
  if ! mkdir "$target"; then
    echo "compose-backup: $target exists already (a backup in this second): run it again" >&2
    exit 1
  fi
  # Written under another name first: a failed dump leaves nothing that looks like a backup.
  if ! in_postgres pg_dump --format=custom >"$target/app.dump.partial"; then
    rm -rf "$target"
    echo "compose-backup: pg_dump failed; nothing written (is the stack up? make up)" >&2
    exit 1
  fi
  mv "$target/app.dump.partial" "$target/app.dump"
  echo "compose-backup: wrote $target/app.dump ($(wc -c <"$target/app.dump") bytes, pg_dump custom format)"
  if [ "$keep" -gt 0 ]; then
    local backups=() old
    for old in "$dir"/$STAMP; do [ -f "$old/app.dump" ] && backups+=("$old"); done
    for old in "${backups[@]:0:$((${#backups[@]} > keep ? ${#backups[@]} - keep : 0))}"; do
      rm -rf "$old"
      echo "compose-backup: removed $old (BACKUP_KEEP=$keep keeps the newest $keep)"
    done
  fi
}

start_writers() {
  echo "compose-backup: starting ${writers[*]} again"
  "${compose[@]}" start "${writers[@]}"
  # nginx resolves the services' names when it reads its config, and a
  # container started again may have a new address: reloading finds them.
  "${compose[@]}" exec -T nginx nginx -c /etc/nginx/app/nginx.conf -s reload
}

restore() {
  # Whatever happens next, the app comes back: on its old data if the restore failed.
  trap start_writers EXIT
  echo "compose-backup: stopping ${writers[*]} (they write to the database)"
  "${compose[@]}" stop "${writers[@]}"
  # --clean --if-exists drops each object of the backup first; one transaction:
  # a restore that fails changes nothing.
  if ! in_postgres pg_restore --clean --if-exists --single-transaction --exit-on-error <"$file"; then
    echo "compose-backup: pg_restore failed; the database is as it was before" >&2
    exit 1
  fi
  echo "compose-backup: restored $file into the database (objects it holds replaced; anything newer kept)"
}

"$action"
