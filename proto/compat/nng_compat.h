/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workarounds for bugs of nng, in one place. Each function names the bug it
 * works around and its upstream issue; nng_compat.c compiles the workaround
 * only for the nng versions that have the bug, and the plain nng call for
 * the others. Not part of libbilheteria's public API.
 */
#ifndef BH_NNG_COMPAT_H
#define BH_NNG_COMPAT_H

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

/* Which of nng's bugs the nng we build against has (1) or not (0); the
 * tests read these too. */
#define BH_NNG_VERSION                     (NNG_MAJOR_VERSION * 10000 + NNG_MINOR_VERSION * 100 + NNG_PATCH_VERSION)
#define BH_NNG_BEFORE(major, minor, patch) (BH_NNG_VERSION < (major)*10000 + (minor)*100 + (patch))

/* nng_close can deadlock for good when an answer lands on a pipe, or a
 * context is being closed, while the socket closes: nng issues #1543 and
 * #1813 (seen here in about 1 of 20 stress runs). Fixed in nng 1.9.0 by
 * aac4dc36 ("fix deadlock on socket close") and 3a94e22d ("fixes #1827";
 * #1827 repeats #1813's report and reproducer). */
#define BH_NNG_CLOSE_CAN_HANG BH_NNG_BEFORE(1, 9, 0)

/* nng's expire thread can run a context's cancel callback after the
 * operation ended (req0_ctx_cancel_recv, on an aio whose deadline fired as
 * its answer landed): on a context nng_ctx_close or nng_close has freed, a
 * use after free that crashed or hung clients within a second of 1-3 ms
 * deadlines; on a context reused at once, a spurious NNG_ETIMEDOUT. No
 * upstream issue names it; the nearest is #1523 (the same cancel/finish
 * race in sub0, whose fix nng 1.6.0 also applied to req0, c2b3b332). Fixed
 * release unknown: guarded to at most 1.5.2. */
#define BH_NNG_CTX_EXPIRE_RACE BH_NNG_BEFORE(1, 5, 3)

/* A pipe closed while it resubmits a partial write loses that message
 * (ipc_pipe_send_cb's nng_stream_send on a stopped aio finishes nothing),
 * and the reaper thread then waits for that send for good: no pipe is
 * freed after it and nng_close hangs (seen with gdb on a debug build of
 * v1.5.2; closing a connection the moment its answers backed up hit it in
 * 3 runs of 3). No upstream issue found; fixed release unknown: guarded to
 * at most 1.5.2. So the server closes a connection only once its answers
 * have stood still for the send deadline, or it has been idle (the write
 * has then stopped). Where this is fixed, a connection that falls behind
 * could be closed at once instead. */
#define BH_NNG_PIPE_CLOSE_LOSES_SEND BH_NNG_BEFORE(1, 5, 3)

/* A TLS listener's accept reads its configuration without its lock and
 * takes a hold on it only later (tls_listener_accept then tls_alloc, in
 * src/supplemental/tls/tls_common.c), so replacing the configuration of a
 * started listener (NNG_OPT_TLS_CONFIG) can free the old one under an
 * accept in progress. No upstream issue found; the sources of 1.10.1 still
 * read it so: guarded to before 1.10.2. So the server keeps its own hold on the
 * configuration it replaced until the next replacement. */
#define BH_NNG_TLS_CONFIG_SWAP_RACE BH_NNG_BEFORE(1, 10, 2)

/* A connection that closes in the middle of the SP handshake hands the
 * listener NNG_ECLOSED, which it takes for its own closing: from then on
 * it still accepts connections and even completes their handshakes, but
 * never hands them to the socket, so every later connection waits
 * unanswered while those already open go on (nng issue #1518,
 * "Disconnect during negotiation breaks listener"; fixed by 9248ed74, in
 * 1.6.0). On an ipc:// listener any connect-and-close does it, every time
 * (a raw AF_UNIX connect and close, here); a tcp:// one did not break that
 * way in a quick try. First seen with a CLI that connected, then refused a
 * bad --traceparent and exited. The server's listeners' watchdog
 * (listen.c) works around it: it completes a handshake with each ipc:// and
 * tcp:// listener every second and opens again one that did not hand that
 * connection to the socket (three times in a row); the CLI also checks what it
 * can before it connects. tls+tcp:// listeners are not watched. */
#define BH_NNG_HANDSHAKE_DROP_STOPS_LISTENER BH_NNG_BEFORE(1, 6, 0)

/*
 * Sets what every REQ socket of ours needs before its first context is
 * opened (contexts copy it): never resend a request. nng's REQ resends a
 * request whose answer is late, and again on a new connection when the old
 * one drops; either could apply a mutating call twice. With an infinite
 * resend time the receive fails with NNG_ECONNRESET when the pipe closes.
 * Returns 0 or an NNG_ error.
 */
int bh_nng_req_never_resend(nng_socket s);

/*
 * Runs fn(arg) and waits at most wait_ms for it to return (nng_close can
 * hang for good: nng issues #1543, #1813). Returns 0 once fn has returned,
 * or NNG_ETIMEDOUT if it still runs: it then goes on, on a thread of its
 * own, and arg belongs to it. Where the bug is fixed, fn runs on the
 * caller's thread and 0 is returned.
 */
int bh_nng_run_bounded(void (*fn)(void *), void *arg, int wait_ms);

/*
 * Called before closing a REQ socket with last_timeout, the nng_clock() of
 * its last call that timed out while connected (0 for none): sleeps until
 * that call's answer, still on its way, has had time to land, since an
 * answer arriving during nng_close can deadlock it (#1543, #1813). Returns
 * at once where the bug is fixed, or after no such timeout.
 */
void bh_nng_close_settle(nng_time last_timeout);

/*
 * Closes s. drain(arg) (if not NULL) must end every operation on s's
 * contexts and wait for their callbacks, and have them start no new one:
 * with nng 1.5.2 it runs before nng_close, since closing a socket under
 * its contexts' operations can crash or hang it; with a fixed nng after.
 */
void bh_nng_close_drained(nng_socket s, void (*drain)(void *), void *arg);

/*
 * Whether a context (and its aio) whose exchange took elapsed_ms of a
 * timeout_ms deadline may be used for another exchange: in nng 1.5.2 the
 * aio's expiry may still be under way when it ends this close to its
 * deadline, and would cancel the next operation on it at once.
 */
int bh_nng_ctx_reusable(nng_duration elapsed_ms, nng_duration timeout_ms);

/*
 * Frees aio and closes ctx, the context it was used with, in the order
 * that nng 1.5.2 needs (the aio first: see nng_compat.c).
 */
void bh_nng_ctx_free(nng_ctx ctx, nng_aio *aio);

/* The version of the nng headers we were built with ("1.5.2"): static,
 * for --version. */
const char *bh_nng_version(void);

#endif
