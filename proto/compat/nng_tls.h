/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one place where a TLS configuration for nng is built from files, for
 * the server's listeners and the library's dialer, and where the URL
 * schemes that mean TLS are named. Not part of libbilheteria's public API.
 *
 * nng 1.5.2 with mbedtls 2.28 (Debian 12): the peer's certificate subject
 * (NNG_OPT_TLS_PEER_CN) cannot be read there; only whether the peer was
 * verified (NNG_OPT_TLS_VERIFIED).
 */
#ifndef BH_NNG_TLS_H
#define BH_NNG_TLS_H

#include <stddef.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

/* Which files make a configuration. Paths are borrowed for the call only:
 * the files are read (and parsed) by bh_tls_config_new, not kept. */
typedef struct bh_tls_files {
    const char *ca_file;     /* PEM CAs the peer's certificate must chain to; NULL = none */
    const char *cert_file;   /* own certificate, PEM, a chain allowed; NULL = none */
    const char *key_file;    /* its private key, PEM, not encrypted; with cert_file */
    const char *server_name; /* client: the name the server's certificate must carry */
    /* What each file is called in error messages: the flag or field that
     * named it ("--tls-cert", "tls_cert_file"). */
    const char *ca_what, *cert_what, *key_what;
} bh_tls_files;

/*
 * Builds a TLS configuration in mode (NNG_TLS_MODE_SERVER or _CLIENT):
 * - client: ca_file is required and the server is always verified (auth
 *   mode required), against server_name when it is not NULL;
 * - server: cert_file and key_file are required; with ca_file, clients
 *   must present a certificate signed by it (auth mode required), else
 *   none is asked for.
 * On success *out is set; caller frees with nng_tls_config_free (setting it
 * on an nng listener or dialer takes a hold of its own). Returns 0, or an
 * NNG_ error with err (errlen bytes) saying which file and what was wrong.
 */
int bh_tls_config_new(nng_tls_config **out, nng_tls_mode mode, const bh_tls_files *f, char *err,
                      size_t errlen);

/* 1 if url's scheme is one of nng's TLS ones (tls+tcp://, tls+tcp4://,
 * tls+tcp6://, wss://), else 0. */
int bh_tls_url(const char *url);

#endif
