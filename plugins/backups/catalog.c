/* SPDX-License-Identifier: PostgreSQL */
/*
 * catalog.c — the backups a repository holds: backups/<id>/backup.json,
 * one JSON document per backup (type, parent, LSNs, times, timeline, WAL
 * range, sizes, and every file of the data directory it restores with
 * its size, modification time, CRC-32C and the backup whose archive
 * holds it), written last so that a backup exists exactly when its
 * backup.json does. Also reads the file list of PostgreSQL's own
 * backup_manifest. Parsing is defensive: a document that does not have
 * what a backup must have is an error naming the key, never a backup
 * with holes.
 */
#include "backups_int.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAT_FORMAT 1

static char *cat_strdup(const char *s)
{
	char *d = s != NULL ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		abort();
	return d;
}

static void cat_lsn(char out[32], uint64_t lsn)
{
	snprintf(out, 32, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}

char *bak_backup_to_json(const struct bak_backup *b)
{
	json_object *o = json_object_new_object(), *files;
	char lsn[32];
	char *out;

	json_object_object_add(o, "format", json_object_new_int(CAT_FORMAT));
	json_object_object_add(o, "id", json_object_new_string(b->id));
	json_object_object_add(o, "type", json_object_new_string(b->type));
	json_object_object_add(
	    o, "parent", b->parent ? json_object_new_string(b->parent) : NULL);
	json_object_object_add(
	    o, "label", json_object_new_string(b->label ? b->label : ""));
	json_object_object_add(o, "timeline",
			       json_object_new_int64(b->timeline));
	cat_lsn(lsn, b->start_lsn);
	json_object_object_add(o, "start_lsn", json_object_new_string(lsn));
	cat_lsn(lsn, b->stop_lsn);
	json_object_object_add(o, "stop_lsn", json_object_new_string(lsn));
	json_object_object_add(o, "start_time",
			       json_object_new_int64(b->start_time));
	json_object_object_add(o, "stop_time",
			       json_object_new_int64(b->stop_time));
	json_object_object_add(o, "stop_usec",
			       json_object_new_int64(b->stop_usec));
	json_object_object_add(o, "wal_start",
			       json_object_new_string(b->wal_start));
	json_object_object_add(o, "wal_stop",
			       json_object_new_string(b->wal_stop));
	json_object_object_add(o, "size",
			       json_object_new_int64((int64_t)b->size));
	json_object_object_add(o, "stored_size",
			       json_object_new_int64((int64_t)b->stored_size));
	json_object_object_add(o, "archive",
			       json_object_new_string(b->archive));
	json_object_object_add(o, "compression",
			       json_object_new_string(b->compression));
	json_object_object_add(o, "server_compressed",
			       json_object_new_boolean(b->server_compressed));
	json_object_object_add(o, "encrypted",
			       json_object_new_boolean(b->encrypted));
	json_object_object_add(
	    o, "source",
	    json_object_new_string(b->source ? b->source : "primary"));
	json_object_object_add(
	    o, "system_id",
	    json_object_new_string(b->system_id ? b->system_id : ""));
	json_object_object_add(o, "pg_version",
			       json_object_new_int(b->pg_version));
	files = json_object_new_array_ext((int)b->nfiles);
	for (size_t i = 0; i < b->nfiles; i++) {
		const struct bak_file *f = &b->files[i];
		json_object *jf = json_object_new_object();
		char crc[9];

		snprintf(crc, sizeof(crc), "%08x", f->crc);
		json_object_object_add(jf, "path",
				       json_object_new_string(f->path));
		json_object_object_add(jf, "size",
				       json_object_new_int64((int64_t)f->size));
		json_object_object_add(jf, "mtime",
				       json_object_new_int64(f->mtime));
		json_object_object_add(jf, "crc32c",
				       json_object_new_string(crc));
		json_object_object_add(jf, "in",
				       json_object_new_string(f->stored_in));
		json_object_array_add(files, jf);
	}
	json_object_object_add(o, "files", files);
	out = cat_strdup(json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

static int cat_missing(struct bak_err *e, const char *key)
{
	return bak_fail(
	    e, DBOPS_ERR_INVALID,
	    "invalid backup catalog entry: \"%s\" is missing or of the wrong type",
	    key);
}

static const char *cat_str(json_object *o, const char *key, bool required,
			   int *err, struct bak_err *e)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
	    !json_object_is_type(v, json_type_string)) {
		if (required && *err == 0)
			*err = cat_missing(e, key);
		return NULL;
	}
	return json_object_get_string(v);
}

static int64_t cat_int(json_object *o, const char *key, int *err,
		       struct bak_err *e)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int)) {
		if (*err == 0)
			*err = cat_missing(e, key);
		return 0;
	}
	return json_object_get_int64(v);
}

