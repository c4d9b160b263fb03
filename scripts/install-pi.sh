#!/usr/bin/env bash
# Installs Flow Router as a systemd service on a Raspberry Pi (arm64) or any x64/arm64 Debian-like host.
# Copies the project to /opt/flowrouter, brings its Node 24 when the system Node is older than 22, creates the
# `flowrouter` user, /etc/flowrouter and /var/lib/flowrouter, then installs and enables deploy/flowrouter.service.
# Usage: sudo scripts/install-pi.sh [--dry-run] [--no-start] [--prefix DIR]
set -euo pipefail

src="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
prefix=/opt/flowrouter
user=flowrouter
etc=/etc/flowrouter
data=/var/lib/flowrouter
unit_dir=/etc/systemd/system
dry=0
start=1

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --no-start) start=0 ;;
    --prefix) prefix="${2:?--prefix needs a directory}"; shift ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-pi: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "install-pi: $*"; }
fail() { echo "install-pi: $*" >&2; exit 1; }
# Runs a command, or only prints it with --dry-run.
run() {
  if [ "$dry" = 1 ]; then printf '+ %s\n' "$*"; else "$@"; fi
}

arch="${FLOWROUTER_ARCH:-$(uname -m)}"
case "$arch" in
  aarch64|arm64) arch=arm64 ;;
  x86_64|amd64) arch=x64 ;;
  *) fail "unsupported architecture $arch (arm64 or x64 only)" ;;
esac
say "architecture $arch, source $src, target $prefix"
[ "$dry" = 1 ] && say "dry run: nothing is changed"
[ "$dry" = 1 ] || [ "$(id -u)" = 0 ] || fail "run as root (sudo $0), or try --dry-run"
command -v systemctl >/dev/null || [ "$dry" = 1 ] || fail "systemd is required"
command -v npm >/dev/null || fail "npm is required to install the dependencies (apt-get install npm)"

major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -ge 22 ]; then
  say "system Node $(node -v) is new enough; scripts/setup still brings the project's Node 24, which bin/flowrouter prefers"
else
  say "system Node is older than 22 or absent: the service runs on the project's Node 24, brought by scripts/setup"
fi

# 1. The code, without the source tree's dependencies, data or VCS metadata.
run mkdir -p "$prefix"
run sh -c "tar -C '$src' --exclude=./node_modules --exclude=./.git --exclude=./.flowrouter --exclude=./test-output -cf - . | tar -C '$prefix' -xf -"
run bash "$prefix/scripts/setup"
run chown -R root:root "$prefix"
run chmod -R go-w "$prefix"

# 2. The service user and its directories.
if id "$user" >/dev/null 2>&1; then
  say "user $user exists"
else
  run useradd --system --home-dir "$data" --no-create-home --shell /usr/sbin/nologin "$user"
fi
run install -d -m 0750 -o root -g "$user" "$etc"
run install -d -m 0750 -o "$user" -g "$user" "$data"
if [ -e "$etc/config.yaml" ]; then
  say "keeping $etc/config.yaml"
else
  # The embedded default config (local OpenAI-compatible servers) as a starting point.
  run sh -c "'$prefix/node_modules/.bin/node' --disable-warning=ExperimentalWarning --input-type=module -e \"import('$prefix/src/config/default.ts').then((m) => process.stdout.write(m.DEFAULT_CONFIG_YAML))\" > '$etc/config.yaml'"
  run chown "root:$user" "$etc/config.yaml"
  run chmod 0640 "$etc/config.yaml"
fi
if [ ! -e "$etc/env" ]; then
  run sh -c "printf '# Upstream keys for config.yaml, e.g. OPENAI_API_KEY=sk-...\n' > '$etc/env'"
  run chown "root:$user" "$etc/env"
  run chmod 0640 "$etc/env"
fi

# 3. The unit (its paths follow --prefix).
run sh -c "sed 's#/opt/flowrouter#$prefix#g' '$src/deploy/flowrouter.service' > '$unit_dir/flowrouter.service'"
run chmod 0644 "$unit_dir/flowrouter.service"
run systemctl daemon-reload
if [ "$start" = 1 ]; then
  run systemctl enable --now flowrouter.service
else
  run systemctl enable flowrouter.service
fi
if [ "$dry" = 0 ] && "$prefix/bin/flowrouter" doctor --help >/dev/null 2>&1; then
  run runuser -u "$user" -- "$prefix/bin/flowrouter" doctor --config "$etc/config.yaml" || true
fi
say "done: edit $etc/config.yaml (keys in $etc/env), then: systemctl restart flowrouter; journalctl -u flowrouter -f"
