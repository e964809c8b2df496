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

# Go-built tools shared by every project made from this template, keyed by
# tool and version (a generated project reuses what another one built): each
# build in $GO_TOOLS_CACHE/NAME-VERSION/, finished once .complete is there.
GO_TOOLS_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/streamlit-platform/go"

# go_cached NAME VERSION: true when the cache holds a finished build.
go_cached() { [ -f "$GO_TOOLS_CACHE/$1-$2/.complete" ]; }

# go_tool NAME MODULE VERSION PACKAGE [LDFLAGS] [LINK_DIR]: build PACKAGE of
# MODULE@VERSION once into the cache, then link it as LINK_DIR/NAME (the
# project's .tools/bin by default, which its Makefile and tests search).
go_tool() {
  local name=$1 module=$2 version=$3 package=$4 ldflags=${5:-} link_dir=${6:-.tools/bin}
  local out="$GO_TOOLS_CACHE/$name-$version"
  if ! go_cached "$name" "$version"; then
    printf '[go tools %s] %s %s\n' "$(date +%T)" "$name" "$version"
    go_build "$out" "$module" "$version" "$ldflags" "$package"
    touch "$out/.complete"
  fi
  # go build names the binary after the package's last element, or the one
  # before a major-version suffix (oauth2-proxy/v7 gives oauth2-proxy).
  local binary=${package##*/}
  if [[ $binary =~ ^v[0-9]+$ ]]; then binary=$(basename "$(dirname "$package")"); fi
  mkdir -p "$link_dir"
  ln -sfn "$out/$binary" "$link_dir/$name"
}

# go_module_files OUT_DIR MODULE VERSION PATH...: copy PATHs (files or
# folders) out of MODULE@VERSION as the Go module proxy serves it (go mod
# download: checksummed against the checksum database, kept in the module
# cache), for the non-Go files a module carries (CRDs, manifests).
go_module_files() {
  local out_dir=$1 module=$2 version=$3
  shift 3
  local dir path
  # From / : outside any module, as a plain download.
  dir=$(cd / && go mod download -json "${module}@${version}" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || {
    echo "go_module_files: go mod download ${module}@${version} failed" >&2
    return 1
  }
  mkdir -p "$out_dir"
  for path in "$@"; do
    cp -R "$dir/$path" "$out_dir/"
  done
  chmod -R u+w "$out_dir"
}
