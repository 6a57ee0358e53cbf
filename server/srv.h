/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal umbrella header of the server: it only includes the per-module
 * headers (as nng's src/core/nng_impl.h does).
 */
#ifndef BH_SRV_H
#define BH_SRV_H

#include "authz.h"
#include "backup.h"
#include "call.h"
#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "listen.h"
#include "pick.h"
#include "request.h"
#include "resv.h"
#include "seatcache.h"
#include "util.h"
#include "writer.h"

#endif
