/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bilheteria describe SERVICE|METHOD|MESSAGE
 *
 * What grpcurl's describe prints, from the compiled protobuf-c descriptors
 * (no reflection service): a service's rpcs, a method's input and output
 * and its rules (from the .proto's bilheteria.v1.method option), a
 * message's fields with labels, types and numbers, an enum's values.
 */
#include <stdio.h>
#include <string.h>

#include "bilheteria/roles.h"
#include "cli.h"

static const char *
cli__type_name(const ProtobufCFieldDescriptor *fd, char *buf, size_t size)
{
    static const char *const scalar[] = {
        [PROTOBUF_C_TYPE_INT32] = "int32",       [PROTOBUF_C_TYPE_SINT32] = "sint32",
        [PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
        [PROTOBUF_C_TYPE_SINT64] = "sint64",     [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
        [PROTOBUF_C_TYPE_UINT32] = "uint32",     [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
        [PROTOBUF_C_TYPE_UINT64] = "uint64",     [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
        [PROTOBUF_C_TYPE_FLOAT] = "float",       [PROTOBUF_C_TYPE_DOUBLE] = "double",
        [PROTOBUF_C_TYPE_BOOL] = "bool",         [PROTOBUF_C_TYPE_STRING] = "string",
        [PROTOBUF_C_TYPE_BYTES] = "bytes",
    };

    if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
        snprintf(buf, size, ".%s", ((const ProtobufCMessageDescriptor *)fd->descriptor)->name);
    else if (fd->type == PROTOBUF_C_TYPE_ENUM)
        snprintf(buf, size, ".%s", ((const ProtobufCEnumDescriptor *)fd->descriptor)->name);
    else
        snprintf(buf, size, "%s", scalar[fd->type]);
    return buf;
}

static void
cli__rpc(const ProtobufCMethodDescriptor *m, const char *indent)
{
    printf("%srpc %s ( .%s ) returns ( .%s );\n", indent, m->name, m->input->name, m->output->name);
}

/* A method's rules as the server applies them. */
static void
cli__rules(const char *full)
{
    const bh_method_rules *r = bh_find_method_rules(full);
    char roles[64];

    if (r == NULL)
        return;
    printf("  writes: %s\n", r->writes ? "yes" : "no");
    printf("  idempotency key: %s\n", r->idempotency_key_required ? "required"
                                      : r->writes                 ? "optional"
                                                                  : "not taken");
    bh_roles_format(r->roles, roles, sizeof(roles));
    printf("  roles: %s\n", roles[0] != '\0' ? roles : "none");
}

static void
cli__message(const ProtobufCMessageDescriptor *md)
{
    char type[BH_METHOD_NAME_MAX];
    unsigned i;

    printf("%s is a message:\nmessage %s {\n", md->name, md->short_name);
    for (i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &md->fields[i];
        const char *label = fd->label == PROTOBUF_C_LABEL_REPEATED   ? "repeated "
                            : fd->label == PROTOBUF_C_LABEL_REQUIRED ? "required "
                            : fd->label == PROTOBUF_C_LABEL_OPTIONAL ? "optional "
                                                                     : "";
        printf("  %s%s %s = %u;%s\n", label, cli__type_name(fd, type, sizeof(type)), fd->name,
               fd->id, (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? " // in a oneof" : "");
    }
    printf("}\n");
}

static void
cli__enum(const ProtobufCEnumDescriptor *ed)
{
    unsigned i;

    printf("%s is an enum:\nenum %s {\n", ed->name, ed->short_name);
    for (i = 0; i < ed->n_values; i++)
        printf("  %s = %d;\n", ed->values[i].name, ed->values[i].value);
    printf("}\n");
}

int
cli_cmd_describe(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *name = NULL;
    struct bh__opt opts[] = {
        { NULL, "NAME", BH__OPT_STR, BH__OPT_REQUIRED, &name,
          "a service (bilheteria.v1.EventService or EventService), a method (any form "
          "call takes) or a message or enum (bilheteria.v1.Event or Event)" },
    };
    const ProtobufCServiceDescriptor *sd;
    const ProtobufCMethodDescriptor *m;
    const ProtobufCMessageDescriptor *md;
    const ProtobufCEnumDescriptor *ed;
    char full[BH_METHOD_NAME_MAX];
    unsigned i;
    int rc;

    (void)cli;
    if (cli_parse_args(cmd, opts, CLI_NOPTS(opts), argc, argv, &rc) != BH__PARSE_OK)
        return rc;
    if ((sd = cli_find_service(name)) != NULL) {
        printf("%s is a service:\nservice %s {\n", sd->name, sd->short_name);
        for (i = 0; i < sd->n_methods; i++)
            cli__rpc(&sd->methods[i], "  ");
        printf("}\n");
    } else if ((m = cli_find_method(name, &sd, full)) != NULL) {
        printf("%s.%s is a method:\n", sd->name, m->name);
        cli__rpc(m, "");
        cli__rules(full);
    } else if ((md = cli_find_message(name)) != NULL) {
        cli__message(md);
    } else if ((ed = cli_find_enum(name)) != NULL) {
        cli__enum(ed);
    } else {
        return cli_no_such(cmd, "NAME", "service, method, message or enum", name);
    }
    return CLI_EXIT_OK;
}
