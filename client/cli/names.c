/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names people type: the forms of a method name grpcurl takes, services,
 * messages and enums found through the compiled descriptors, and the known
 * name nearest to a typo ("did you mean").
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Longest word cli_edit_distance compares; longer ones are never near. */
#define CLI__WORD_MAX 64

size_t
cli_edit_distance(const char *a, const char *b)
{
    /* Three rows of the optimal-string-alignment table: i-2, i-1, i. */
    size_t d[3][CLI__WORD_MAX + 1], la = strlen(a), lb = strlen(b), i, j;

    if (la > CLI__WORD_MAX || lb > CLI__WORD_MAX)
        return (size_t)-1;
    for (j = 0; j <= lb; j++)
        d[0][j] = j;
    for (i = 1; i <= la; i++) {
        size_t *cur = d[i % 3], *prev = d[(i - 1) % 3], *prev2 = d[(i + 1) % 3];
        cur[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1, best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
    }
    return d[la % 3][lb];
}

const char *
cli_suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = CLI_SUGGEST_MAX + 1, i;

    for (i = 0; i < n; i++) {
        size_t d;
        if (cands[i] == NULL || strcmp(cands[i], word) == 0)
            continue;
        d = cli_edit_distance(word, cands[i]);
        /* A word no longer than its distance is near everything. */
        if (d < best_d && d < strlen(word)) {
            best = cands[i];
            best_d = d;
        }
    }
    return best;
}

const ProtobufCServiceDescriptor *
cli_find_service(const char *name)
{
    size_t s;

    for (s = 0; bh_services[s] != NULL; s++)
        if (strcmp(name, bh_services[s]->name) == 0 ||
            strcmp(name, bh_services[s]->short_name) == 0)
            return bh_services[s];
    return NULL;
}

const ProtobufCMethodDescriptor *
cli_find_method(const char *name, const ProtobufCServiceDescriptor **svc,
                char full[BH_METHOD_NAME_MAX])
{
    char service[BH_METHOD_NAME_MAX];
    const char *sep = strrchr(name, '/');
    const ProtobufCServiceDescriptor *sd;
    size_t len, m;

    if (sep == NULL)
        sep = strrchr(name, '.');
    if (sep == NULL || (len = (size_t)(sep - name)) >= sizeof(service))
        return NULL;
    memcpy(service, name, len);
    service[len] = '\0';
    if ((sd = cli_find_service(service)) == NULL)
        return NULL;
    for (m = 0; m < sd->n_methods; m++) {
        if (strcmp(sep + 1, sd->methods[m].name) != 0)
            continue;
        if (bh_method_full_name(sd, &sd->methods[m], full, BH_METHOD_NAME_MAX) < 0)
            return NULL;
        if (svc != NULL)
            *svc = sd;
        return &sd->methods[m];
    }
    return NULL;
}

/* ---- every message and enum the services reach ---- */

struct cli__types {
    const ProtobufCMessageDescriptor *msg[256];
    size_t nmsg;
    const ProtobufCEnumDescriptor *en[64];
    size_t nen;
};

static void
cli__walk(struct cli__types *t, const ProtobufCMessageDescriptor *md)
{
    size_t i;

    for (i = 0; i < t->nmsg; i++)
        if (t->msg[i] == md)
            return;
    if (t->nmsg == CLI_NOPTS(t->msg))
        return;
    t->msg[t->nmsg++] = md;
    for (i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &md->fields[i];
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            cli__walk(t, fd->descriptor);
        } else if (fd->type == PROTOBUF_C_TYPE_ENUM) {
            size_t k;
            for (k = 0; k < t->nen && t->en[k] != fd->descriptor; k++)
                ;
            if (k == t->nen && t->nen < CLI_NOPTS(t->en))
                t->en[t->nen++] = fd->descriptor;
        }
    }
}

static const struct cli__types *
cli__types(void)
{
    static struct cli__types t;
    size_t s, m;

    if (t.nmsg == 0)
        for (s = 0; bh_services[s] != NULL; s++)
            for (m = 0; m < bh_services[s]->n_methods; m++) {
                cli__walk(&t, bh_services[s]->methods[m].input);
                cli__walk(&t, bh_services[s]->methods[m].output);
            }
    return &t;
}

/* "bilheteria.v1.Event", ".bilheteria.v1.Event" or "Event". */
static int
cli__type_is(const char *name, const char *full, const char *short_name)
{
    if (*name == '.')
        name++;
    return strcmp(name, full) == 0 || strcmp(name, short_name) == 0;
}

const ProtobufCMessageDescriptor *
cli_find_message(const char *name)
{
    const struct cli__types *t = cli__types();
    size_t i;

    for (i = 0; i < t->nmsg; i++)
        if (cli__type_is(name, t->msg[i]->name, t->msg[i]->short_name))
            return t->msg[i];
    return NULL;
}

const ProtobufCEnumDescriptor *
cli_find_enum(const char *name)
{
    const struct cli__types *t = cli__types();
    size_t i;

    for (i = 0; i < t->nen; i++)
        if (cli__type_is(name, t->en[i]->name, t->en[i]->short_name))
            return t->en[i];
    return NULL;
}

size_t
cli_known_names(const char **out, size_t max)
{
    static char fulls[192][BH_METHOD_NAME_MAX];
    const struct cli__types *t = cli__types();
    size_t n = 0, k = 0, s, m, i;

    for (s = 0; bh_services[s] != NULL; s++) {
        if (n + 1 < max) {
            out[n++] = bh_services[s]->name;
            out[n++] = bh_services[s]->short_name;
        }
        for (m = 0; m < bh_services[s]->n_methods && n < max && k < CLI_NOPTS(fulls); m++)
            if (bh_method_full_name(bh_services[s], &bh_services[s]->methods[m], fulls[k],
                                    BH_METHOD_NAME_MAX) >= 0)
                out[n++] = fulls[k++];
    }
    for (i = 0; i < t->nmsg && n + 1 < max; i++) {
        out[n++] = t->msg[i]->name;
        out[n++] = t->msg[i]->short_name;
    }
    for (i = 0; i < t->nen && n + 1 < max; i++) {
        out[n++] = t->en[i]->name;
        out[n++] = t->en[i]->short_name;
    }
    return n;
}
