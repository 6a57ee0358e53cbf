#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# cpack -G DEB builds the three packages; dpkg-deb shows what each holds
# and depends on.
#
#   deb.sh <build dir> <cpack> <version> <soversion>
set -eu
build=$1
cpack=$2
version=$3
so=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bh-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp" >"$tmp/log" 2>&1 || {
  cat "$tmp/log" >&2; exit 1; }

fail() { echo "$*" >&2; exit 1; }
deb() { ls "$tmp"/"$1"_"$version"_*.deb 2>/dev/null | head -1; }
# has PACKAGE PATH...: each path is in the package.
has() {
  d=$(deb "$1") && test -n "$d" || fail "no $1 package in $(ls "$tmp")"
  shift
  dpkg-deb -c "$d" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/list"
  for p in "$@"; do
    grep -qx "$p" "$tmp/list" || fail "$(basename "$d") lacks $p; it has: $(cat "$tmp/list")"
  done
}
# depends PACKAGE DEP...: each is in its Depends.
depends() {
  d=$(deb "$1")
  shift
  deps=$(dpkg-deb -f "$d" Depends)
  for p in "$@"; do
    printf '%s\n' "$deps" | tr ',' '\n' | grep -q "^ *$p\( \|$\)" ||
      fail "$(basename "$d") does not depend on $p: $deps"
  done
}

has bilheteria /usr/bin/bilheteria-server /usr/bin/bilheteria \
  /usr/lib/systemd/system/bilheteria.service \
  /usr/share/man/man1/bilheteria-server.1 /usr/share/man/man1/bilheteria.1 \
  /usr/share/doc/bilheteria/LICENSE
depends bilheteria libnng1 liblmdb0 libprotobuf-c1 libsystemd0 libc6
dpkg-deb -x "$(deb bilheteria)" "$tmp/root"
grep -qxF 'ExecStart=/usr/bin/bilheteria-server --data-dir /var/lib/bilheteria' \
  "$tmp/root/usr/lib/systemd/system/bilheteria.service" ||
  fail "the packaged unit does not start /usr/bin/bilheteria-server"

# The maintainer scripts: in the package, valid sh, and doing what a
# Debian service package does, checked with the helpers they call stubbed
# to log their arguments (no systemd runs here, so no start is expected).
mkdir "$tmp/ctl" "$tmp/stub"
dpkg-deb -e "$(deb bilheteria)" "$tmp/ctl"
for s in postinst prerm postrm; do
  test -x "$tmp/ctl/$s" || fail "the bilheteria package has no executable $s"
  sh -n "$tmp/ctl/$s" || fail "$s is not valid sh"
done
for c in deb-systemd-helper deb-systemd-invoke systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\ncase "$*" in *was-enabled*) exit 0;; esac\n' \
    "$c" "$tmp/calls" >"$tmp/stub/$c"
  chmod +x "$tmp/stub/$c"
done
PATH="$tmp/stub:$PATH" "$tmp/ctl/postinst" configure || fail "postinst configure failed"
grep -qx 'deb-systemd-helper enable bilheteria.service' "$tmp/calls" ||
  fail "postinst does not enable the unit: $(cat "$tmp/calls")"
PATH="$tmp/stub:$PATH" "$tmp/ctl/postrm" purge || fail "postrm purge failed"
grep -qx 'deb-systemd-helper purge bilheteria.service' "$tmp/calls" ||
  fail "postrm purge does not purge the unit's state: $(cat "$tmp/calls")"
PATH="$tmp/stub:$PATH" "$tmp/ctl/prerm" remove || fail "prerm remove failed"

has "libbilheteria$so" "/usr/lib/libbilheteria.so.$so" "/usr/lib/libbilheteria.so.$so.*"
depends "libbilheteria$so" libnng1 libprotobuf-c1 libc6
if grep -E '\.(h|a|pc)$|\.so$' "$tmp/list"; then fail "libbilheteria$so holds development files"; fi
dpkg-deb -I "$(deb "libbilheteria$so")" shlibs | grep -q "^libbilheteria $so libbilheteria$so" ||
  fail "libbilheteria$so has no shlibs entry"

has libbilheteria-dev /usr/include/bilheteria/bilheteria.h /usr/include/bilheteria/v1/rpc.pb-c.h \
  /usr/lib/libbilheteria.so /usr/lib/libbilheteria.a /usr/lib/pkgconfig/bilheteria.pc \
  /usr/lib/cmake/bilheteria/bilheteriaConfig.cmake
depends libbilheteria-dev "libbilheteria$so" libprotobuf-c-dev libnng-dev
echo ok
