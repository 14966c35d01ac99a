/* SPDX-License-Identifier: PostgreSQL */
/*
 * abi.h — version numbers, the export macro and the frozen header that
 * starts every versioned structure crossing the plugin boundary.
 *
 * Evolution rules (read before touching any include/dbops header):
 *  - members of a versioned struct are only ever appended, never reordered
 *    or removed; appending bumps DBOPS_ABI_MINOR and the member's comment
 *    names the minor that added it;
 *  - changing a meaning or a signature bumps DBOPS_ABI_MAJOR;
 *  - struct layouts never depend on build options;
 *  - a host refuses a plugin built for another major or a newer minor, and
 *    treats members past the plugin's `size` as absent (NULL / 0).
 */
#ifndef DBOPS_ABI_H
#define DBOPS_ABI_H

#include <stdint.h>

#define DBOPS_ABI_MAGIC 0x44424f50u /* "DBOP" */
#define DBOPS_ABI_MAJOR 1
#define DBOPS_ABI_MINOR 3

/* The one symbol a plugin exports; see plugin.h for its signature. */
#define DBOPS_PLUGIN_ENTRY_SYMBOL "dbops_plugin_entry"

#define DBOPS_PLUGIN_EXPORT __attribute__((visibility("default")))

#if defined(__GNUC__)
#define DBOPS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define DBOPS_MUST_CHECK	__attribute__((warn_unused_result))
#else
#define DBOPS_PRINTF(fmt, args)
#define DBOPS_MUST_CHECK
#endif

/*
 * The frozen header. It starts the plugin descriptor and the host table and
 * will never change. `size` is sizeof the whole structure as the other side
 * compiled it.
 */
struct dbops_abi_header {
	uint32_t magic; /* DBOPS_ABI_MAGIC */
	uint16_t major; /* DBOPS_ABI_MAJOR at build time */
	uint16_t minor; /* DBOPS_ABI_MINOR at build time */
	uint32_t size;	/* sizeof the enclosing struct */
	uint32_t reserved;
};

#define DBOPS_ABI_HEADER_INIT(type)                                            \
	{                                                                      \
		DBOPS_ABI_MAGIC, DBOPS_ABI_MAJOR, DBOPS_ABI_MINOR,             \
		    (uint32_t)sizeof(type), 0                                  \
	}

#endif
