/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The status codes of the wire, one list: gRPC's codes, as enum StatusCode
 * in proto/bilheteria/v1/rpc.proto carries them. X(number, NAME) per code,
 * in the style of libuv's UV_ERRNO_MAP:
 *
 *   #define NAME_OF(n, name) [n] = #name,
 *   static const char *const names[] = { BH_STATUS_MAP(NAME_OF) };
 *
 * client/bh.c takes bh_code_name's names from it and checks, at compile
 * time, that the library's BH_<NAME> and the .proto's values agree with it.
 */
#ifndef BILHETERIA_STATUS_H
#define BILHETERIA_STATUS_H

#define BH_STATUS_MAP(X)                                                                           \
    X(0, OK)                                                                                       \
    X(1, CANCELLED)                                                                                \
    X(2, UNKNOWN)                                                                                  \
    X(3, INVALID_ARGUMENT)                                                                         \
    X(4, DEADLINE_EXCEEDED)                                                                        \
    X(5, NOT_FOUND)                                                                                \
    X(6, ALREADY_EXISTS)                                                                           \
    X(7, PERMISSION_DENIED)                                                                        \
    X(8, RESOURCE_EXHAUSTED)                                                                       \
    X(9, FAILED_PRECONDITION)                                                                      \
    X(10, ABORTED)                                                                                 \
    X(11, OUT_OF_RANGE)                                                                            \
    X(12, UNIMPLEMENTED)                                                                           \
    X(13, INTERNAL)                                                                                \
    X(14, UNAVAILABLE)                                                                             \
    X(15, DATA_LOSS)                                                                               \
    X(16, UNAUTHENTICATED)

#endif
