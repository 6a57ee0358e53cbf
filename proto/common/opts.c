/* SPDX-License-Identifier: Apache-2.0 */
#include "bh_opts.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void
bh__strs_free(struct bh__strs *s)
{
    if (s == NULL)
        return;
    free(s->v);
    free(s->buf);
    s->v = NULL;
    s->buf = NULL;
    s->n = 0;
}

int
bh__parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    unsigned long long v;
    char *end = NULL;

    /* strtoull would accept " 1", "+1" and wrap "-1"; only digits here. */
    if (s == NULL || !isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int
bh__parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    long long v;
    char *end = NULL;

    if (s == NULL ||
        !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static const char *
opt_name(const struct bh__opt *o)
{
    return o->name != NULL ? o->name : o->metavar;
}

/* Converts one value into o->dest, by kind. */
static int
opt_set(struct bh__opt *o, const char *val, int argc, char *err, size_t errlen)
{
    const char *want = NULL;
    uint64_t u = 0;
    int64_t i = 0;

    switch (o->kind) {
    case BH__OPT_FLAG: *(int *)o->dest = 1; return 0;
    case BH__OPT_STR: *(const char **)o->dest = val; return 0;
    case BH__OPT_STRS: {
        struct bh__strs *s = o->dest;
        if (s->v == NULL) {
            /* Never more values than arguments. */
            s->v = calloc((size_t)argc + 1, sizeof(*s->v));
            if (s->v == NULL) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        s->v[s->n++] = val;
        return 0;
    }
    case BH__OPT_ID:
        if (bh__parse_u64(val, 1, UINT64_MAX, &u) == 0) {
            *(uint64_t *)o->dest = u;
            return 0;
        }
        want = "a positive integer id";
        break;
    case BH__OPT_COUNT:
        if (bh__parse_u64(val, 1, UINT32_MAX, &u) == 0) {
            *(uint32_t *)o->dest = (uint32_t)u;
            return 0;
        }
        want = "a positive integer (at most 4294967295)";
        break;
    case BH__OPT_U32:
        if (bh__parse_u64(val, 0, UINT32_MAX, &u) == 0) {
            *(uint32_t *)o->dest = (uint32_t)u;
            return 0;
        }
        want = "a non-negative integer (at most 4294967295)";
        break;
    case BH__OPT_NONNEG:
        if (bh__parse_i64(val, 0, INT64_MAX, &i) == 0) {
            *(int64_t *)o->dest = i;
            return 0;
        }
        want = "a non-negative integer";
        break;
    case BH__OPT_POS_I64:
        if (bh__parse_i64(val, 1, INT64_MAX, &i) == 0) {
            *(int64_t *)o->dest = i;
            return 0;
        }
        want = "a positive integer";
        break;
    case BH__OPT_POS_I32:
        if (bh__parse_i64(val, 1, INT32_MAX, &i) == 0) {
            *(int32_t *)o->dest = (int32_t)i;
            return 0;
        }
        want = "a positive integer (at most 2147483647)";
        break;
    case BH__OPT_INT:
        if (bh__parse_i64(val, o->min, o->max, &i) == 0) {
            *(int64_t *)o->dest = i;
            return 0;
        }
        snprintf(err, errlen, "%s: expected an integer in %lld..%lld, got \"%s\"", opt_name(o),
                 (long long)o->min, (long long)o->max, val);
        return -1;
    case BH__OPT_FN:
        if (o->parse(val, o->dest) == 0)
            return 0;
        want = o->want;
        break;
    }
    snprintf(err, errlen, "%s: expected %s, got \"%s\"", opt_name(o), want, val);
    return -1;
}

static struct bh__opt *
find(struct bh__opt *opts, size_t n, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (opts[i].name != NULL && strlen(opts[i].name) == len &&
            strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static int
is_option(const char *a)
{
    return (a[0] == '-' && a[1] == '-' && a[2] != '\0') || strcmp(a, "-h") == 0;
}

/* The arguments part of bh__opts_parse: everything but the check of
 * required options. */
static int
parse_argv(struct bh__opt *opts, size_t n, int argc, char **argv, unsigned flags, int *used,
           char *err, size_t errlen)
{
    int k, only_positional = 0, stop_at_positional = (flags & BH__OPTS_STOP_AT_POSITIONAL) != 0;
    size_t next_pos = 0;

    err[0] = '\0';
    for (k = 0; k < argc; k++) {
        const char *a = argv[k];
        const char *eq, *val;
        struct bh__opt *o;
        size_t len;

        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (only_positional || !is_option(a)) {
            if (stop_at_positional)
                break;
            while (next_pos < n && opts[next_pos].name != NULL)
                next_pos++;
            if (next_pos == n) {
                snprintf(err, errlen, "unexpected argument \"%s\"", a);
                return BH__PARSE_ERROR;
            }
            o = &opts[next_pos++];
            o->seen = 1;
            if (opt_set(o, a, argc, err, errlen) != 0)
                return BH__PARSE_ERROR;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return BH__PARSE_HELP;
        eq = strchr(a, '=');
        len = eq != NULL ? (size_t)(eq - a) : strlen(a);
        o = find(opts, n, a, len);
        if (o == NULL) {
            snprintf(err, errlen,
                     (flags & BH__OPTS_QUOTE_UNKNOWN) ? "unknown option \"%.*s\""
                                                      : "unknown option %.*s",
                     (int)len, a);
            return BH__PARSE_ERROR;
        }
        if (o->seen && o->kind != BH__OPT_STRS && !(o->flags & BH__OPT_LAST_WINS)) {
            snprintf(err, errlen, "%s is given twice", o->name);
            return BH__PARSE_ERROR;
        }
        o->seen = 1;
        if (o->kind == BH__OPT_FLAG) {
            if (eq != NULL) {
                snprintf(err, errlen, "%s takes no value", o->name);
                return BH__PARSE_ERROR;
            }
            val = NULL;
        } else if (eq != NULL) {
            val = eq + 1;
        } else if (k + 1 < argc &&
                   !((flags & BH__OPTS_DASH_NOT_VALUE) && strncmp(argv[k + 1], "--", 2) == 0)) {
            val = argv[++k];
        } else {
            snprintf(err, errlen, "%s needs a value (%s)", o->name, o->metavar);
            return BH__PARSE_ERROR;
        }
        if (opt_set(o, val, argc, err, errlen) != 0)
            return BH__PARSE_ERROR;
    }
    if (used != NULL)
        *used = k;
    return BH__PARSE_OK;
}

static int
check_required(const struct bh__opt *opts, size_t n, unsigned flags, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (!(opts[i].flags & BH__OPT_REQUIRED) || opts[i].seen)
            continue;
        if (opts[i].name == NULL && (flags & BH__OPTS_STOP_AT_POSITIONAL))
            continue;
        if (opts[i].name != NULL)
            snprintf(err, errlen, "%s %s is required", opts[i].name, opts[i].metavar);
        else
            snprintf(err, errlen, "missing %s", opts[i].metavar);
        return BH__PARSE_ERROR;
    }
    return BH__PARSE_OK;
}

int
bh__opts_parse(struct bh__opt *opts, size_t n, int argc, char **argv, unsigned flags, int *used,
               char *err, size_t errlen)
{
    int rc = parse_argv(opts, n, argc, argv, flags, used, err, errlen);
    return rc != BH__PARSE_OK ? rc : check_required(opts, n, flags, err, errlen);
}

/* The environment variable of option o under prefix into buf: 0, or -1 if
 * o is positional or buf is too small. */
static int
env_name(const struct bh__opt *o, const char *prefix, char *buf, size_t len)
{
    const char *p = o->name;
    size_t k;
    int w = snprintf(buf, len, "%s", prefix);

    if (p == NULL || w < 0 || (size_t)w >= len)
        return -1;
    k = (size_t)w;
    while (*p == '-')
        p++;
    for (; *p != '\0'; p++) {
        if (k + 1 >= len)
            return -1;
        buf[k++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    }
    buf[k] = '\0';
    return 0;
}

/* A flag from the environment: 1/true/yes/on set it, 0/false/no/off
 * leave it unset. Returns 1, 0, or -1 for anything else. */
static int
env_bool(const char *v)
{
    static const char *const on[] = { "1", "true", "yes", "on" }, *const off[] = { "0", "false",
                                                                                   "no", "off" };
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        if (strcmp(v, on[i]) == 0)
            return 1;
        if (strcmp(v, off[i]) == 0)
            return 0;
    }
    return -1;
}

/* BH__OPT_STRS from the environment: values separated by spaces or commas,
 * kept in a copy that s owns. */
static int
env_strs(struct bh__strs *s, const char *v)
{
    size_t n = 0;
    char *p, *save = NULL;

    s->buf = strdup(v);
    s->v = calloc(strlen(v) / 2 + 2, sizeof(*s->v)); /* at most one value per two bytes */
    if (s->buf == NULL || s->v == NULL)
        return -1;
    for (p = strtok_r(s->buf, " ,\t", &save); p != NULL; p = strtok_r(NULL, " ,\t", &save))
        s->v[n++] = p;
    s->n = n;
    return 0;
}

/* Fills every named option argv did not give from its environment
 * variable, if that is set and not empty. */
static int
apply_env(struct bh__opt *opts, size_t n, const char *prefix, char *err, size_t errlen)
{
    char name[128], sub[192];

    for (size_t i = 0; i < n; i++) {
        struct bh__opt *o = &opts[i];
        const char *v;

        if (o->name == NULL || o->seen || (o->flags & BH__OPT_NO_ENV) ||
            env_name(o, prefix, name, sizeof(name)) != 0)
            continue;
        v = getenv(name);
        if (v == NULL || v[0] == '\0')
            continue;
        if (o->kind == BH__OPT_FLAG) {
            int b = env_bool(v);
            if (b < 0) {
                snprintf(err, errlen, "%s (%s): expected 1 or 0, got \"%s\"", name, o->name, v);
                return BH__PARSE_ERROR;
            }
            if (b == 0)
                continue;
        } else if (o->kind == BH__OPT_STRS) {
            if (env_strs(o->dest, v) != 0) {
                snprintf(err, errlen, "out of memory");
                return BH__PARSE_ERROR;
            }
            o->seen = 1;
            continue;
        }
        o->seen = 1;
        /* The message names the variable, and the flag it stands for. */
        if (opt_set(o, v, 1, sub, sizeof(sub)) != 0) {
            const char *rest =
                strncmp(sub, o->name, strlen(o->name)) == 0 ? sub + strlen(o->name) : sub;
            snprintf(err, errlen, "%s (%s)%s", name, o->name, rest);
            return BH__PARSE_ERROR;
        }
    }
    return BH__PARSE_OK;
}

int
bh__opts_parse_env(struct bh__opt *opts, size_t n, int argc, char **argv, unsigned flags,
                   const char *env_prefix, int *used, char *err, size_t errlen)
{
    int rc = parse_argv(opts, n, argc, argv, flags, used, err, errlen);
    if (rc == BH__PARSE_OK)
        rc = apply_env(opts, n, env_prefix, err, errlen);
    return rc != BH__PARSE_OK ? rc : check_required(opts, n, flags, err, errlen);
}

void
bh__opts_usage(FILE *f, const char *prog, const char *synopsis, const char *summary,
               const struct bh__opt *opts, size_t n)
{
    size_t i, width = 0;

    fprintf(f, "usage: %s %s\n", prog, synopsis);
    if (summary != NULL)
        fprintf(f, "\n%s\n", summary);
    for (i = 0; i < n; i++) {
        size_t w = opts[i].name != NULL
                       ? strlen(opts[i].name) +
                             (opts[i].kind == BH__OPT_FLAG ? 0 : 1 + strlen(opts[i].metavar))
                       : strlen(opts[i].metavar);
        if (w > width)
            width = w;
    }
    if (n > 0)
        fprintf(f, "\noptions:\n");
    for (i = 0; i < n; i++) {
        const struct bh__opt *o = &opts[i];
        char left[96];

        if (o->name == NULL)
            snprintf(left, sizeof(left), "%s", o->metavar);
        else if (o->kind == BH__OPT_FLAG)
            snprintf(left, sizeof(left), "%s", o->name);
        else
            snprintf(left, sizeof(left), "%s %s", o->name, o->metavar);
        fprintf(f, "  %-*s  %s%s%s\n", (int)width, left, o->help,
                (o->flags & BH__OPT_REQUIRED) ? " (required)" : "",
                o->kind == BH__OPT_STRS ? " (repeatable)" : "");
    }
}
