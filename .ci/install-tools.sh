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
[ -x /usr/bin/python3 ] || { echo "install: python3 (Debian; modelpkg compares its reading with zipfile's)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null; }
if [ "${MODELVAULT_SKIP_BROWSER_INSTALL:-}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  echo "install: chromium (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
