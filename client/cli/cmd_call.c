/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bilheteria call METHOD [JSON] | call --list [SERVICE]
 *
 * Any method by name (grpcurl's forms: pkg.Service/Method,
 * pkg.Service.Method, Service/Method), with the request as JSON (pbjson),
 * as grpcurl does: the request is checked against the method's input type
 * before anything is sent, and the answer is printed as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pbjson.h"

/* Largest request read from stdin ("-"). */
#define CLI_CALL_STDIN_MAX (4u << 20)

/* The usage error for a name that is no method (or service), with the
 * nearest known name if there is one near. */
int
cli_no_such(const struct cli_cmd *cmd, const char *what, const char *noun, const char *name)
{
    const char *known[512], *near;
    size_t n = cli_known_names(known, CLI_NOPTS(known));

    near = cli_suggest(name, known, n);
    if (near == NULL) {
        /* "EventService/GetEvnt": compare full names to the full form. */
        char full[BH_METHOD_NAME_MAX];
        const char *slash = strchr(name, '/');
        if (slash != NULL && strchr(name, '.') == NULL &&
            snprintf(full, sizeof(full), "bilheteria.v1.%s", name) < (int)sizeof(full))
            near = cli_suggest(full, known, n);
    }
    if (near != NULL)
        return cli_usage_error(cmd, "%s: no %s \"%s\"; did you mean \"%s\"?", what, noun, name,
                               near);
    return cli_usage_error(cmd, "%s: no %s \"%s\" (see 'bilheteria call --list')", what, noun,
                           name);
}

static int
cli__list(const struct cli *cli, const ProtobufCServiceDescriptor *only)
{
    char name[BH_METHOD_NAME_MAX];
    cJSON *obj = NULL, *arr = NULL;
    size_t s, m;
    int rc = CLI_EXIT_FAIL;

    if (cli->json) {
        obj = cJSON_CreateObject();
        arr = cJSON_AddArrayToObject(obj, "methods");
        if (arr == NULL)
            goto out;
    }
    for (s = 0; bh_services[s] != NULL; s++) {
        if (only != NULL && bh_services[s] != only)
            continue;
        for (m = 0; m < bh_services[s]->n_methods; m++) {
            if (bh_method_full_name(bh_services[s], &bh_services[s]->methods[m], name,
                                    sizeof(name)) < 0)
                continue;
            if (arr == NULL)
                printf("%s\n", name);
            else if (!cJSON_AddItemToArray(arr, cJSON_CreateString(name)))
                goto out;
        }
    }
    if (obj != NULL) {
        char *text = cJSON_PrintUnformatted(obj);
        if (text == NULL)
            goto out;
        printf("%s\n", text);
        cJSON_free(text);
    }
    rc = CLI_EXIT_OK;
out:
    if (rc != CLI_EXIT_OK)
        fputs("error: out of memory\n", stderr);
    cJSON_Delete(obj);
    return rc;
}

/* Reads all of stdin into a malloc'd buffer. */
static char *
cli__read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = cli_xalloc(cap);

    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            char *bigger;
            if (cap >= CLI_CALL_STDIN_MAX)
                break;
            bigger = cli_xalloc(cap * 2);
            memcpy(bigger, buf, n);
            free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    if (ferror(stdin) || n >= CLI_CALL_STDIN_MAX) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int
cli_cmd_call(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *method = NULL, *json = NULL;
    int list = 0, rc;
    struct bh__opt opts[] = {
        { "--list", NULL, BH__OPT_FLAG, 0, &list,
          "print every method's full name, or with SERVICE (in METHOD's place) its methods" },
        { NULL, "METHOD", BH__OPT_STR, 0, &method,
          "method name: bilheteria.v1.EventService/GetEvent, bilheteria.v1.EventService.GetEvent "
          "or EventService/GetEvent" },
        { NULL, "JSON", BH__OPT_STR, 0, &json,
          "the request as a JSON object (default {}; - reads it from stdin)" },
    };
    const ProtobufCMethodDescriptor *m;
    const bh_method_rules *rules;
    ProtobufCMessage *req = NULL, *resp = NULL;
    char err[512], full[BH_METHOD_NAME_MAX], *in = NULL;
    uint8_t *wire = NULL, *answer = NULL;
    size_t in_len = 0, wire_len, answer_len = 0;
    bh_call_options co;
    bh_status st;

    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if (list) {
        const ProtobufCServiceDescriptor *only = NULL;
        if (json != NULL)
            return cli_usage_error(cmd, "--list takes at most one SERVICE");
        if (method != NULL && (only = cli_find_service(method)) == NULL)
            return cli_no_such(cmd, "SERVICE", "service", method);
        return cli__list(cli, only);
    }
    if (method == NULL)
        return cli_usage_error(cmd, "missing METHOD (see 'bilheteria call --list')");
    if ((m = cli_find_method(method, NULL, full)) == NULL)
        return cli_no_such(cmd, "METHOD", "method", method);
    if (json == NULL)
        json = "{}";
    if (strcmp(json, "-") == 0) {
        in = cli__read_stdin(&in_len);
        if (in == NULL) {
            fprintf(stderr, "error: could not read the request from stdin (at most %u bytes)\n",
                    CLI_CALL_STDIN_MAX);
            return CLI_EXIT_USAGE;
        }
    }
    if (pbjson_from_json(m->input, in != NULL ? in : json, in != NULL ? in_len : strlen(json), &req,
                         err, sizeof(err)) != 0) {
        rc = cli_usage_error(cmd, "JSON: %s", err);
        goto out;
    }
    wire_len = protobuf_c_message_get_packed_size(req);
    wire = cli_xalloc(wire_len);
    protobuf_c_message_pack(req, wire);
    if ((rc = cli_check_key(cli->idem_key)) != CLI_EXIT_OK || (rc = cli_open(cli)) != CLI_EXIT_OK)
        goto out;
    memset(&st, 0, sizeof(st));
    /* Any method may be a write: send the key if one was given. */
    cli_call_options(cli, cli->idem_key, &co);
    if (bh_call_raw_ex(cli->client, full, wire, wire_len, &answer, &answer_len, &co, &st) !=
        BH_OK) {
        rc = cli_print_status(cli, &st);
        goto out;
    }
    rules = bh_find_method_rules(full);
    cli->wrote = rules != NULL && rules->writes;
    cli->replayed = st.replayed;
    if (st.replayed)
        fputs("note: replayed answer for this idempotency key\n", stderr);
    resp = protobuf_c_message_unpack(m->output, NULL, answer_len, answer);
    if (resp == NULL) {
        rc = cli_fail(cli, BH_INTERNAL, "the answer is not a valid %s", m->output->name);
        goto out;
    }
    rc = cli_print_json(cli, resp, !cli->json);
out:
    protobuf_c_message_free_unpacked(resp, NULL);
    protobuf_c_message_free_unpacked(req, NULL);
    free(answer);
    free(wire);
    free(in);
    return rc;
}