static int cat_files(struct bak_backup *b, json_object *arr, struct bak_err *e)
{
	size_t n = json_object_array_length(arr);
	int err = 0;

	b->files = calloc(n + 1, sizeof(*b->files));
	if (b->files == NULL)
		abort();
	for (size_t i = 0; i < n && err == 0; i++) {
		json_object *jf = json_object_array_get_idx(arr, i);
		struct bak_file *f = &b->files[i];
		const char *crc;

		f->path = cat_strdup(cat_str(jf, "path", true, &err, e));
		f->size = (uint64_t)cat_int(jf, "size", &err, e);
		f->mtime = cat_int(jf, "mtime", &err, e);
		crc = cat_str(jf, "crc32c", true, &err, e);
		f->crc = crc ? (uint32_t)strtoul(crc, NULL, 16) : 0;
		f->stored_in = cat_strdup(cat_str(jf, "in", true, &err, e));
		b->nfiles = i + 1;
	}
	return err;
}

int bak_backup_from_json(struct bak_backup *b, const char *json,
			 struct bak_err *e)
{
	json_object *o = json_tokener_parse(json), *files;
	int err = 0;

	memset(b, 0, sizeof(*b));
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		if (o != NULL)
			json_object_put(o);
		return bak_fail(
		    e, DBOPS_ERR_INVALID,
		    "invalid backup catalog entry: not a JSON object");
	}
	if (cat_int(o, "format", &err, e) != CAT_FORMAT && err == 0)
		err = bak_fail(e, DBOPS_ERR_UNSUPPORTED,
			       "backup catalog entry has an unknown format");
	b->id = cat_strdup(cat_str(o, "id", true, &err, e));
	b->type = cat_strdup(cat_str(o, "type", true, &err, e));
	b->parent = cat_strdup(cat_str(o, "parent", false, &err, e));
	b->label = cat_strdup(cat_str(o, "label", false, &err, e));
	b->timeline = (uint32_t)cat_int(o, "timeline", &err, e);
	if (!bak_lsn_parse(&b->start_lsn,
			   cat_str(o, "start_lsn", true, &err, e)) &&
	    err == 0)
		err = cat_missing(e, "start_lsn");
	if (!bak_lsn_parse(&b->stop_lsn,
			   cat_str(o, "stop_lsn", true, &err, e)) &&
	    err == 0)
		err = cat_missing(e, "stop_lsn");
	b->start_time = cat_int(o, "start_time", &err, e);
	b->stop_time = cat_int(o, "stop_time", &err, e);
	b->stop_usec = cat_int(o, "stop_usec", &err, e);
	b->wal_start = cat_strdup(cat_str(o, "wal_start", true, &err, e));
	b->wal_stop = cat_strdup(cat_str(o, "wal_stop", true, &err, e));
	b->size = (uint64_t)cat_int(o, "size", &err, e);
	b->stored_size = (uint64_t)cat_int(o, "stored_size", &err, e);
	b->archive = cat_strdup(cat_str(o, "archive", true, &err, e));
	b->compression = cat_strdup(cat_str(o, "compression", true, &err, e));
	b->source = cat_strdup(cat_str(o, "source", false, &err, e));
	b->system_id = cat_strdup(cat_str(o, "system_id", false, &err, e));
	{
		json_object *v;

		b->server_compressed =
		    json_object_object_get_ex(o, "server_compressed", &v) &&
		    json_object_get_boolean(v);
		b->encrypted = json_object_object_get_ex(o, "encrypted", &v) &&
			       json_object_get_boolean(v);
		if (json_object_object_get_ex(o, "pg_version", &v))
			b->pg_version = json_object_get_int(v);
	}
	if (err == 0 && strcmp(b->type, "full") != 0 &&
	    strcmp(b->type, "incremental") != 0)
		err = bak_fail(
		    e, DBOPS_ERR_INVALID,
		    "invalid backup catalog entry: unknown type \"%s\"",
		    b->type);
	if (err == 0 && strcmp(b->type, "incremental") == 0 &&
	    b->parent == NULL)
		err = cat_missing(e, "parent");
	if (err == 0 && (!json_object_object_get_ex(o, "files", &files) ||
			 !json_object_is_type(files, json_type_array)))
		err = cat_missing(e, "files");
	if (err == 0)
		err = cat_files(b, files, e);
	json_object_put(o);
	if (err != 0)
		bak_backup_dispose(b);
	return err;
}

