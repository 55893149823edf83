#!/usr/bin/env bash
# Installs the pinned servers and tools the integration tests use. Idempotent:
# anything already at the pinned version is left alone.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
FAKE_GCS_VERSION=v1.56.1
AZURITE_VERSION=3.35.0

gobin="$(go env GOPATH)/bin"
mkdir -p "$gobin"

have_go_bin() { # name version
  [ -x "$gobin/$1" ] && go version -m "$gobin/$1" 2>/dev/null | grep -q "	mod	.*	$2	"
}

if ! have_go_bin versitygw "$VERSITYGW_VERSION"; then
  echo "install: versitygw $VERSITYGW_VERSION"
  go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi
if ! have_go_bin fake-gcs-server "$FAKE_GCS_VERSION"; then
  echo "install: fake-gcs-server $FAKE_GCS_VERSION"
  go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"
fi
if ! command -v azurite-blob >/dev/null 2>&1 || [ "$(npm ls -g azurite --depth=0 2>/dev/null | grep -o "azurite@$AZURITE_VERSION")" = "" ]; then
  echo "install: azurite $AZURITE_VERSION"
  npm install -g --no-audit --no-fund "azurite@$AZURITE_VERSION" >/dev/null
fi
if ! command -v ssh-keygen >/dev/null 2>&1; then
  echo "install: openssh-client (Debian; ssh-keygen for the signature interop tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq openssh-client >/dev/null
fi
# The ZIP readers modelpkg compares its view with: Python's zipfile,
# Info-ZIP unzip, bsdtar (libarchive), 7-Zip; bzip2 for the peer corpus.
need=""
[ -x /usr/bin/python3 ] || need="$need python3"
command -v unzip >/dev/null 2>&1 || need="$need unzip"
command -v bsdtar >/dev/null 2>&1 || need="$need libarchive-tools"
command -v 7z >/dev/null 2>&1 || need="$need p7zip-full"
command -v bzip2 >/dev/null 2>&1 || need="$need bzip2"
if [ -n "$need" ]; then
  echo "install:$need (Debian; the readers modelpkg's view is compared with)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
if [ "${MODELVAULT_SKIP_BROWSER_INSTALL:-}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  echo "install: chromium (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
