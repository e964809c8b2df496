#!/usr/bin/env bash
# Wait until every given container is healthy by its own health check (or,
# without one, running; a one-shot one exited 0), for at most TIMEOUT seconds;
# on failure print the logs of the containers that are not. For podman, whose
# health check timers need systemd (absent in containers and CI sandboxes) and
# which before 4.6 cannot `podman wait --condition=healthy` (so podman-compose
# has no --wait): each check is run here, `podman healthcheck run`.
# Usage: scripts/compose-wait.sh TIMEOUT CONTAINER...
set -euo pipefail
timeout=$1
shift
[ "$#" -gt 0 ] || { echo "compose-wait: no containers to wait for" >&2; exit 2; }
deadline=$((SECONDS + timeout))

ready() {  # container: 0 ready, 1 not yet, 2 never (exited with an error)
  local state
  state=$(podman inspect --format '{{.State.Status}} {{.State.ExitCode}} {{if .Config.Healthcheck}}check{{end}}' "$1")
  case "$state" in
    "exited 0 "*)  # done, if it is a one-shot (not restarted)
      case "$(podman inspect --format '{{.HostConfig.RestartPolicy.Name}}' "$1")" in
        "" | no) return 0 ;;
        *) return 1 ;;
      esac ;;
    exited* | dead*) return 2 ;;
    "running "*check) podman healthcheck run "$1" >/dev/null 2>&1 || return 1 ;;
    "running "*) return 0 ;;
    *) return 1 ;;
  esac
}

waiting=("$@")
while [ "${#waiting[@]}" -gt 0 ]; do
  pending=()
  for container in "${waiting[@]}"; do
    status=0
    ready "$container" || status=$?
    case "$status" in
      0) ;;
      1) pending+=("$container") ;;
      *) echo "compose-wait: $(podman inspect --format '{{.Name}}' "$container") exited:" >&2
         podman logs --tail 50 "$container" >&2
         exit 1 ;;
    esac
  done
  waiting=("${pending[@]+"${pending[@]}"}")
  [ "${#waiting[@]}" -gt 0 ] || break
  if [ "$SECONDS" -ge "$deadline" ]; then
    for container in "${waiting[@]}"; do
      echo "compose-wait: $(podman inspect --format '{{.Name}}' "$container") not healthy after ${timeout}s:" >&2
      podman logs --tail 50 "$container" >&2
    done
    exit 1
  fi
  sleep 2
done
echo "compose-wait: all $# containers ready"
