#!/usr/bin/env bash
# System packages some plugins need (bubblewrap sandboxes model-written code). Installed when we
# are root and apt is available; otherwise we say what is missing and carry on, and the plugin
# that needs it reports its isolation level itself.
set -u
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "note: not installing ${missing[*]} (needs root and apt-get); install it for full sandbox isolation." >&2
fi
