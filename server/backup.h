/* SPDX-License-Identifier: Apache-2.0 */
/* The offline backup command, `bilheteria-server backup` (backup.c). */
#ifndef BH_BACKUP_H
#define BH_BACKUP_H

/*
 * bilheteria-server backup --data-dir DIR --out PATH: a compacted copy of
 * a stopped server's data directory as the new data directory PATH
 * (store_backup). argv[0] is "backup". Prints the copy's path, size and
 * duration on stdout; returns the exit status: 0, 1 (the copy failed, or
 * DIR holds no data or is in use by a running server), 2 (usage).
 */
int srv_backup_main(int argc, char **argv);

#endif
