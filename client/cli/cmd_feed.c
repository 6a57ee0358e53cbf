/* SPDX-License-Identifier: Apache-2.0 */
/* bilheteria watch and bilheteria report export: the change feed
 * (FeedService.ListChanges), read with its long poll.
 *
 * watch prints one change a line as they commit: for people
 * "SEQ  TIME  TYPE  ids", with --json one JSON object a line whose
 * "object" is the changed object decoded ("@type" names its message, as
 * proto3 JSON writes an Any). export prints the feed from --from to the
 * end it had when it started, as CSV rows (or JSON lines) for an
 * analytics tool. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "pbjson.h"
#include "rfc3339.h"

#define WATCH_WAIT_MS  25000
#define EXPORT_PAGE    1000
#define TYPE_URL_SLASH '/'

/* The changed object, decoded; NULL if its type is unknown here (a newer
 * server) or its bytes do not decode. Caller frees with
 * protobuf_c_message_free_unpacked. */
static ProtobufCMessage *
object_of(const Bilheteria__V1__Change *ch)
{
    if (ch->object == NULL)
        return NULL;
    const char *name = strrchr(ch->object->type_url, TYPE_URL_SLASH);
    const ProtobufCMessageDescriptor *d =
        cli_find_message(name != NULL ? name + 1 : ch->object->type_url);
    if (d == NULL)
        return NULL;
    return protobuf_c_message_unpack(d, NULL, ch->object->value.len, ch->object->value.data);
}

/* The object's total in cents: its total_cents (a reservation) or
 * amount_cents (a payment); 0 if it has neither. */
static int64_t
total_of(const ProtobufCMessage *obj)
{
    static const char *const names[] = { "total_cents", "amount_cents" };
    for (size_t i = 0; obj != NULL && i < sizeof(names) / sizeof(names[0]); i++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(obj->descriptor, names[i]);
        if (f != NULL && f->type == PROTOBUF_C_TYPE_INT64 &&
            f->label != PROTOBUF_C_LABEL_REPEATED) {
            int64_t v;
            memcpy(&v, (const char *)obj + f->offset, sizeof(v));
            return v;
        }
    }
    return 0;
}

/* One JSON line: the change with its object decoded. */
static int
print_json(const struct cli *cli, const Bilheteria__V1__Change *ch, int with_total)
{
    ProtobufCMessage *obj = object_of(ch);
    cJSON *j = pbjson_to_cjson_style(&ch->base, cli->json_style);
    char *text = NULL;
    if (j != NULL && obj != NULL) {
        cJSON *o = pbjson_to_cjson_style(obj, cli->json_style);
        if (o != NULL) {
            /* "@type" first, as proto3 JSON writes an Any. */
            cJSON_AddItemToObject(o, "@type", cJSON_CreateString(ch->object->type_url));
            cJSON *t = cJSON_DetachItemFromObject(o, "@type");
            if (t != NULL)
                cJSON_InsertItemInArray(o, 0, t);
            cJSON_ReplaceItemInObject(j, "object", o);
        }
    }
    if (j != NULL && with_total)
        cJSON_AddNumberToObject(j, "total_cents", (double)total_of(obj));
    if (j != NULL)
        text = pbjson_print(j, 0);
    cJSON_Delete(j);
    if (obj != NULL)
        protobuf_c_message_free_unpacked(obj, NULL);
    if (text == NULL) {
        fputs("error: out of memory\n", stderr);
        return CLI_EXIT_FAIL;
    }
    puts(text);
    cJSON_free(text);
    return CLI_EXIT_OK;
}

static void
print_ids(const Bilheteria__V1__Change *ch)
{
    if (ch->reservation_id)
        printf("  reservation=%" PRIu64, ch->reservation_id);
    if (ch->payment_id)
        printf("  payment=%" PRIu64, ch->payment_id);
    if (ch->session_id)
        printf("  session=%" PRIu64, ch->session_id);
    if (ch->event_id)
        printf("  event=%" PRIu64, ch->event_id);
    if (ch->product_id)
        printf("  product=%" PRIu64, ch->product_id);
    if (ch->user_id[0])
        printf("  user=%s", ch->user_id);
}

static int
print_line(const struct cli *cli, const Bilheteria__V1__Change *ch)
{
    char t[64];
    if (cli->json)
        return print_json(cli, ch, 0);
    if (cli_rfc3339_format(ch->time_ms, t, sizeof(t)) < 0)
        snprintf(t, sizeof(t), "%" PRId64, ch->time_ms);
    printf("%" PRIu64 "  %s  %s", ch->seq, t, ch->type);
    print_ids(ch);
    putchar('\n');
    return CLI_EXIT_OK;
}

/* One ListChanges call; transient failures (the server restarting, a
 * deadline) are 1 when retry is set, so the caller may try again. */
