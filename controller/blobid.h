/* SPDX-License-Identifier: PostgreSQL */
/*
 * blobid.h — git's object id of a blob, SHA-1 over "blob <size>\0" and
 * the content, computed with Nettle: the id `git hash-object` prints
 * for a file and the one a tree lists for it. A directory source names
 * its files by the same ids as a repository, and nothing that only
 * hashes needs libgit2 (whose initialisation parses the system's
 * certificate bundle).
 */
#ifndef DBOPS_CTRL_BLOBID_H
#define DBOPS_CTRL_BLOBID_H

#include <stddef.h>

#include "arena.h"

#define BLOBID_RAWSZ 20
#define BLOBID_HEXSZ 40

/* The raw id of `data`. */
void blobid_raw(unsigned char out[BLOBID_RAWSZ], const void *data, size_t len);
/* The id as 40 lower-case hex digits, in `a`. */
const char *blobid_hex(struct arena *a, const void *data, size_t len);
/* Raw bytes as lower-case hex, NUL-terminated; `out` holds 2n+1. */
void blobid_tohex(char *out, const unsigned char *raw, size_t n);

#endif
