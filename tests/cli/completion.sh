#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The completion scripts: the bash one that `bilheteria completion bash`
# prints and the one CMake generated for installing are the same, bash -n
# accepts it, and sourced in a bash with COMP_WORDS/COMP_CWORD set, its
# function completes commands, subcommands, options and method names.
#
#   completion.sh <bilheteria binary> <generated bash script> <generated zsh script>
set -eu
cli=$1
gen_bash=$2
gen_zsh=$3
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$cli" completion bash >"$tmp"
cmp -s "$tmp" "$gen_bash" || { echo "the generated bash script is stale" >&2; exit 1; }
"$cli" completion zsh | cmp -s - "$gen_zsh" || { echo "the generated zsh script is stale" >&2; exit 1; }
bash -n "$tmp"
if command -v zsh >/dev/null 2>&1; then zsh -n "$gen_zsh"; fi

# complete WANT WORD...: the words typed so far, the last one being completed.
complete() {
  want=$1
  shift
  got=$(bash -c '
    . "$0"
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    _bilheteria
    echo "${COMPREPLY[*]}"' "$tmp" bilheteria "$@")
  test "$got" = "$want" || { echo "bilheteria $*<TAB>: got \"$got\", want \"$want\"" >&2; exit 1; }
}
complete "event" ev
complete "list" event l
complete "list" --server tcp://x:1 event l
complete "list" --json event l
complete "--page-size --page-token" event list --page-
complete "--seats-per-row" session create --seats
complete "--best" reserve --be
complete "bilheteria.v1.EventService/CreateEvent" call bilheteria.v1.EventService/Cr
complete "bilheteria.v1.PaymentService/ConfirmPayment" describe bilheteria.v1.PaymentService/Con
complete "--list" call --li
complete "bash" completion ba
complete "reserve reservation" help rese
complete "--timeout-ms" --time
echo ok
