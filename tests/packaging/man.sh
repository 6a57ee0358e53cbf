#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The man pages render without a warning (groff -ww), man -l reads them,
# and each names every flag its program's --help lists.
#
#   man.sh <man page> <program>
set -eu
page=$1
prog=$2
warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
test -z "$warn" || { echo "groff: $warn" >&2; exit 1; }
MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "^NAME" || { echo "man -l $page: no NAME" >&2; exit 1; }
missing=
for flag in $("$prog" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
  # troff spells a dash \-.
  grep -qF -- "$(printf '%s' "$flag" | sed 's/-/\\-/g')" "$page" || missing="$missing $flag"
done
test -z "$missing" || { echo "$page lacks$missing (listed by $prog --help)" >&2; exit 1; }
echo ok