static int
list(struct cli *cli, uint64_t after, uint32_t max, uint32_t wait_ms, int retry,
     Bilheteria__V1__ListChangesResponse **out)
{
    Bilheteria__V1__ListChangesRequest q = BILHETERIA__V1__LIST_CHANGES_REQUEST__INIT;
    bh_call_opts co;
    bh_status st;
    int rc = cli_open(cli);
    if (rc != CLI_EXIT_OK)
        return rc;
    q.after_seq = after;
    q.max = max;
    q.wait_ms = wait_ms;
    memset(&co, 0, sizeof(co));
    memset(&st, 0, sizeof(st));
    /* The call waits up to wait_ms: its deadline must leave room for it. */
    co.timeout_ms = cli->timeout_ms + (int32_t)wait_ms;
    if (bh_feed_list_changes(cli->client, &q, out, &co, &st) == BH_OK)
        return CLI_EXIT_OK;
    if (retry && (st.code == BH_UNAVAILABLE || st.code == BH_DEADLINE_EXCEEDED)) {
        fprintf(stderr, "note: %s; trying again\n", st.message);
        return -1;
    }
    return cli_print_status(cli, &st);
}

static void
nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int
cli_cmd_watch(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    uint64_t from = 0, after;
    uint32_t limit = 0, printed = 0;
    Bilheteria__V1__ListChangesResponse *r = NULL;
    int rc;
    struct bh__opt opts[] = {
        { "--from", "SEQ", BH__OPT_ID, BH__OPT_LAST_WINS, &from,
          "start at this change (1: the oldest kept); unset: only changes from now on" },
        { "--limit", "N", BH__OPT_COUNT, BH__OPT_LAST_WINS, &limit,
          "stop after N changes; unset: until interrupted" },
    };
    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if (from > 0) {
        after = from - 1;
    } else {
        while ((rc = list(cli, 0, 1, 0, 1, &r)) < 0)
            nap_ms(1000);
        if (rc != CLI_EXIT_OK)
            return rc;
        after = r->last_seq;
        bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
    }
    while (limit == 0 || printed < limit) {
        uint32_t max = limit == 0 || limit - printed > 100 ? 100 : limit - printed;
        rc = list(cli, after, max, WATCH_WAIT_MS, 1, &r);
        if (rc < 0) {
            nap_ms(1000);
            continue;
        }
        if (rc != CLI_EXIT_OK)
            return rc;
        for (size_t i = 0; i < r->n_changes && rc == CLI_EXIT_OK; i++) {
            rc = print_line(cli, r->changes[i]);
            after = r->changes[i]->seq;
            printed++;
        }
        int none = r->n_changes == 0;
        bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
        if (rc != CLI_EXIT_OK)
            return rc;
        if (fflush(stdout) != 0)
            return CLI_EXIT_FAIL;
        if (none)
            nap_ms(100); /* the server could not wait (draining, busy): not a busy loop */
    }
    return CLI_EXIT_OK;
}

static int
print_row(const struct cli *cli, const Bilheteria__V1__Change *ch)
{
    char t[64];
    if (cli->json)
        return print_json(cli, ch, 1);
    ProtobufCMessage *obj = object_of(ch);
    if (cli_rfc3339_format(ch->time_ms, t, sizeof(t)) < 0)
        snprintf(t, sizeof(t), "%" PRId64, ch->time_ms);
    /* user_id is the only free text: quoted, its quotes doubled (RFC 4180). */
    printf("%" PRIu64 ",%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",\"",
           ch->seq, t, ch->type, ch->reservation_id, ch->session_id, ch->event_id, ch->payment_id,
           ch->product_id);
    for (const char *p = ch->user_id; *p; p++) {
        if (*p == '"')
            putchar('"');
        putchar(*p);
    }
    printf("\",%" PRId64 "\n", total_of(obj));
    if (obj != NULL)
        protobuf_c_message_free_unpacked(obj, NULL);
    return CLI_EXIT_OK;
}

int
cli_cmd_report_export(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    uint64_t from = 0, after, end = 0;
    int csv = 0, rc, first = 1;
    Bilheteria__V1__ListChangesResponse *r = NULL;
    struct bh__opt opts[] = {
        { "--from", "SEQ", BH__OPT_ID, BH__OPT_REQUIRED | BH__OPT_LAST_WINS, &from,
          "the first change to export (1: the oldest kept)" },
        { "--csv", NULL, BH__OPT_FLAG, BH__OPT_LAST_WINS, &csv,
          "CSV with a header row (the default; --json: one JSON object a line)" },
    };
    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if (csv && cli->json)
        return cli_usage_error(cmd, "--csv and --json: choose one");
    after = from - 1;
    if (!cli->json)
        puts("seq,time,type,reservation_id,session_id,event_id,payment_id,product_id,user_id,"
             "total_cents");
    for (;;) {
        if ((rc = list(cli, after, EXPORT_PAGE, 0, 0, &r)) != CLI_EXIT_OK)
            return rc;
        if (first)
            end = r->last_seq; /* the end when the export began: then it stops */
        first = 0;
        size_t i = 0;
        for (; i < r->n_changes && r->changes[i]->seq <= end && rc == CLI_EXIT_OK; i++) {
            rc = print_row(cli, r->changes[i]);
            after = r->changes[i]->seq;
        }
        int done = r->n_changes == 0 || i < r->n_changes || after >= end;
        bilheteria__v1__list_changes_response__free_unpacked(r, NULL);
        if (rc != CLI_EXIT_OK)
            return rc;
        if (done)
            break;
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
