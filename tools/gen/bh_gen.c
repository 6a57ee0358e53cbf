/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bh_gen: writes the C that follows from the .proto files' services, so
 * that no per-method fact is typed by hand. It reads the FileDescriptorSet
 * that `protoc-c --descriptor_set_out --include_imports` writes, because
 * protoc-c's generated C keeps no method options: descset.proto mirrors
 * the part of descriptor.proto needed, with our option as a plain field.
 *
 *   bh_gen methods <set> <bh_methods.h>
 *       the method map: every RPC's full name, typed function, request and
 *       response types, and its rules (option (bilheteria.v1.method) in
 *       proto/bilheteria/v1/options.proto), as the X-macro BH_METHOD_MAP
 *       the name constants BH_METHOD_NAME_<SERVICE>_<METHOD>, the mask of
 *       roles that may call each, BH_METHOD_ROLES_<SERVICE>_<METHOD>
 *       (bilheteria/roles.h), and the enum of method ids
 *       BH_METHOD_<SERVICE>_<METHOD>; and every service, as
 *       the X-macro BH_SERVICE_MAP of protoc-c's descriptor prefixes.
 *   bh_gen services <set> <bh_services_gen.h>
 *       the #include of the protoc-c header of every file with a service.
 *   bh_gen api <set> <bilheteria_api.h> <bilheteria_api.c>
 *       libbilheteria's typed API: for Svc/Method of "XxxService",
 *         int bh_xxx_method(bh_client *c, const In *req, Out **resp,
 *                           const bh_call_opts *opts, bh_status *st);
 *       whose body is one bh_call with the method's full name.
 *
 * Fails (and leaves no output file) on any error, including an rpc
 * without option (bilheteria.v1.method): every method must say whether
 * it writes; and one whose option lists no role, or a role not in
 * bilheteria/roles.h: every method must say who may call it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bilheteria/roles.h"
#include "descset.pb-c.h"

#define GEN_NAME_MAX  256
#define GEN_FUNCS_MAX 256

/*
 * "GetSeatMap" -> "get_seat_map", "EventService" -> "event_service":
 * an underscore goes before an upper-case letter that follows a lower-case
 * letter or digit, or that starts a new word after an acronym ("HTTPCode"
 * -> "http_code"). Returns -1 if it does not fit.
 */
static int
gen_snake(const char *in, size_t n, char *out, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        int brk = 0;

        if (i > 0 && isupper(ch)) {
            unsigned char prev = (unsigned char)in[i - 1];
            unsigned char next = i + 1 < n ? (unsigned char)in[i + 1] : 0;

            brk = islower(prev) || isdigit(prev) || (isupper(prev) && next != 0 && islower(next));
        }
        if (o + (size_t)brk + 2 > size)
            return -1;
        if (brk)
            out[o++] = '_';
        out[o++] = (char)tolower(ch);
    }
    out[o] = '\0';
    return 0;
}

/*
 * protoc-c's lower-case symbol prefix for a message:
 * "bilheteria.v1.CreateEventResponse" -> "bilheteria__v1__create_event_response".
 * protoc-c puts an underscore before every upper-case letter but the first
 * of each dotted part. A wrong guess here fails the build, because the
 * generated code takes the address of <prefix>__descriptor.
 */
static int
gen_pb_lower(const char *full, char *out, size_t size)
{
    size_t o = 0;
    int first = 1;

    for (const char *p = full; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;

        if (ch == '.') {
            if (o + 3 > size)
                return -1;
            out[o++] = '_';
            out[o++] = '_';
            first = 1;
            continue;
        }
        if (o + 3 > size)
            return -1;
        if (isupper(ch) && !first)
            out[o++] = '_';
        out[o++] = (char)tolower(ch);
        first = 0;
    }
    out[o] = '\0';
    return 0;
}

/* protoc-c's CamelCase for one dotted part: "v1" -> "V1", "foo_bar" -> "FooBar". */
static int
gen_camel_part(const char *in, size_t n, char *out, size_t *o, size_t size)
{
    int up = 1;

    for (size_t i = 0; i < n; i++) {
        if (in[i] == '_') {
            up = 1;
            continue;
        }
        if (*o + 2 > size)
            return -1;
        out[(*o)++] = up ? (char)toupper((unsigned char)in[i]) : in[i];
        up = 0;
    }
    out[*o] = '\0';
    return 0;
}

