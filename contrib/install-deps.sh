#!/usr/bin/env bash
# SPDX-License-Identifier: PostgreSQL
#
# install-deps.sh — installs, on Debian 12, what building dbops, its tests,
# the demo and the benchmarks need. It asks apt only when a package is
# missing, so a second run returns at once. Other systems: install the
# equivalents of the packages below by hand.
#
# libidn-dev (its RFC 3454 tables) and libunistring-dev (NFKC, Unicode
# 14.0.0 as PostgreSQL 15) give the roles plugin SASLprep as PostgreSQL
# applies it to passwords (plugins/roles/saslprep.c).
#
# The daemon: libmicrohttpd-dev (its HTTP endpoint), libsystemd-dev
# (sd_notify), libssl-dev (HMAC-SHA256 of webhooks; libcrypto). prometheus
# only for promtool, which the tests run on /metrics; on a machine running
# systemd the package also enables a Prometheus server on :9090.
#
# liblz4-dev, libzstd-dev and libssl-dev (libcrypto: AES-256-GCM, SHA-256)
# are the backups plugin's compression and encryption; its tests read an
# archive back with the lz4 tool and make a TLS certificate with openssl. nodejs and npm run
# s3rver, the S3 server the backups tests use on loopback (installed
# below with npm into build/npm, pinned; the tests put a signature-checking
# proxy of their own in front of it). Machines that already have Node.js
# (from elsewhere than Debian) keep it.
#
# postgresql-15 includes the contrib modules (pg_stat_statements and the
# rest; it provides "postgresql-contrib-15"). Installing it may create and
# start Debian's default cluster on port 5432; nothing here uses it.
#
# patroni (3.0.2), its etcd client python3-etcd (the first of the DCS
# clients it depends on) and etcd-server (3.4) make the sandbox's HA kind
# (contrib/sandbox up DIR --kind ha); python3-psycopg2 (a dependency of
# patroni) is also what the HA tests' writers use, and curl talks to
# Patroni's REST API from the scripts. etcd-server's package does not start
# a server where no init system runs (containers, CI); nothing here uses
# one it started.
#
# The sanitizer builds (make check-asan, make fuzz, and the fuzz stage of
# make check) use clang-14; its AddressSanitizer, UBSan and libFuzzer
# runtimes are in libclang-rt-14-dev, and llvm-14 has the llvm-symbolizer
# that puts file and line names into their reports.
#
# postgresql-15-hypopg gives the monitoring plugin's index advice
# hypothetical indexes (CREATE EXTENSION hypopg; no preload needed).

set -euo pipefail

packages=(
	build-essential pkg-config git ca-certificates procps
	libpq-dev libyaml-dev libgit2-dev libcurl4-openssl-dev libjson-c-dev
	libpg-query-dev libidn-dev libunistring-dev nettle-dev
	libmicrohttpd-dev libsystemd-dev libssl-dev
	liblz4-dev libzstd-dev lz4 openssl
	postgresql-15 postgresql-client-15 postgresql-15-hypopg pgbouncer
	patroni python3-etcd python3-psycopg2 etcd-server curl
	hyperfine clang-format valgrind python3 time prometheus
	clang-14 libclang-rt-14-dev llvm-14
)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	packages+=(nodejs npm)
fi

# s3rver for the backups tests, pinned, in build/npm of this tree.
S3RVER_VERSION=3.7.1
root=$(cd "$(dirname "$0")/.." && pwd -P)
npm_dir=$root/build/npm

install_s3rver()
{
	if [ -x "$npm_dir/node_modules/.bin/s3rver" ] &&
		grep -q "\"version\": \"$S3RVER_VERSION\"" \
			"$npm_dir/node_modules/s3rver/package.json" 2>/dev/null; then
		return 0
	fi
	echo "install-deps: installing s3rver@$S3RVER_VERSION into $npm_dir" >&2
	mkdir -p "$npm_dir"
	npm install --no-audit --no-fund --loglevel=error --prefix "$npm_dir" \
		"s3rver@$S3RVER_VERSION" >/dev/null ||
		die "could not install s3rver@$S3RVER_VERSION with npm"
}

die()
{
	printf 'install-deps: error: %s\n' "$1" >&2
	if [ $# -gt 1 ]; then
		printf 'install-deps: hint: %s\n' "$2" >&2
	fi
	exit 1
}

{ command -v dpkg-query && command -v apt-get; } >/dev/null 2>&1 ||
	die "this script needs apt and dpkg (Debian 12)" \
		"Install these packages or their equivalents by hand: ${packages[*]}."

missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" \
	2>/dev/null || true)
for p in "${packages[@]}"; do
	if ! grep -qx "$p install ok installed" <<<"$installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages already installed"
	install_s3rver
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 ||
		die "must run as root or with sudo to install: ${missing[*]}"
	sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
	die "apt-get update failed"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends "${missing[@]}" >/dev/null ||
	die "could not install: ${missing[*]}"
echo "install-deps: installed ${missing[*]}"
install_s3rver
