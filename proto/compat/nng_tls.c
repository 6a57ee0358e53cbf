/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS configurations from PEM files (see nng_tls.h). The files are read
 * here rather than by nng_tls_config_ca_file/_cert_key_file so that a
 * missing or unreadable file is reported with its errno, and so that the
 * certificate and the key may be separate files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nng_tls.h"

/* The largest PEM file read: a long chain is a few tens of KiB. */
#define BH_TLS_PEM_MAX (1u << 20)

/* Reads path into a NUL-terminated malloc'd buffer; caller frees with
 * free(). NULL with err set on failure. */
static char *
read_pem(const char *path, const char *what, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;

    if (f == NULL) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    if ((buf = malloc(BH_TLS_PEM_MAX + 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    n = fread(buf, 1, BH_TLS_PEM_MAX + 1, f);
    if (ferror(f) || n > BH_TLS_PEM_MAX) {
        snprintf(err, errlen, "%s %s: %s", what, path,
                 ferror(f) ? "read error" : "larger than 1 MiB: not a PEM file");
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[n] = '\0';
    if (strstr(buf, "-----BEGIN ") == NULL) {
        snprintf(err, errlen, "%s %s: no PEM block (-----BEGIN ...) in it", what, path);
        free(buf);
        buf = NULL;
    }
out:
    fclose(f);
    return buf;
}

int
bh_tls_config_new(nng_tls_config **out, nng_tls_mode mode, const bh_tls_files *f, char *err,
                  size_t errlen)
{
    nng_tls_config *cfg = NULL;
    char *ca = NULL, *cert = NULL, *key = NULL;
    int server = mode == NNG_TLS_MODE_SERVER, rv;

    if (server && (f->cert_file == NULL || f->key_file == NULL)) {
        snprintf(err, errlen, "a TLS listener needs %s and %s", f->cert_what, f->key_what);
        return NNG_EINVAL;
    }
    if (!server && f->ca_file == NULL) {
        snprintf(err, errlen,
                 "a TLS URL needs %s, the CA that signed the server's certificate (the server "
                 "is always verified)",
                 f->ca_what);
        return NNG_EINVAL;
    }
    if ((f->cert_file == NULL) != (f->key_file == NULL)) {
        snprintf(err, errlen, "%s and %s go together", f->cert_what, f->key_what);
        return NNG_EINVAL;
    }
    if ((rv = nng_tls_config_alloc(&cfg, mode)) != 0) {
        snprintf(err, errlen, "cannot set up TLS: %s", nng_strerror(rv));
        return rv;
    }
    rv = NNG_EINVAL;
    if (f->ca_file != NULL) {
        if ((ca = read_pem(f->ca_file, f->ca_what, err, errlen)) == NULL)
            goto out;
        if ((rv = nng_tls_config_ca_chain(cfg, ca, NULL)) != 0) {
            snprintf(err, errlen, "%s %s: not a PEM CA certificate (%s)", f->ca_what, f->ca_file,
                     nng_strerror(rv));
            goto out;
        }
        /* The client's default already; on a server, mutual TLS. */
        if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) != 0) {
            snprintf(err, errlen, "cannot require the peer's certificate: %s", nng_strerror(rv));
            goto out;
        }
    } else if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_NONE)) != 0) {
        snprintf(err, errlen, "cannot set up TLS: %s", nng_strerror(rv));
        goto out;
    }
    if (f->cert_file != NULL) {
        rv = NNG_EINVAL;
        if ((cert = read_pem(f->cert_file, f->cert_what, err, errlen)) == NULL ||
            (key = read_pem(f->key_file, f->key_what, err, errlen)) == NULL)
            goto out;
        if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
            snprintf(err, errlen,
                     "%s %s with %s %s: not a PEM certificate and its unencrypted private key "
                     "(%s)",
                     f->cert_what, f->cert_file, f->key_what, f->key_file, nng_strerror(rv));
            goto out;
        }
    }
    if (!server && f->server_name != NULL &&
        (rv = nng_tls_config_server_name(cfg, f->server_name)) != 0) {
        snprintf(err, errlen, "server name \"%s\": %s", f->server_name, nng_strerror(rv));
        goto out;
    }
    rv = 0;
    *out = cfg;
    cfg = NULL;
out:
    if (key != NULL) {
        /* A private key does not linger in freed memory. */
        memset(key, 0, strlen(key));
        free(key);
    }
    free(cert);
    free(ca);
    if (cfg != NULL)
        nng_tls_config_free(cfg);
    return rv;
}

int
bh_tls_url(const char *url)
{
    return strncmp(url, "tls+", 4) == 0 || strncmp(url, "wss://", 6) == 0;
}