/*
 * protoc-c's C type name of a message: "bilheteria.v1.CreateEventRequest"
 * -> "Bilheteria__V1__CreateEventRequest". Like gen_pb_lower, a wrong
 * guess fails the build rather than the program.
 */
static int
gen_pb_type(const char *full, char *out, size_t size)
{
    size_t o = 0;

    out[0] = '\0';
    for (const char *p = full;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);

        if (o > 0) {
            if (o + 3 > size)
                return -1;
            out[o++] = '_';
            out[o++] = '_';
        }
        if (gen_camel_part(p, n, out, &o, size) != 0)
            return -1;
        if (dot == NULL)
            return 0;
        p = dot + 1;
    }
}

/* One RPC, with every name the output needs. */
typedef struct gen_method {
    char full[GEN_NAME_MAX];     /* "bilheteria.v1.EventService/CreateEvent" */
    char fn[GEN_NAME_MAX];       /* "bh_event_create_event" */
    char id[GEN_NAME_MAX];       /* "EVENT_CREATE_EVENT" */
    char in_type[GEN_NAME_MAX];  /* "Bilheteria__V1__CreateEventRequest" */
    char out_type[GEN_NAME_MAX]; /* "Bilheteria__V1__CreateEventResponse" */
    char out_lower[GEN_NAME_MAX];
    const char *service; /* "bilheteria.v1.EventService", for the header's sections */
    int writes;
    int key_required;
    char roles[GEN_NAME_MAX]; /* "BH_ROLE_ADMIN | BH_ROLE_SERVICE" */
} gen_method;

/* One service, with the names of its protoc-c descriptor and header. */
typedef struct gen_service {
    char full[GEN_NAME_MAX];   /* "bilheteria.v1.EventService" */
    char lower[GEN_NAME_MAX];  /* "bilheteria__v1__event_service" */
    char header[GEN_NAME_MAX]; /* "bilheteria/v1/event.pb-c.h" */
} gen_service;

static gen_method gen_methods[GEN_FUNCS_MAX];
static size_t gen_n;
static gen_service gen_svcs[GEN_FUNCS_MAX];
static size_t gen_nsvc;

/* "bh_event_create_event" and "EVENT_CREATE_EVENT" for EventService/CreateEvent. */
static int
gen_func_name(const char *svc, const char *meth, gen_method *g)
{
    static const char suffix[] = "Service";
    char s[GEN_NAME_MAX], m[GEN_NAME_MAX];
    size_t slen = strlen(svc);
    size_t sl = sizeof(suffix) - 1;
    int n;

    if (slen > sl && strcmp(svc + slen - sl, suffix) == 0)
        slen -= sl;
    if (gen_snake(svc, slen, s, sizeof(s)) != 0 || gen_snake(meth, strlen(meth), m, sizeof(m)) != 0)
        return -1;
    n = snprintf(g->fn, sizeof(g->fn), "bh_%s_%s", s, m);
    if (n < 0 || (size_t)n >= sizeof(g->fn))
        return -1;
    for (size_t i = 3; g->fn[i] != '\0'; i++)
        g->id[i - 3] = (char)toupper((unsigned char)g->fn[i]);
    g->id[strlen(g->fn) - 3] = '\0';
    return 0;
}

static const struct gen_role {
    const char *name; /* "admin" */
    const char *id;   /* "BH_ROLE_ADMIN" */
} gen_roles[] = {
#define GEN__ROLE(id, name, bit) { name, "BH_ROLE_" #id },
    BH_ROLE_MAP(GEN__ROLE)
#undef GEN__ROLE
};
#define GEN_NROLES (sizeof(gen_roles) / sizeof(gen_roles[0]))

