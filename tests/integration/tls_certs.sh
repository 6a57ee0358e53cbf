#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Makes throwaway TLS material for test_tls in DIR, with Debian's openssl:
#   ca.pem              the CA that signs the server and the client
#   server.pem/.key     CN=localhost, SAN DNS:localhost, DNS:127.0.0.1, IP:127.0.0.1
#   client.pem/.key     CN=test-client, for mutual TLS
#   other-ca.pem        a CA that signed nothing here (a client trusting it
#                       must refuse the server)
# P-256 keys, unencrypted, valid one day.
set -eu
dir=$1
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 1 -out "$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() {
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  printf '%s\n' "basicConstraints=CA:FALSE" "extendedKeyUsage=$3" "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
ca ca "bilheteria test CA"
ca other-ca "another test CA"
leaf server localhost serverAuth "subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1"
leaf client test-client clientAuth "subjectAltName=DNS:test-client"
