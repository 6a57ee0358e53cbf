#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tools/gen/bh_gen's refusals: for each fixture here, protoc-c writes its
# descriptor set and bh_gen, in every mode, must accept it (ok.proto) or
# exit 1 with the expected message on stderr and write no output file.
# A file that is not a descriptor set must be refused the same way, and a
# bad command line with exit 2.
#
#   run.sh <bh_gen> <protoc-c> <fixtures dir> <protoc-c --proto_path args>...
set -eu

gen=$1
protoc=$2
dir=$3
shift 3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bh-gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

bad() {
  printf 'FAIL: %s\n' "$*" >&2
  fail=1
}

# set_of <--proto_path args>: protoc-c's descriptor set of $fixture.proto.
set_of() {
  "$protoc" --proto_path="$dir" "$@" --include_imports \
    --descriptor_set_out="$tmp/$fixture.desc" "$dir/$fixture.proto" </dev/null ||
    { bad "protoc-c cannot compile $fixture.proto"; return 1; }
}

# run <mode> <set> <want status> <want stderr text or ''>: one bh_gen run,
# its outputs in a fresh directory.
run() {
  mode=$1 set=$2 want=$3 msg=$4
  out=$tmp/out.$mode
  rm -rf "$out" && mkdir "$out"
  case $mode in
    methods) outs="$out/bh_methods.h" ;;
    services) outs="$out/bh_services_gen.h" ;;
    api) outs="$out/bilheteria_api.h $out/bilheteria_api.c" ;;
  esac
  status=0
  # shellcheck disable=SC2086
  "$gen" "$mode" "$set" $outs </dev/null 2>"$tmp/err" || status=$?
  what="bh_gen $mode $(basename "$set")"
  [ "$status" -eq "$want" ] || bad "$what: exit $status, want $want; stderr: $(cat "$tmp/err")"
  if [ "$want" -eq 0 ]; then
    for o in $outs; do
      [ -s "$o" ] || bad "$what: wrote no $(basename "$o")"
    done
  else
    [ -z "$(ls -A "$out")" ] || bad "$what: failed but left $(ls -A "$out")"
    grep -qF -- "$msg" "$tmp/err" || bad "$what: stderr lacks \"$msg\": $(cat "$tmp/err")"
  fi
}

# fixture | bh_gen's exit status | what stderr must say (on a refusal)
while IFS='|' read -r fixture want msg; do
  [ -n "$fixture" ] || continue
  set_of "$@" || continue
  for mode in methods services api; do
    run "$mode" "$tmp/$fixture.desc" "$want" "$msg"
  done
done <<TABLE
ok|0|
no_option|1|rpc bhgentest.ThingService/Forgotten has no option (bilheteria.v1.method)
key_no_write|1|rpc bhgentest.ThingService/GetThing requires an idempotency key but does not write
no_options_import|1|no file in the set extends MethodOptions with MethodRules
no_roles|1|rpc bhgentest.ThingService/GetThing lists no roles in its option
bad_role|1|rpc bhgentest.ThingService/GetThing names role "cusotmer", which is not one of anonymous customer service admin public
TABLE

# A file that is not a descriptor set: this script's own text.
for mode in methods services api; do
  run "$mode" "$dir/run.sh" 1 "run.sh is not a FileDescriptorSet"
done
run methods "$tmp/missing.desc" 1 "cannot read $tmp/missing.desc"

status=0
"$gen" frobnicate "$tmp/ok.desc" "$tmp/x.h" 2>"$tmp/err" || status=$?
[ "$status" -eq 2 ] || bad "bh_gen with an unknown mode: exit $status, want 2"
grep -q '^usage:' "$tmp/err" || bad "bh_gen with an unknown mode printed no usage"
[ ! -e "$tmp/x.h" ] || bad "bh_gen with an unknown mode wrote $tmp/x.h"

[ "$fail" -eq 0 ] && echo ok
exit "$fail"