/* g->roles from the option's role names: each known, at least one. */
static int
gen_method_roles(gen_method *g, const Bilheteria__V1__MethodRules *r)
{
    size_t o = 0;

    if (r->n_roles == 0) {
        fprintf(stderr,
                "bh_gen: rpc %s lists no roles in its option (bilheteria.v1.method); say who "
                "may call it, e.g. roles: \"admin\"\n",
                g->full);
        return -1;
    }
    g->roles[0] = '\0';
    for (size_t i = 0; i < r->n_roles; i++) {
        size_t k = 0;
        int n;

        while (k < GEN_NROLES && strcmp(gen_roles[k].name, r->roles[i]) != 0)
            k++;
        if (k == GEN_NROLES) {
            fprintf(stderr, "bh_gen: rpc %s names role \"%s\", which is not one of", g->full,
                    r->roles[i]);
            for (k = 0; k < GEN_NROLES; k++)
                fprintf(stderr, " %s", gen_roles[k].name);
            fputs(" (bilheteria/roles.h)\n", stderr);
            return -1;
        }
        n = snprintf(g->roles + o, sizeof(g->roles) - o, "%s%s", o ? " | " : "", gen_roles[k].id);
        if (n < 0 || (size_t)n >= sizeof(g->roles) - o) {
            fprintf(stderr, "bh_gen: rpc %s lists too many roles\n", g->full);
            return -1;
        }
        o += (size_t)n;
    }
    return 0;
}

/* Reads the whole file; caller frees. NULL after printing why. */
static uint8_t *
gen_read(const char *path, size_t *len)
{
    FILE *f;
    uint8_t *buf = NULL;
    long n;

    errno = 0;
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
        goto out;
    }
    *len = (size_t)n;
out:
    if (buf == NULL)
        fprintf(stderr, "bh_gen: cannot read %s: %s\n", path, errno ? strerror(errno) : "short");
    if (f != NULL)
        fclose(f);
    return buf;
}

/*
 * The set must declare our option as field number the mirror decodes:
 * otherwise every method would read as having no rules, or as someone
 * else's.
 */
static int
gen_check_extension(const Bhgen__FileDescriptorSet *set)
{
    const ProtobufCFieldDescriptor *mirror = protobuf_c_message_descriptor_get_field_by_name(
        &bhgen__method_options__descriptor, "method");

    for (size_t i = 0; i < set->n_file; i++) {
        const Bhgen__FileDescriptorProto *f = set->file[i];

        for (size_t j = 0; j < f->n_extension; j++) {
            const Bhgen__FieldDescriptorProto *x = f->extension[j];

            if (x->extendee == NULL || strcmp(x->extendee, ".google.protobuf.MethodOptions") != 0 ||
                x->type_name == NULL || strcmp(x->type_name, ".bilheteria.v1.MethodRules") != 0)
                continue;
            if (x->has_number && (uint32_t)x->number == mirror->id)
                return 0;
            fprintf(stderr,
                    "bh_gen: %s extends MethodOptions with field %d; tools/gen/descset.proto "
                    "reads %u: make them agree\n",
                    f->name, x->number, mirror->id);
            return -1;
        }
    }
    fprintf(stderr, "bh_gen: no file in the set extends MethodOptions with MethodRules "
                    "(was bilheteria/v1/options.proto imported and --include_imports given?)\n");
    return -1;
}

/*
 * Records service svc of that file (package pkg): its full name, the
 * prefix of protoc-c's descriptor and the header protoc-c writes for the file.
 */
static gen_service *
gen_add_service(const char *file, const char *pkg, const char *svc)
{
    static const char ext[] = ".proto";
    gen_service *sv;
    size_t flen = strlen(file), el = sizeof(ext) - 1;
    int n;

    if (gen_nsvc == GEN_FUNCS_MAX) {
        fprintf(stderr, "bh_gen: more than %d services\n", GEN_FUNCS_MAX);
        return NULL;
    }
    sv = &gen_svcs[gen_nsvc];
    if (flen <= el || strcmp(file + flen - el, ext) != 0) {
        fprintf(stderr, "bh_gen: %s (of service %s) does not end in %s\n", file, svc, ext);
        return NULL;
    }
    n = snprintf(sv->full, sizeof(sv->full), "%s%s%s", pkg, *pkg ? "." : "", svc);
    if (n < 0 || (size_t)n >= sizeof(sv->full) ||
        gen_pb_lower(sv->full, sv->lower, sizeof(sv->lower)) != 0)
        goto bad;
    n = snprintf(sv->header, sizeof(sv->header), "%.*s.pb-c.h", (int)(flen - el), file);
    if (n < 0 || (size_t)n >= sizeof(sv->header))
        goto bad;
    gen_nsvc++;
    return sv;
bad:
    fprintf(stderr, "bh_gen: bad or too long names in service %s of %s\n", svc, file);
    return NULL;
}