void bak_backup_dispose(struct bak_backup *b)
{
	const char *strs[] = {
	    b->id,	 b->type,    b->parent,	     b->label,	b->wal_start,
	    b->wal_stop, b->archive, b->compression, b->source, b->system_id};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free((char *)(uintptr_t)strs[i]);
	for (size_t i = 0; i < b->nfiles; i++) {
		free((char *)(uintptr_t)b->files[i].path);
		free((char *)(uintptr_t)b->files[i].stored_in);
	}
	free(b->files);
	memset(b, 0, sizeof(*b));
}

/* "2026-01-01 03:00:00 GMT", "2026-01-01 03:00:00.123456+02",
 * "2026-01-01T03:00:00Z": seconds since the epoch (the fraction dropped),
 * UTC unless an offset is given; -1 when it does not parse. */
int64_t bak_time_parse_usec(const char *text)
{
	struct tm tm;
	int n = 0, oh = 0, om = 0, sign = 1;
	int64_t usec = 0, scale = 100000, secs;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	if (text == NULL ||
	    sscanf(text, "%4d-%2d-%2d%*[ T]%2d:%2d:%2d%n", &tm.tm_year,
		   &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
		   &n) != 6)
		return -1;
	p = text + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			usec += (*p - '0') * scale; /* beyond 6 digits: 0 */
	while (*p == ' ')
		p++;
	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (sscanf(p + 1, "%2d", &oh) != 1)
			return -1;
		p += 3;
		if (*p == ':')
			p++;
		if (*p >= '0' && *p <= '9' && sscanf(p, "%2d", &om) == 1)
			p += 2;
	} else if (*p == 'Z') {
		p++;
	} else if (strcmp(p, "GMT") == 0 || strcmp(p, "UTC") == 0) {
		p += 3;
	}
	if (*p != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	secs = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
	return secs < 0 ? -1 : secs * 1000000 + usec;
}

int64_t bak_time_parse(const char *text)
{
	int64_t us = bak_time_parse_usec(text);

	return us < 0 ? -1 : us / 1000000; /* before 1970: not a target */
}

static int cat_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bak_file *)a)->path,
		      ((const struct bak_file *)b)->path);
}

int bak_manifest_files(struct bak_file **files_out, size_t *n_out,
		       const char *json, size_t len, const char *backup_id,
		       struct bak_err *e)
{
	json_tokener *tok = json_tokener_new_ex(64);
	json_object *o = json_tokener_parse_ex(tok, json, (int)len), *arr;
	struct bak_file *files;
	size_t n;

