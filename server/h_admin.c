/* SPDX-License-Identifier: Apache-2.0 */
/* AdminService: operations on the server itself. Backup runs on a thread
 * of its own (srv_impl.alone): a copy takes as long as the data is big. */
#include <stdatomic.h>
#include <string.h>

#include "util.h"

/* One backup at a time: two would only compete for the same disk. */
static atomic_int backup_running;

/* The status of a failed store_backup. */
static int
backup_code(int rc)
{
    switch (rc) {
    case STORE_EXISTS: return BILHETERIA__V1__STATUS_CODE__ALREADY_EXISTS;
    case STORE_INVALID: return SRV_E_INVALID;
    /* The path's fault (no parent, no permission), or the room there. */
    case STORE_IO: return SRV_E_PRECOND;
    case STORE_NOSPC:
    case STORE_QUOTA:
    case STORE_NOMEM: return SRV_E_NOMEM;
    case STORE_NOMAP: return BILHETERIA__V1__STATUS_CODE__UNAVAILABLE;
    default: return BILHETERIA__V1__STATUS_CODE__INTERNAL;
    }
}

static int
backup(srv_call *c, store *s)
{
    const Bilheteria__V1__BackupRequest *rq = (const Bilheteria__V1__BackupRequest *)c->req;
    store_backup_info info;
    char err[SRV_MSG_MAX - 64];

    if (rq->out_path[0] != '/')
        return srv_fail(c, SRV_E_INVALID,
                        "out_path \"%.200s\" is not an absolute path (the copy is made on the "
                        "server's file system)",
                        rq->out_path);
    Bilheteria__V1__BackupResponse *resp =
        SRV_NEW(c, Bilheteria__V1__BackupResponse, bilheteria__v1__backup_response);
    if (resp == NULL)
        return srv_fail(c, SRV_E_NOMEM, "out of memory");
    if (atomic_exchange(&backup_running, 1))
        return srv_fail(c, SRV_E_PRECOND, "another backup is running; try again when it has ended");
    int rc = store_backup(s, rq->out_path, &info, err, sizeof(err));
    atomic_store(&backup_running, 0);
    if (rc != STORE_OK)
        return srv_fail(c, backup_code(rc), "backup: %s", err);
    resp->path = rq->out_path; /* in the arena, like the request */
    resp->bytes = info.bytes;
    resp->duration_ms = info.duration_ms;
    resp->last_txnid = info.last_txnid;
    c->resp = &resp->base;
    return 0;
}

const srv_impl srv_admin_impls[] = {
    { .method = BH_METHOD_NAME_ADMIN_BACKUP, .alone = backup },
    { .method = NULL },
};
