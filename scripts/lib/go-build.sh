# shellcheck shell=bash
# go_build OUT_DIR MODULE VERSION LDFLAGS PACKAGE...
# Build PACKAGEs of MODULE@VERSION, statically, into OUT_DIR. `go install
# module@version` is refused here (the proxy serves no version lists), so a
# throwaway module `go get`s the exact release, then builds. GO_REPLACE, if
# set, holds `old=new@version` words for modules whose own go.mod relies on
# replace directives (Kubernetes' staging modules, Traefik's forks), which a
# dependency's go.mod cannot carry. `go get`'s errors are shown, not hidden.
go_build() {
  local out_dir=$1 module=$2 version=$3 ldflags=$4
  shift 4
  local build_dir log
  build_dir=$(mktemp -d)
  log="$build_dir/go.log"
  mkdir -p "$out_dir"
  if ! (
    cd "$build_dir"
    go mod init "build-$(basename "$module")" >"$log" 2>&1
    local replace package
    for replace in ${GO_REPLACE:-}; do go mod edit -replace "$replace"; done
    for package in "$@"; do go get "${package}@${version}" >>"$log" 2>&1; done
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w ${ldflags}" -o "$out_dir/" "$@" >>"$log" 2>&1
  ); then
    echo "go_build: building ${module}@${version} failed:" >&2
    tail -n 40 "$log" >&2
    rm -rf "$build_dir"
    return 1
  fi
  rm -rf "$build_dir"
}