static int
gen_add(const gen_service *sv, const char *svc, const Bhgen__MethodDescriptorProto *md)
{
    gen_method *g;
    int n;

    if (gen_n == GEN_FUNCS_MAX) {
        fprintf(stderr, "bh_gen: more than %d methods\n", GEN_FUNCS_MAX);
        return -1;
    }
    g = &gen_methods[gen_n];
    if (md->name == NULL || md->input_type == NULL || md->output_type == NULL ||
        md->input_type[0] != '.' || md->output_type[0] != '.')
        goto bad;
    n = snprintf(g->full, sizeof(g->full), "%s/%s", sv->full, md->name);
    if (n < 0 || (size_t)n >= sizeof(g->full) || gen_func_name(svc, md->name, g) != 0 ||
        gen_pb_type(md->input_type + 1, g->in_type, sizeof(g->in_type)) != 0 ||
        gen_pb_type(md->output_type + 1, g->out_type, sizeof(g->out_type)) != 0 ||
        gen_pb_lower(md->output_type + 1, g->out_lower, sizeof(g->out_lower)) != 0)
        goto bad;
    if (md->options == NULL || md->options->method == NULL) {
        fprintf(stderr,
                "bh_gen: rpc %s has no option (bilheteria.v1.method); give it one, "
                "`= {}` for a read\n",
                g->full);
        return -1;
    }
    g->writes = md->options->method->writes;
    g->key_required = md->options->method->idempotency_key_required;
    if (g->key_required && !g->writes) {
        fprintf(stderr, "bh_gen: rpc %s requires an idempotency key but does not write\n", g->full);
        return -1;
    }
    if (gen_method_roles(g, md->options->method) != 0)
        return -1;
    for (size_t k = 0; k < gen_n; k++) {
        if (strcmp(gen_methods[k].fn, g->fn) == 0) {
            fprintf(stderr, "bh_gen: %s would be generated twice (second time for %s)\n", g->fn,
                    g->full);
            return -1;
        }
    }
    g->service = sv->full;
    gen_n++;
    return 0;
bad:
    fprintf(stderr, "bh_gen: bad or too long names in %s/%s\n", svc,
            md->name != NULL ? md->name : "?");
    return -1;
}

/* Fills gen_methods from the set at path. */
static int
gen_load(const char *path)
{
    Bhgen__FileDescriptorSet *set = NULL;
    size_t len = 0;
    uint8_t *buf = gen_read(path, &len);
    int rc = -1;

    if (buf == NULL)
        return -1;
    set = bhgen__file_descriptor_set__unpack(NULL, len, buf);
    if (set == NULL) {
        fprintf(stderr, "bh_gen: %s is not a FileDescriptorSet\n", path);
        goto out;
    }
    if (gen_check_extension(set) != 0)
        goto out;
    for (size_t i = 0; i < set->n_file; i++) {
        const Bhgen__FileDescriptorProto *f = set->file[i];

        for (size_t j = 0; j < f->n_service; j++) {
            const Bhgen__ServiceDescriptorProto *s = f->service[j];
            const gen_service *sv;

            if (f->name == NULL || s->name == NULL) {
                fprintf(stderr, "bh_gen: %s has a file or service without a name\n", path);
                goto out;
            }
            sv = gen_add_service(f->name, f->package != NULL ? f->package : "", s->name);
            if (sv == NULL)
                goto out;
            for (size_t k = 0; k < s->n_method; k++)
                if (gen_add(sv, s->name, s->method[k]) != 0)
                    goto out;
        }
    }
    if (gen_n == 0) {
        fprintf(stderr, "bh_gen: %s has no service with an rpc\n", path);
        goto out;
    }
    rc = 0;
out:
    bhgen__file_descriptor_set__free_unpacked(set, NULL);
    free(buf);
    return rc;
}

static const char gen_banner[] =
    "/*\n"
    " * Generated by tools/gen/bh_gen from the services in proto/bilheteria/v1\n"
    " * (their rules: option (bilheteria.v1.method)). Do not edit.\n"
    " */\n";

/* A new section comment when the service changes. */
static void
gen_section(FILE *f, size_t i)
{
    if (i == 0 || strcmp(gen_methods[i - 1].service, gen_methods[i].service) != 0)
        fprintf(f, "\n/* ---- %s ---- */\n", gen_methods[i].service);
}

