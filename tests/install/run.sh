#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install test: installs libbilheteria from the build tree into a temporary
# prefix, builds a consumer against that copy with find_package(bilheteria)
# (shared and static) and with pkg-config (shared and static), and runs each.
# Any failing step fails the test.
#
#   run.sh <build dir> <consumer source dir> <cmake> <C compiler>
set -eu

build=$1
src=$2
cmake=$3
cc=$4

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bh-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix

step() { printf '== %s\n' "$*"; }

# Only the client library's files (libbilheteria2's and -dev's): other
# modules' install rules are not this test's business.
step "install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" --component runtime
"$cmake" --install "$build" --prefix "$prefix" --component dev

pc=$(find "$prefix" -name bilheteria.pc)
test -n "$pc" || { echo "bilheteria.pc was not installed" >&2; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
for f in include/bilheteria/bilheteria.h include/bilheteria/bilheteria_api.h \
         include/bilheteria/services.h include/bilheteria/v1/rpc.pb-c.h; do
  test -f "$prefix/$f" || { echo "missing $f" >&2; exit 1; }
done
test -f "$libdir/libbilheteria.a" || { echo "missing libbilheteria.a" >&2; exit 1; }
test -e "$libdir/libbilheteria.so.2" || { echo "missing libbilheteria.so.2" >&2; exit 1; }
# The SONAME policy: the file is .so.<SONAME's number>.<minor>.<patch>.
real=$(basename "$(readlink -f "$libdir/libbilheteria.so.2")")
case $real in
  libbilheteria.so.2.*.*) ;;
  *) echo "libbilheteria.so.2 is $real, not libbilheteria.so.2.<minor>.<patch>" >&2; exit 1 ;;
esac
objdump -p "$libdir/$real" | grep -q 'SONAME *libbilheteria\.so\.2$' || {
  echo "$real's SONAME is not libbilheteria.so.2" >&2; exit 1; }

step "CMake consumer (find_package)"
"$cmake" -S "$src" -B "$tmp/cbuild" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
"$cmake" --build "$tmp/cbuild"
"$tmp/cbuild/consumer_shared"
"$tmp/cbuild/consumer_static"
# The shared one must use the installed library, not some other copy.
ldd "$tmp/cbuild/consumer_shared" | grep -q "$libdir/libbilheteria.so.2" || {
  echo "consumer_shared does not load $libdir/libbilheteria.so.2:" >&2
  ldd "$tmp/cbuild/consumer_shared" >&2
  exit 1
}

step "pkg-config consumer"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
pkg-config --exists --print-errors bilheteria
# shellcheck disable=SC2046
"$cc" ${CFLAGS:-} -Wall -Wextra -Werror -o "$tmp/consumer_pc" "$src/main.c" \
  $(pkg-config --cflags --libs bilheteria)
LD_LIBRARY_PATH=$libdir "$tmp/consumer_pc"

# Static: every library pkg-config --static names, each from its archive
# (-Bstatic), the C library alone shared: what Libs.private misses is an
# undefined reference here.
# shellcheck disable=SC2046
"$cc" ${CFLAGS:-} -Wall -Wextra -Werror -o "$tmp/consumer_pc_static" "$src/main.c" \
  $(pkg-config --cflags bilheteria) \
  -Wl,-Bstatic $(pkg-config --static --libs bilheteria) -Wl,-Bdynamic
"$tmp/consumer_pc_static"
if ldd "$tmp/consumer_pc_static" | grep -E 'lib(bilheteria|nng|mbed|protobuf-c)'; then
  echo "consumer_pc_static loads the shared libraries above" >&2
  exit 1
fi

step "ok"
