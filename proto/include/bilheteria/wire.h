/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wire contract of Bilheteria: the facts the server, libbilheteria and
 * the CLI must agree on, written once. Installed with the client headers.
 *
 * Every limit is inclusive and counts bytes for strings. A request beyond
 * one is refused by the server with INVALID_ARGUMENT; the library and the
 * CLI check the same limits first where they can.
 */
#ifndef BILHETERIA_WIRE_H
#define BILHETERIA_WIRE_H

#include "bilheteria/version.h" /* BH_VERSION, from CMake's project(VERSION) */

/* Where the server listens, and the client dials, when told nothing else. */
#define BH_DEFAULT_URL "tcp://127.0.0.1:7450"

/* RequestEnvelope.idempotency_key: 1..255 bytes when given. */
#define BH_IDEMPOTENCY_KEY_MAX 255
/* RequestEnvelope.auth_token: a service token or an OpenID Connect JWT
 * (Cognito's are about 1 KiB; room for many more claims). */
#define BH_AUTH_TOKEN_MAX 8192
/* user_id of a reservation: 1..128 bytes. */
#define BH_USER_ID_MAX 128
/* ConfirmPaymentRequest.provider_ref: 0..255 bytes. */
#define BH_PROVIDER_REF_MAX 255
/* The reason of a refund or of a session's cancellation: 0..500 bytes. */
#define BH_REASON_MAX 500

/* Paged lists: page_size 0 means the default; above the maximum is refused. */
#define BH_PAGE_SIZE_DEFAULT 50
#define BH_PAGE_SIZE_MAX     500

/* A session's room: rows are labelled A..Z, AA..YZ (676 rows), seats are
 * numbered from 1. */
#define BH_ROWS_MAX          676
#define BH_SEATS_PER_ROW_MAX 1000
/* The most seats one reservation may hold (the server's --max-seats is at
 * most this). */
#define BH_RESERVATION_SEATS_MAX 1000
/* Add-on lines per reservation, and the quantity of one line. */
#define BH_RESERVATION_ITEMS_MAX 20
#define BH_ITEM_QUANTITY_MAX     1000
/* Coupon codes: 1..32 of [A-Z0-9_-] (case-insensitive, kept upper-case);
 * a product combo lists at most this many products. */
#define BH_COUPON_CODE_MAX 32
#define BH_COMBO_ITEMS_MAX 8

/* RequestEnvelope.traceparent: W3C trace context version 00,
 * "00-" 32 hex "-" 16 hex "-" 2 hex; empty = none. */
#define BH_TRACEPARENT_LEN 55

#endif