static void
gen_methods_h(FILE **out)
{
    FILE *h = out[0];

    fputs(gen_banner, h);
    fputs("#ifndef BILHETERIA_BH_METHODS_H\n"
          "#define BILHETERIA_BH_METHODS_H\n"
          "\n"
          "#include \"bilheteria/roles.h\"\n"
          "\n"
          "/*\n"
          " * Every RPC, in .proto order, as\n"
          " *   X(ID, \"full name\", typed function, request type, response type,\n"
          " *     writes, idempotency_key_required)\n"
          " * writes: the call changes the store (the server runs it on its\n"
          " * writer and keeps its answer under the idempotency key, if sent).\n"
          " * idempotency_key_required: a call without a key is refused.\n"
          " * The typed functions are libbilheteria's (bilheteria_api.h).\n"
          " */\n"
          "#define BH_METHOD_MAP(X) \\\n",
          h);
    for (size_t i = 0; i < gen_n; i++) {
        const gen_method *g = &gen_methods[i];

        fprintf(h, "    X(%s, \"%s\", %s, %s, %s, %d, %d)%s\n", g->id, g->full, g->fn, g->in_type,
                g->out_type, g->writes, g->key_required, i + 1 < gen_n ? " \\" : "");
    }
    fputs("\n/* Full names, for tables keyed by name. */\n", h);
    for (size_t i = 0; i < gen_n; i++)
        fprintf(h, "#define BH_METHOD_NAME_%s \"%s\"\n", gen_methods[i].id, gen_methods[i].full);
    fputs("\n/* Who may call each (bilheteria/roles.h). */\n", h);
    for (size_t i = 0; i < gen_n; i++)
        fprintf(h, "#define BH_METHOD_ROLES_%s (%s)\n", gen_methods[i].id, gen_methods[i].roles);
    fputs("\n/* Method ids: BH_METHOD_<SERVICE>_<METHOD>, 0..BH_METHOD_COUNT-1. */\n"
          "enum bh_method_id {\n",
          h);
    for (size_t i = 0; i < gen_n; i++)
        fprintf(h, "    BH_METHOD_%s,\n", gen_methods[i].id);
    fputs("    BH_METHOD_COUNT\n"
          "};\n"
          "\n"
          "/*\n"
          " * Every service, in .proto order, as X(prefix) where\n"
          " * prefix##__descriptor is its ProtobufCServiceDescriptor\n"
          " * (headers: bilheteria/bh_services_gen.h).\n"
          " */\n"
          "#define BH_SERVICE_MAP(X) \\\n",
          h);
    for (size_t i = 0; i < gen_nsvc; i++)
        fprintf(h, "    X(%s)%s\n", gen_svcs[i].lower, i + 1 < gen_nsvc ? " \\" : "");
    fputs("\n#endif\n", h);
}

/* The header of every file with a service, each once. */
static void
gen_services_h(FILE **out)
{
    FILE *h = out[0];

    fputs(gen_banner, h);
    fputs("#ifndef BILHETERIA_BH_SERVICES_GEN_H\n"
          "#define BILHETERIA_BH_SERVICES_GEN_H\n"
          "\n"
          "/* protoc-c's header of every .proto file with a service. */\n",
          h);
    for (size_t i = 0; i < gen_nsvc; i++) {
        size_t k = 0;

        while (k < i && strcmp(gen_svcs[k].header, gen_svcs[i].header) != 0)
            k++;
        if (k == i)
            fprintf(h, "#include \"%s\"\n", gen_svcs[i].header);
    }
    fputs("\n#endif\n", h);
}