	json_tokener_free(tok);
	if (o == NULL || !json_object_object_get_ex(o, "Files", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		if (o != NULL)
			json_object_put(o);
		return bak_fail(
		    e, DBOPS_ERR_INVALID,
		    "could not parse the backup manifest: no \"Files\" list");
	}
	n = json_object_array_length(arr);
	files = calloc(n + 1, sizeof(*files));
	if (files == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(arr, i), *v;
		const char *alg = NULL;

		if (json_object_object_get_ex(f, "Path", &v))
			files[i].path = cat_strdup(json_object_get_string(v));
		if (files[i].path == NULL ||
		    !json_object_object_get_ex(f, "Size", &v)) {
			for (size_t k = 0; k <= i; k++) {
				free((char *)(uintptr_t)files[k].path);
				free((char *)(uintptr_t)files[k].stored_in);
			}
			free(files);
			json_object_put(o);
			return bak_fail(
			    e, DBOPS_ERR_INVALID,
			    "could not parse the backup manifest: file %zu has no path or size",
			    i + 1);
		}
		files[i].size = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(f, "Last-Modified", &v))
			files[i].mtime =
			    bak_time_parse(json_object_get_string(v));
		if (json_object_object_get_ex(f, "Checksum-Algorithm", &v))
			alg = json_object_get_string(v);
		if (alg != NULL && strcmp(alg, "CRC32C") == 0 &&
		    json_object_object_get_ex(f, "Checksum", &v)) {
			/* the manifest writes the CRC's bytes in memory
			 * order, little-endian */
			uint32_t raw = (uint32_t)strtoul(
			    json_object_get_string(v), NULL, 16);

			files[i].crc = ((raw & 0xff) << 24) |
				       ((raw & 0xff00) << 8) |
				       ((raw >> 8) & 0xff00) | (raw >> 24);
		}
		files[i].stored_in = cat_strdup(backup_id);
	}
	json_object_put(o);
	qsort(files, n, sizeof(*files), cat_file_cmp);
	*files_out = files;
	*n_out = n;
	return 0;
}

static int cat_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bak_backup *)a)->id,
		      ((const struct bak_backup *)b)->id);
}

int bak_catalog_load(struct bak_catalog *out, struct bak_repo *r,
		     const struct bak_codec *c, bool with_files,
		     struct bak_err *e)
{
	char **keys = NULL;
	size_t n = 0;
	int err;

	(void)c;
	memset(out, 0, sizeof(*out));
	if ((err = bak_repo_list(&keys, &n, r, "backups/", e)) != 0)
		return err;
	out->v = calloc(n + 1, sizeof(*out->v));
	if (out->v == NULL)
		abort();
	for (size_t i = 0; i < n && err == 0; i++) {
		const char *slash = strchr(keys[i], '/');
		struct bak_buf json = {0};
		char key[600];

		if (slash == NULL || strcmp(slash + 1, "backup.json") != 0)
			continue;
		snprintf(key, sizeof(key), "backups/%s", keys[i]);
		err = bak_get_decoded(&json, r, key, NULL, e);
		if (err == 0)
			err = bak_backup_from_json(&out->v[out->n],
						   bak_buf_str(&json), e);
		if (err != 0)
			bak_err_detail(e, "In \"%s\" of %s.", key,
				       bak_repo_describe(r));
		else {
			if (!with_files) {
				struct bak_backup *b = &out->v[out->n];

				for (size_t k = 0; k < b->nfiles; k++) {
					free((char *)(uintptr_t)b->files[k]
						 .path);
					free((char *)(uintptr_t)b->files[k]
						 .stored_in);
				}
				free(b->files);
				b->files = NULL;
				b->nfiles = 0;
			}
			out->n++;
		}
		bak_buf_free(&json);
	}
	bak_strv_free(keys, n);
	if (err != 0) {
		bak_catalog_dispose(out);
		return err;
	}
	qsort(out->v, out->n, sizeof(*out->v), cat_cmp);
	return 0;
}

void bak_catalog_dispose(struct bak_catalog *cat)
{
	for (size_t i = 0; i < cat->n; i++)
		bak_backup_dispose(&cat->v[i]);
	free(cat->v);
	memset(cat, 0, sizeof(*cat));
}

const struct bak_backup *bak_catalog_find(const struct bak_catalog *cat,
					  const char *id)
{
	for (size_t i = 0; id != NULL && i < cat->n; i++)
		if (strcmp(cat->v[i].id, id) == 0)
			return &cat->v[i];
	return NULL;
}

size_t bak_catalog_chain(const struct bak_backup **chain, size_t max,
			 const struct bak_catalog *cat,
			 const struct bak_backup *b)
{
	size_t n = 0;

	while (b != NULL && n < max) {
		chain[n++] = b;
		if (strcmp(b->type, "full") == 0)
			break;
		b = bak_catalog_find(cat, b->parent);
	}
	if (b == NULL || n == max || strcmp(b->type, "full") != 0)
		return 0;
	for (size_t i = 0; i < n / 2; i++) {
		const struct bak_backup *t = chain[i];

		chain[i] = chain[n - 1 - i];
		chain[n - 1 - i] = t;
	}
	return n;
}
