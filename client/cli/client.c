/* SPDX-License-Identifier: Apache-2.0 */
/* Calling the server for a command and showing the answer. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_token.h"
#include "cli.h"
#include "pbjson.h"

/* With --json: {"error":{"code":"NOT_FOUND","message":"...",
 * "request_id":"1300556261861546299","trace_id":"0af7...","field":"name"}}
 * on stdout: request_id (a 64-bit integer, so a string, as proto3 JSON
 * writes them; the server's logs print the same digits) and trace_id when
 * a request went out, field when the server named one (info NULL: an
 * error of the CLI's own). */
static void
cli__json_error(const bh_status *st, const bh_call_info *info)
{
    cJSON *obj = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(obj, "error");
    char *text = NULL;
    int ok = e != NULL && cJSON_AddStringToObject(e, "code", bh_code_name(st->code)) != NULL &&
             cJSON_AddStringToObject(e, "message", st->message) != NULL;

    if (ok && info != NULL && info->request_id != 0) {
        char id[24];
        snprintf(id, sizeof(id), "%" PRIu64, info->request_id);
        ok = cJSON_AddStringToObject(e, "request_id", id) != NULL &&
             cJSON_AddStringToObject(e, "trace_id", info->trace_id) != NULL;
    }
    if (ok && info != NULL && info->field[0] != '\0')
        ok = cJSON_AddStringToObject(e, "field", info->field) != NULL;
    if (!ok || (text = cJSON_PrintUnformatted(obj)) == NULL) {
        cJSON_Delete(obj);
        fputs("error: out of memory\n", stderr);
        return;
    }
    printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(obj);
}

static void
cli__status_line(const bh_status *st)
{
    if (st->message[0] != '\0')
        fprintf(stderr, "error: %s: %s\n", bh_code_name(st->code), st->message);
    else
        fprintf(stderr, "error: %s\n", bh_code_name(st->code));
}

static int
cli__print(const struct cli *cli, const bh_status *st, const bh_call_info *info)
{
    cli__status_line(st);
    if (cli->json)
        cli__json_error(st, info);
    return CLI_EXIT_FAIL;
}

int
cli_print_status(const struct cli *cli, const bh_status *st)
{
    return cli__print(cli, st, &cli->info);
}

int
cli_fail(const struct cli *cli, int code, const char *fmt, ...)
{
    bh_status st;
    va_list ap;

    memset(&st, 0, sizeof(st));
    st.code = code;
    va_start(ap, fmt);
    vsnprintf(st.message, sizeof(st.message), fmt, ap);
    va_end(ap);
    return cli__print(cli, &st, NULL);
}

int
cli_open(struct cli *cli)
{
    bh_options o;
    bh_status st;
    char *token = NULL, err[512];
    int rc;

    if (cli->client != NULL)
        return CLI_EXIT_OK;
    rc = bh__token_pick(cli->token, cli->token_file, "BILHETERIA_TOKEN", &token, err, sizeof(err));
    if (rc == -2) {
        fprintf(stderr, "error: %s\n", err);
        return CLI_EXIT_FAIL;
    }
    if (rc != 0)
        return cli_usage_error(NULL, "%s", err);
    memset(&o, 0, sizeof(o));
    memset(&st, 0, sizeof(st));
    o.size = sizeof(o);
    o.url = cli->server;
    o.timeout_ms = cli->timeout_ms;
    o.tls_ca_file = cli->tls_ca;
    o.tls_server_name = cli->tls_server_name;
    o.tls_cert_file = cli->tls_cert;
    o.tls_key_file = cli->tls_key;
    o.auth_token = token; /* copied */
    rc = CLI_EXIT_OK;
    if (bh_client_open(&cli->client, &o, &st) != BH_OK) {
        /* A URL that cannot be one is a usage error (stderr only, as every
         * usage error); an unreachable one is a failed call. */
        if (st.code == BH_INVALID_ARGUMENT) {
            cli__status_line(&st);
            rc = CLI_EXIT_USAGE;
        } else
            rc = cli_print_status(cli, &st);
    }
    free(token);
    return rc;
}

int
cli_check_key(const char *key)
{
    size_t n = key != NULL ? strlen(key) : 1;
    if (n == 0 || n > BH_IDEMPOTENCY_KEY_MAX)
        return cli_usage_error(NULL, "--idempotency-key: expected 1..%d bytes, got %zu",
                               BH_IDEMPOTENCY_KEY_MAX, n);
    return CLI_EXIT_OK;
}

void
cli_call_options(struct cli *cli, const char *key, bh_call_options *co)
{
    bh_call_options init = BH_CALL_OPTIONS_INIT;
    bh_call_info info = BH_CALL_INFO_INIT;

    *co = init;
    co->idempotency_key = key;
    co->timeout_ms = cli->timeout_ms;
    co->traceparent = cli->traceparent;
    cli->info = info;
    co->info = &cli->info;
}

int
cli_call(struct cli *cli, const struct cli_cmd *cmd, enum bh_method_id id,
         const ProtobufCMessage *req, const char *key, ProtobufCMessage **resp)
{
    const struct cli_method *cm = &cli_methods[id];
    const ProtobufCMethodDescriptor *m = bh_find_method(cm->name, NULL);
    bh_call_options co;
    bh_status st;
    int rc;

    /* A command passing another method's request is a bug here. */
    if (m == NULL || m->input != req->descriptor) {
        fprintf(stderr, "error: INTERNAL: the CLI has no method %s for %s\n", cm->name,
                req->descriptor->name);
        return CLI_EXIT_FAIL;
    }
    if (key == NULL)
        key = cli->idem_key;
    if (!cm->writes && key != NULL)
        return cli_usage_error(NULL, "--idempotency-key: this command only reads; keys are for "
                                     "commands that change something");
    if (cm->key_required && (key == NULL || *key == '\0'))
        return cli_usage_error(cmd, "--idempotency-key KEY is required for %s%s%s", cmd->group,
                               cmd->verb ? " " : "", cmd->verb ? cmd->verb : "");
    if (cli_check_key(key) != CLI_EXIT_OK)
        return CLI_EXIT_USAGE;
    if ((rc = cli_open(cli)) != CLI_EXIT_OK)
        return rc;
    memset(&st, 0, sizeof(st));
    cli_call_options(cli, key, &co);
    if (bh_call_ex(cli->client, cm->name, req, resp, &co, &st) != BH_OK)
        return cli_print_status(cli, &st);
    cli->wrote = cm->writes;
    cli->replayed = st.replayed;
    if (st.replayed)
        fputs("note: replayed answer for this idempotency key\n", stderr);
    return CLI_EXIT_OK;
}

int
cli_show(const struct cli *cli, const ProtobufCMessage *resp, cli_render_fn render)
{
    if (cli->json)
        return cli_print_json(cli, resp, 0);
    render(resp);
    return CLI_EXIT_OK;
}

int
cli_run(struct cli *cli, const struct cli_cmd *cmd, enum bh_method_id id,
        const ProtobufCMessage *req, cli_render_fn render)
{
    return cli_run_key(cli, cmd, id, req, NULL, render);
}

int
cli_run_key(struct cli *cli, const struct cli_cmd *cmd, enum bh_method_id id,
            const ProtobufCMessage *req, const char *key, cli_render_fn render)
{
    ProtobufCMessage *resp = NULL;
    int rc = cli_call(cli, cmd, id, req, key, &resp);

    if (rc != CLI_EXIT_OK)
        return rc;
    rc = cli_show(cli, resp, render);
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}