static void
gen_api(FILE **out)
{
    FILE *h = out[0], *c = out[1];

    fputs(gen_banner, h);
    fputs("#ifndef BILHETERIA_API_H\n"
          "#define BILHETERIA_API_H\n"
          "\n"
          "#include \"bilheteria/bilheteria.h\"\n"
          "\n"
          "#ifdef __cplusplus\n"
          "extern \"C\" {\n"
          "#endif\n"
          "\n"
          "/*\n"
          " * One function per RPC. Each sends *req to the method named in its\n"
          " * comment and, on BH_OK, sets *resp to the unpacked answer, which\n"
          " * the caller frees with the function named there. On any other\n"
          " * code *resp is left untouched and *st (if not NULL) says what was\n"
          " * wrong. opts may be NULL. Return codes, deadlines, idempotency\n"
          " * keys and thread-safety are those of bh_call.\n"
          " */\n",
          h);
    fputs(gen_banner, c);
    fputs("#include \"bilheteria/bilheteria.h\"\n", c);
    for (size_t i = 0; i < gen_n; i++) {
        const gen_method *g = &gen_methods[i];

        gen_section(h, i);
        fprintf(h,
                "\n"
                "/*\n"
                " * %s\n"
                " * On BH_OK *resp is set; caller frees with\n"
                " * %s__free_unpacked(*resp, NULL),\n"
                " * unless opts->arena holds it (see bh_arena).\n"
                " */\n"
                "int %s(bh_client *c, const %s *req,\n"
                "    %s **resp, const bh_call_opts *opts, bh_status *st);\n",
                g->full, g->out_lower, g->fn, g->in_type, g->out_type);
        fprintf(c,
                "\n"
                "int\n"
                "%s(bh_client *c, const %s *req,\n"
                "    %s **resp, const bh_call_opts *opts, bh_status *st)\n"
                "{\n"
                "    ProtobufCMessage *m = NULL;\n"
                "    int rc;\n"
                "\n"
                "    rc = bh_call(c, \"%s\", (const ProtobufCMessage *)req,\n"
                "                 &%s__descriptor,\n"
                "                 resp != NULL ? &m : NULL, opts, st);\n"
                "    if (rc == BH_OK)\n"
                "        *resp = (%s *)m;\n"
                "    return rc;\n"
                "}\n",
                g->fn, g->in_type, g->out_type, g->full, g->out_lower, g->out_type);
    }
    fputs("\n"
          "#ifdef __cplusplus\n"
          "}\n"
          "#endif\n"
          "\n"
          "#endif\n",
          h);
}

/* Closes f; -1 if any write to it failed. */
static int
gen_close(FILE *f)
{
    int bad = ferror(f);

    return (fclose(f) != 0 || bad) ? -1 : 0;
}

static const struct gen_mode {
    const char *name;
    const char *outputs; /* for the usage line */
    int nout;
    void (*write)(FILE **out); /* the outputs, opened, in order */
} gen_modes[] = {
    { "methods", "<bh_methods.h>", 1, gen_methods_h },
    { "services", "<bh_services_gen.h>", 1, gen_services_h },
    { "api", "<bilheteria_api.h> <bilheteria_api.c>", 2, gen_api },
};
#define GEN_NMODES  (sizeof(gen_modes) / sizeof(gen_modes[0]))
#define GEN_OUT_MAX 2

static void
gen_usage(FILE *f, const char *argv0)
{
    for (size_t i = 0; i < GEN_NMODES; i++)
        fprintf(f, "%s %s %s <descriptor set> %s\n", i == 0 ? "usage:" : "      ", argv0,
                gen_modes[i].name, gen_modes[i].outputs);
}

int
main(int argc, char **argv)
{
    FILE *out[GEN_OUT_MAX] = { NULL, NULL };
    const struct gen_mode *mode = NULL;
    int nout, rc = 1;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        gen_usage(stdout, argv[0]);
        printf("\nWrites the C that follows from the .proto files' services (the method\n"
               "map with each method's rules, the services' headers, or libbilheteria's\n"
               "typed call per RPC), from the FileDescriptorSet of protoc-c\n"
               "--descriptor_set_out --include_imports. Run by the build.\n");
        return 0;
    }
    for (size_t i = 0; argc >= 2 && i < GEN_NMODES; i++)
        if (strcmp(argv[1], gen_modes[i].name) == 0 && argc == 3 + gen_modes[i].nout)
            mode = &gen_modes[i];
    if (mode == NULL) {
        gen_usage(stderr, argv[0]);
        return 2;
    }
    nout = mode->nout;
    if (gen_load(argv[2]) != 0)
        return 1;
    for (int i = 0; i < nout; i++) {
        out[i] = fopen(argv[3 + i], "w");
        if (out[i] == NULL) {
            perror(argv[3 + i]);
            goto out;
        }
    }
    mode->write(out);
    rc = 0;
out:
    for (int i = 0; i < nout; i++) {
        if (out[i] != NULL && gen_close(out[i]) != 0) {
            perror(argv[3 + i]);
            rc = 1;
        }
    }
    if (rc != 0) {
        /* Never leave a half-written file for the build to pick up. */
        for (int i = 0; i < nout; i++)
            remove(argv[3 + i]);
    }
    return rc;
}
