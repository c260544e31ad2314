#!/usr/bin/env bash
# Installs the real servers the tests run (nginx, dnsmasq, haproxy, coturn, openssl, iproute2, iptables, script,
# chromium, varnish (a lifetime cap: send_timeout; first_byte_timeout), caddy (a body limit enforced only on real
# bytes), prometheus with promtool; dig, GNU time and prometheus-blackbox-exporter for the benchmarks; PostgreSQL for
# the real platform's services; xmllint, the XML parser that holds the JUnit file to XML) when missing.
# Debian/Ubuntu as root; anywhere else it says what is missing and stops.
set -euo pipefail
# Command (or path) → the Debian package that provides it.
declare -A pkg=(
  [nginx]=nginx-light [dnsmasq]=dnsmasq-base [haproxy]=haproxy [turnserver]=coturn [script]=bsdutils
  [chromium]=chromium [dig]=bind9-dnsutils [/usr/bin/time]=time [openssl]=openssl [ip]=iproute2 [iptables]=iptables
  [varnishd]=varnish [caddy]=caddy [prometheus]=prometheus [promtool]=prometheus
  [prometheus-blackbox-exporter]=prometheus-blackbox-exporter
  [runuser]=util-linux [flock]=util-linux [xmllint]=libxml2-utils
)
missing=()
for cmd in "${!pkg[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${pkg[$cmd]}")
done
# Debian keeps PostgreSQL's server programs off PATH, under its major version.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "tests need these Debian packages (as root): ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d 101: the packages must not start their own services (port 53/80 on the host).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
