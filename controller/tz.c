/* SPDX-License-Identifier: PostgreSQL */
/*
 * tz.c — TZif files (RFC 8536), versions 1 to 4: the 64-bit block when
 * there is one, else the 32-bit block; leap seconds are ignored (the
 * "right/" zones are not for this). See tz.h.
 */
#include "tz.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbops/diag.h"

#define TZ_MAX_FILE (256 * 1024)

struct tz {
	size_t n;	 /* transitions */
	int64_t *at;	 /* transition times, ascending */
	int32_t *offset; /* the offset from at[i] on */
	int32_t initial; /* before the first transition */
};

static uint32_t tz_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t tz_i64(const unsigned char *p)
{
	return (int64_t)((uint64_t)tz_u32(p) << 32 | tz_u32(p + 4));
}

struct tz_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static void tz_header(struct tz_counts *c, const unsigned char *p)
{
	c->isut = tz_u32(p + 20);
	c->isstd = tz_u32(p + 24);
	c->leap = tz_u32(p + 28);
	c->time = tz_u32(p + 32);
	c->type = tz_u32(p + 36);
	c->chars = tz_u32(p + 40);
}

/* Bytes of a data block with times of `w` bytes. */
static size_t tz_block_len(const struct tz_counts *c, size_t w)
{
	return c->time * w + c->time + c->type * 6 + c->chars +
	       c->leap * (w + 4) + c->isstd + c->isut;
}

static int tz_parse(struct tz *z, struct arena *a, const unsigned char *buf,
		    size_t len)
{
	struct tz_counts c;
	const unsigned char *p = buf, *types, *idx;
	size_t w = 4;

	if (len < 44 || memcmp(buf, "TZif", 4) != 0)
		return DBOPS_ERR_INVALID;
	tz_header(&c, p);
	if (buf[4] >= '2') {
		/* skip the 32-bit block to the 64-bit one */
		size_t skip = 44 + tz_block_len(&c, 4);

		if (skip + 44 > len || memcmp(buf + skip, "TZif", 4) != 0)
			return DBOPS_ERR_INVALID;
		p = buf + skip;
		tz_header(&c, p);
		w = 8;
	}
	if (c.type == 0 || c.type > 256 || c.time > 100000 ||
	    (size_t)(p - buf) + 44 + tz_block_len(&c, w) > len)
		return DBOPS_ERR_INVALID;
	p += 44;
	idx = p + c.time * w;
	types = idx + c.time;
	z->n = c.time;
	z->at = arena_alloc(a, (c.time + 1) * sizeof(*z->at));
	z->offset = arena_alloc(a, (c.time + 1) * sizeof(*z->offset));
	for (uint32_t i = 0; i < c.time; i++) {
		unsigned t = idx[i];

		if (t >= c.type)
			return DBOPS_ERR_INVALID;
		z->at[i] = w == 8 ? tz_i64(p + i * 8)
				  : (int64_t)(int32_t)tz_u32(p + i * 4);
		z->offset[i] = (int32_t)tz_u32(types + t * 6);
	}
	/* before any transition: the first standard-time type (RFC 8536
	 * 3.2: type 0 is the one used then) */
	z->initial = (int32_t)tz_u32(types);
	return 0;
}

static bool tz_name_ok(const char *name)
{
	if (name[0] == '\0' || name[0] == '/' || strlen(name) > 200)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' ||
		      *p == '-' || *p == '+'))
			return false;
	return strstr(name, "..") == NULL;
}

int tz_load(const struct tz **out, struct arena *a, const char *name,
	    const char **error)
{
	const char *dir = getenv("TZDIR");
	struct tz *z = arena_alloc(a, sizeof(*z));
	unsigned char *buf;
	size_t len;
	FILE *f;
	int rc;

	*out = NULL;
	if (!tz_name_ok(name)) {
		*error = "A time zone is a name of the tz database, such as "
			 "UTC or Europe/Paris.";
		return DBOPS_ERR_INVALID;
	}
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	f = fopen(arena_printf(a, "%s/%s", dir, name), "rb");
	if (f == NULL) {
		*error = arena_printf(a, "There is no time zone \"%s\" in %s.",
				      name, dir);
		return DBOPS_ERR_NOTFOUND;
	}
	buf = arena_alloc(a, TZ_MAX_FILE);
	len = fread(buf, 1, TZ_MAX_FILE, f);
	fclose(f);
	rc = tz_parse(z, a, buf, len);
	if (rc != 0) {
		*error = arena_printf(a,
				      "The file of time zone \"%s\" is not "
				      "a compiled tz database file.",
				      name);
		return rc;
	}
	*out = z;
	return 0;
}

long tz_offset(const struct tz *z, time_t t)
{
	size_t lo = 0, hi;

	if (z == NULL)
		return 0;
	if (z->n == 0 || (int64_t)t < z->at[0])
		return z->initial;
	/* the last transition at or before t */
	hi = z->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->at[mid] <= (int64_t)t)
			lo = mid;
		else
			hi = mid;
	}
	return z->offset[lo];
}

void tz_local(struct tm *out, const struct tz *z, time_t t)
{
	time_t local = t + (time_t)tz_offset(z, t);

	gmtime_r(&local, out);
}
