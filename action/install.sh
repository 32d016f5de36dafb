#!/usr/bin/env bash
# Installs llmcheck for the GitHub Action (action.yml); kept in a file so its
# logic is tested (cilint/install_test.go).
#
# A release version (v1.2.3) downloads the release archive for the runner's
# OS and architecture and verifies it against the release's checksums.txt
# before anything is extracted; the binary is kept in ACTION_INSTALL_DIR
# (cached between jobs by the action). Any other ref (a branch or a commit)
# builds from the action's own source with the Go already on the runner,
# asking for the go.mod's toolchain through GOTOOLCHAIN (downloaded and
# verified by the go command itself) — PATH is not changed, so the user's
# test command keeps seeing their own Go.
#
# Inputs (environment; not LLMCHECK_*, which llmcheck reads as settings):
#   ACTION_VERSION      version input: a release tag, or empty
#   ACTION_REF          the action's own ref (github.action_ref)
#   ACTION_PATH         the action's source folder (github.action_path)
#   ACTION_INSTALL_DIR  where the binary goes
#   ACTION_RELEASES_URL release download base (default: GitHub releases)
#   RUNNER_OS, RUNNER_ARCH
# Output: the binary's path on stdout's last line, "bin=PATH" in
# GITHUB_OUTPUT when set.
set -euo pipefail

die() { echo "::error title=llmcheck install::$*" >&2; exit 1; }

releases=${ACTION_RELEASES_URL:-https://github.com/llmcheck/llmcheck/releases/download}
dir=${ACTION_INSTALL_DIR:?ACTION_INSTALL_DIR is required}
version=${ACTION_VERSION:-}
if [ -z "$version" ]; then
  # Default: the action's own ref when it is a release tag.
  if [[ "${ACTION_REF:-}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
    version=$ACTION_REF
  fi
fi

case "${RUNNER_OS:-Linux}" in
  Linux) os=linux ;;
  macOS) os=darwin ;;
  Windows) os=windows ;;
  *) die "runner OS ${RUNNER_OS} is not supported" ;;
esac
case "${RUNNER_ARCH:-X64}" in
  X64) arch=amd64 ;;
  ARM64) arch=arm64 ;;
  *) die "runner architecture ${RUNNER_ARCH} is not supported (release archives exist for X64 and ARM64)" ;;
esac
exe=llmcheck
[ "$os" = windows ] && exe=llmcheck.exe
bin="$dir/$exe"

output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "bin=$bin" >> "$GITHUB_OUTPUT"
  fi
  echo "$bin"
}

sha256() {
  if command -v sha256sum > /dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

if [ -z "$version" ]; then
  # A branch or commit ref: build from the action's source.
  src=${ACTION_PATH:?ACTION_PATH is required}
  command -v go > /dev/null || die "no release version to download (ref ${ACTION_REF:-unknown}) and no go on the runner to build from source: use a release tag (uses: llmcheck/llmcheck@v1 or with: version: v1.2.3) or set up Go before this step"
  want=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$src/go.mod" | head -1)
  mkdir -p "$dir"
  echo "building llmcheck from source at ${ACTION_REF:-this ref} with go$want (the runner's PATH is not changed)" >&2
  (cd "$src" && GOTOOLCHAIN="go${want}+auto" GOFLAGS=-mod=readonly go build -o "$bin" .)
  output
  exit 0
fi

if [ -x "$bin" ] && [ -f "$dir/.version" ] && [ "$(cat "$dir/.version")" = "$version" ]; then
  echo "llmcheck $version from the cache" >&2
  output
  exit 0
fi

num=${version#v}
ext=tar.gz
[ "$os" = windows ] && ext=zip
archive="llmcheck_${num}_${os}_${arch}.${ext}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fetch() {
  curl --fail --silent --show-error --location --retry 3 --retry-all-errors --output "$2" "$1" \
    || die "could not download $1: is $version a release of llmcheck?"
}
fetch "$releases/$version/checksums.txt" "$tmp/checksums.txt"
fetch "$releases/$version/$archive" "$tmp/$archive"
want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$tmp/checksums.txt")
[ -n "$want" ] || die "checksums.txt of $version has no entry for $archive"
got=$(sha256 "$tmp/$archive")
[ "$got" = "$want" ] || die "checksum mismatch for $archive: checksums.txt says $want, the download is $got; not installing it"
mkdir -p "$tmp/x" "$dir"
if [ "$ext" = zip ]; then
  unzip -q "$tmp/$archive" "$exe" -d "$tmp/x"
else
  tar -xzf "$tmp/$archive" -C "$tmp/x" "$exe"
fi
mv "$tmp/x/$exe" "$bin"
chmod +x "$bin"
echo "$version" > "$dir/.version"
echo "llmcheck $version ($os/$arch) installed, sha256 $got verified" >&2
output
