#!/usr/bin/env bash
# System packages some plugins need: bubblewrap, which hfplug-code-exec uses to sandbox model-written
# code. Installed with apt-get when we run as root and apt is available (we say so first); otherwise we
# say what is missing and carry on, and the plugin that needs it reports its isolation level itself.
set -u
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: nothing to install (bubblewrap is present)"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system packages: running apt-get as root to install ${missing[*]} (hfplug-code-exec sandboxes model-written code with it)"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
else
  echo "note: not installing ${missing[*]} (needs root and apt-get); install it for full sandbox isolation." >&2
fi
