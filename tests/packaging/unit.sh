#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The systemd unit as `cmake --install` writes it: ExecStart names the
# installed server, the hardening the README promises is there, and
# systemd-analyze verify (no running systemd needed) says nothing at all --
# it only warns about an unknown key, so any output fails.
#
#   unit.sh <build dir> <cmake>
set -eu
build=$1
cmake=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bh-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$cmake" --install "$build" --prefix "$tmp/p" --component server >/dev/null
unit=$tmp/p/lib/systemd/system/bilheteria.service
test -f "$unit" || { echo "no $unit" >&2; exit 1; }
for line in "ExecStart=$tmp/p/bin/bilheteria-server --data-dir /var/lib/bilheteria" \
            'Type=notify' 'DynamicUser=yes' 'StateDirectory=bilheteria' \
            'ExecReload=/bin/kill -HUP $MAINPID' 'ProtectSystem=strict' 'ProtectHome=yes' \
            'NoNewPrivileges=yes' 'PrivateTmp=yes' \
            'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
            'EnvironmentFile=-/etc/default/bilheteria' 'LimitNOFILE=65536'; do
  grep -qxF "$line" "$unit" || { echo "$unit lacks the line: $line" >&2; exit 1; }
done
out=$(systemd-analyze verify --man=no "$unit" 2>&1) || { echo "$out" >&2; exit 1; }
test -z "$out" || { echo "systemd-analyze verify: $out" >&2; exit 1; }
echo ok
