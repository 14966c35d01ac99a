/* SPDX-License-Identifier: PostgreSQL */
/*
 * files.c — migration files as Flyway sees them: names (V<version>__<desc>
 * .sql, R__<desc>.sql), versions compared part by part as integers, the
 * CRC-32 checksum over lines without their terminators, the sidecar .conf
 * file, ${name} placeholders and the advisory-lock key Flyway derives from
 * the history table's name. Also the listing and reading of the files of
 * a database's locations through the host. Nothing here parses SQL
 * (sql.c) or talks to a server.
 */
#include "migrations_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- versions */

char *mig_strndup(struct dbops_ctx *ctx, const char *s, size_t n)
{
	char *out = dbops_host(ctx)->alloc(ctx, n + 1);

	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

char *mig_join(struct dbops_ctx *ctx, const char *a, const char *sep,
	       const char *b)
{
	size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
	char *out = dbops_host(ctx)->alloc(ctx, la + ls + lb + 1);

	memcpy(out, a, la);
	memcpy(out + la, sep, ls);
	memcpy(out + la + ls, b, lb + 1);
	return out;
}

int mig_version_parse(struct mig_version *out, struct dbops_ctx *ctx,
		      const char *text)
{
	const struct dbops_host *h = dbops_host(ctx);
	char *dotted = h->strdup(ctx, text);
	const char **parts;
	size_t n = 0, cap = 1;

	if (*dotted == '\0')
		return DBOPS_ERR_INVALID;
	for (char *p = dotted; *p; p++) {
		if (*p == '_')
			*p = '.';
		if (*p == '.')
			cap++;
		else if (!isdigit((unsigned char)*p))
			return DBOPS_ERR_INVALID;
	}
	parts = h->alloc(ctx, cap * sizeof(*parts));
	for (const char *p = dotted; *p;) {
		const char *start = p;
		size_t len;

		while (*p && *p != '.')
			p++;
		len = (size_t)(p - start);
		if (len == 0)
			return DBOPS_ERR_INVALID; /* "1..2", ".1", "1." */
		while (len > 1 && *start == '0') {
			start++;
			len--;
		}
		parts[n++] = mig_strndup(ctx, start, len);
		if (*p == '.') {
			p++;
			if (*p == '\0')
				return DBOPS_ERR_INVALID;
		}
	}
	while (n > 1 && strcmp(parts[n - 1], "0") == 0)
		n--;
	out->text = dotted;
	out->parts = parts;
	out->nparts = n;
	return 0;
}

static int mig_part_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

int mig_version_cmp(const struct mig_version *a, const struct mig_version *b)
{
	size_t n = a->nparts > b->nparts ? a->nparts : b->nparts;

	for (size_t i = 0; i < n; i++) {
		const char *pa = i < a->nparts ? a->parts[i] : "0";
		const char *pb = i < b->nparts ? b->parts[i] : "0";
		int c = mig_part_cmp(pa, pb);

		if (c != 0)
			return c < 0 ? -1 : 1;
	}
	return 0;
}

/* ---- names */

static bool mig_ends_with_sql(const char *name, size_t *stem_len)
{
	size_t len = strlen(name);

	if (len < 4 || strcasecmp(name + len - 4, ".sql") != 0)
		return false;
	*stem_len = len - 4;
	return true;
}

int mig_name_parse(struct mig_name *out, const char **why,
		   struct dbops_ctx *ctx, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t stem_len;
	const char *sep;
	char *stem, *desc;

	*why = NULL;
	if (!mig_ends_with_sql(name, &stem_len))
		return 0;
	if (strchr("VRvr", name[0]) == NULL || name[0] == '\0')
		return 0;
	/* V1__x, R__x, v1__x, V1_x, Vx__... all look like migrations; a
	 * name such as "views.sql" does not */
	if (!(isdigit((unsigned char)name[1]) || name[1] == '_'))
		return 0;
	if (name[0] == 'v' || name[0] == 'r') {
		*why = "The prefix must be an upper-case \"V\" or \"R\".";
		return -1;
	}
	stem = mig_strndup(ctx, name, stem_len);
	sep = strstr(stem + 1, "__");
	if (sep == NULL) {
		*why =
		    "The version and the description must be separated by two underscores (\"__\").";
		return -1;
	}
	desc = h->strdup(ctx, sep + 2);
	out->raw_description = h->strdup(ctx, desc);
	for (char *p = desc; *p; p++)
		if (*p == '_')
			*p = ' ';
	out->description = desc;
	if (stem[0] == 'R') {
		if (sep != stem + 1) {
			*why =
			    "A repeatable migration has no version: its name is \"R__<description>.sql\".";
			return -1;
		}
		out->kind = MIG_REPEATABLE;
		memset(&out->version, 0, sizeof(out->version));
	} else {
		char *vtext =
		    mig_strndup(ctx, stem + 1, (size_t)(sep - stem - 1));

		if (*vtext == '\0') {
			*why =
			    "A versioned migration needs a version after \"V\".";
			return -1;
		}
		if (mig_version_parse(&out->version, ctx, vtext) != 0) {
			*why =
			    "A version may only contain digits separated by \".\" or \"_\".";
			return -1;
		}
		out->kind = MIG_VERSIONED;
	}
	if (*desc == '\0') {
		*why = "The description after \"__\" is empty.";
		return -1;
	}
	return 1;
}

/* ---- checksum */

/* Built once per process: the daemon runs passes on several threads. */
static uint32_t mig_crc_table[256];
static pthread_once_t mig_crc_once = PTHREAD_ONCE_INIT;

static void mig_crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		mig_crc_table[i] = c;
	}
}

uint32_t mig_crc32(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	pthread_once(&mig_crc_once, mig_crc_init);
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = mig_crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

int32_t mig_checksum(const char *data, size_t len)
{
	uint32_t crc = 0;
	size_t i = 0, start;

	/* lines are fed without their terminators (\n, \r\n, \r) and
	 * nothing between them, so the CRC is that of the text with every
	 * CR and LF removed */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len) {
		start = i;
		while (i < len && data[i] != '\n' && data[i] != '\r')
			i++;
		crc = mig_crc32(crc, data + start, i - start);
		while (i < len && (data[i] == '\n' || data[i] == '\r'))
			i++;
	}
	return (int32_t)crc;
}

/* ---- placeholders */

static bool mig_ph_is(const char *name, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(name, lit, len) == 0;
}

static const char *mig_ph_lookup(const struct mig_db *db,
				 const struct mig_file *f, const char *name,
				 size_t len)
{
	for (size_t i = 0; i < db->nph; i++)
		if (mig_ph_is(name, len, db->ph_names[i]))
			return db->ph_values[i];
	if (mig_ph_is(name, len, "flyway:database"))
		return db->database;
	if (mig_ph_is(name, len, "flyway:table"))
		return db->hist_table;
	if (mig_ph_is(name, len, "flyway:defaultSchema"))
		return db->hist_schema;
	if (mig_ph_is(name, len, "flyway:filename") && f != NULL)
		return f->script;
	return NULL;
}

const char *mig_placeholders(struct dbops_ctx *ctx, const struct mig_db *db,
			     const struct mig_file *f, const char *text,
			     const char **missing)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *p = strstr(text, "${"), *from = text;
	size_t cap, used = 0;
	char *out;

	*missing = NULL;
	if (p == NULL)
		return text;
	cap = strlen(text) * 2 + 256;
	out = h->alloc(ctx, cap);
	for (; p != NULL; p = strstr(from, "${")) {
		const char *end = strchr(p + 2, '}');
		const char *val;
		size_t need;

		if (end == NULL)
			break;
		val = mig_ph_lookup(db, f, p + 2, (size_t)(end - p - 2));
		if (val == NULL) {
			*missing =
			    h->printf(ctx, "%.*s", (int)(end - p - 2), p + 2);
			return NULL;
		}
		need =
		    used + (size_t)(p - from) + strlen(val) + strlen(end) + 1;
		if (need > cap) {
			char *bigger = h->alloc(ctx, need * 2);

			memcpy(bigger, out, used);
			out = bigger;
			cap = need * 2;
		}
		memcpy(out + used, from, (size_t)(p - from));
		used += (size_t)(p - from);
		memcpy(out + used, val, strlen(val));
		used += strlen(val);
		from = end + 1;
	}
	if (used + strlen(from) + 1 > cap) {
		char *bigger = h->alloc(ctx, used + strlen(from) + 1);

		memcpy(bigger, out, used);
		out = bigger;
	}
	memcpy(out + used, from, strlen(from) + 1);
	return out;
}

/* ---- the lock key */

static int32_t mig_java_hash(const char *s)
{
	uint32_t hash = 0;

	/* String.hashCode over UTF-16 units; identical for ASCII names */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		hash = hash * 31u + *p;
	return (int32_t)hash;
}

int64_t mig_lock_key(const char *schema, const char *table)
{
	char buf[512];
	size_t n = 0;
	const char *parts[2] = {schema, table};

	for (int i = 0; i < 2; i++) {
		if (i == 1 && n < sizeof(buf) - 1)
			buf[n++] = '.';
		if (n < sizeof(buf) - 1)
			buf[n++] = '"';
		for (const char *p = parts[i]; *p && n < sizeof(buf) - 3; p++)
			buf[n++] = *p;
		if (n < sizeof(buf) - 1)
			buf[n++] = '"';
	}
	buf[n] = '\0';
	/* "Flyway" in ASCII, plus the hash of "schema"."table" */
	return (int64_t)0x466C79776179LL + (int64_t)mig_java_hash(buf);
}

const char *mig_file_sql(struct dbops_ctx *ctx, const struct mig_db *db,
			 const struct mig_file *f, struct dbops_diag **error)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *sql, *missing = NULL;
	struct dbops_diag *d;

	if (!f->read) {
		/* sources.c leaves unread only migrations applied from the
		 * same content, which nothing plans again */
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_GENERIC, &f->loc,
			    "migration \"%s\" is planned but was not read",
			    f->script);
		if (error != NULL)
			*error = d;
		return NULL;
	}
	if (!f->placeholder_replacement)
		return f->text;
	sql = mig_placeholders(ctx, db, f, f->text, &missing);
	if (sql != NULL)
		return sql;
	d = h->diag(
	    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &f->loc,
	    "no value provided for placeholder \"${%s}\" in migration \"%s\"",
	    missing, f->script);
	if (error != NULL)
		*error = d;
	h->diag_hint(
	    ctx, d,
	    "Add it under \"placeholders\" of the database, or set placeholderReplacement=false in the migration's .conf file.");
	return NULL;
}

/* ---- listing and reading */

/* The offset of the first byte that does not start a valid UTF-8
 * sequence (overlong forms, surrogates and code points past U+10FFFF are
 * invalid, as PostgreSQL holds them), or len when all of it is valid. */
size_t mig_utf8_invalid(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			n = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return i;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += n + 1;
	}
	return len;
}

/* A name with its invalid bytes shown as \xNN, for a message. */
static const char *mig_escape_name(struct dbops_ctx *ctx, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t len = strlen(name), at;
	const char *out = "";

	while (len > 0) {
		at = mig_utf8_invalid(name, len);
		out = h->printf(ctx, "%s%.*s", out, (int)at, name);
		if (at == len)
			break;
		out = h->printf(ctx, "%s\\x%02X", out, (unsigned char)name[at]);
		name += at + 1;
		len -= at + 1;
	}
	return out;
}

/*
 * A migration's bytes as the parser and the server will read them: no
 * NUL byte (everything after one would be dropped while the checksum
 * covers the whole file) and valid UTF-8. A located error otherwise.
 */
static int mig_check_text(struct dbops_ctx *ctx, const struct mig_file *f)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *nul = memchr(f->text, '\0', f->len);
	size_t bad = nul != NULL ? (size_t)(nul - f->text)
				 : mig_utf8_invalid(f->text, f->len);
	struct dbops_loc loc = f->loc;
	struct dbops_diag *d;

	if (bad == f->len)
		return 0;
	loc.line = 1;
	loc.col = 1;
	for (size_t i = 0; i < bad; i++) {
		if (f->text[i] == '\n') {
			loc.line++;
			loc.col = 1;
		} else if (((unsigned char)f->text[i] & 0xC0) != 0x80) {
			loc.col++;
		}
	}
	if (nul != NULL) {
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &loc,
			    "migration \"%s\" contains a NUL byte", f->script);
		h->diag_detail(
		    ctx, d,
		    "PostgreSQL cannot run text holding NUL bytes, and everything after one would be lost; the byte is at offset %zu.",
		    bad);
		h->diag_hint(ctx, d,
			     "Remove the byte; a migration is a text file.");
	} else {
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &loc,
			    "migration \"%s\" is not valid UTF-8", f->script);
		h->diag_detail(
		    ctx, d,
		    "The byte 0x%02X at offset %zu does not start a valid UTF-8 sequence.",
		    (unsigned char)f->text[bad], bad);
		h->diag_hint(
		    ctx, d,
		    "Save the file as UTF-8 (iconv -f LATIN1 -t UTF-8, say); dbops sends migrations to the server as UTF-8.");
	}
	return DBOPS_ERR_INVALID;
}

/* Every file below a location, at any depth, as Flyway scans them (paths
 * relative to the location); only the files directly inside it on a host
 * older than ABI 1.2. */
static int mig_list_dir(const char *const **names, size_t *n,
			struct dbops_ctx *ctx, const char *dir,
			const struct dbops_loc *loc)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (h->header.size >= offsetof(struct dbops_host, source_tree) +
				  sizeof(h->source_tree) &&
	    h->source_tree != NULL)
		return h->source_tree(names, n, ctx, dir);
	if (h->header.size < offsetof(struct dbops_host, source_list) +
				 sizeof(h->source_list) ||
	    h->source_list == NULL) {
		h->diag(
		    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_UNSUPPORTED, loc,
		    "could not list migration directory %s: this dbops cannot list source directories",
		    plug_value(ctx, dir));
		return DBOPS_ERR_UNSUPPORTED;
	}
	return h->source_list(names, n, ctx, dir);
}

/* Flyway's SQL callbacks, by event (ResourceNameParser: "<event>.sql" or
 * "<event>__<anything>.sql"). */
static const char *const mig_callback_events[] = {
    "beforeMigrate",
    "beforeRepeatables",
    "beforeEachMigrate",
    "beforeEachMigrateStatement",
    "afterEachMigrateStatement",
    "afterEachMigrateStatementError",
    "afterEachMigrate",
    "afterEachMigrateError",
    "afterMigrate",
    "afterMigrateApplied",
    "afterVersioned",
    "afterMigrateError",
    "beforeValidate",
    "afterValidate",
    "afterValidateError",
    "beforeBaseline",
    "afterBaseline",
    "afterBaselineError",
    "beforeRepair",
    "afterRepair",
    "afterRepairError",
    "beforeClean",
    "afterClean",
    "afterCleanError",
    "beforeInfo",
    "afterInfo",
    "afterInfoError",
    "beforeDeploy",
    "afterDeploy",
    "afterDeployError",
    "createSchema",
    "beforeCreateSchema",
    "beforeConnect",
    "afterConnect",
};

/* The events dbops runs (enum mig_event order). */
static const char *const mig_run_events[] = {"beforeMigrate", "afterMigrate",
					     "afterMigrateApplied"};

/*
 * A Flyway callback file: 1 for an event dbops runs (beforeMigrate;
 * afterMigrate and afterMigrateApplied, which are one thing here because
 * dbops runs callbacks only when it applies something), with `out`
 * filled; -1 for any other event, which gets a warning rather than being
 * silently unused; 0 when the name is no callback.
 */
static int mig_callback_parse(struct mig_name *out, struct dbops_ctx *ctx,
			      const char *name, const struct dbops_loc *loc)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t stem_len, ev_len;
	const char *sep;
	struct dbops_diag *d;

	if (!mig_ends_with_sql(name, &stem_len))
		return 0;
	ev_len = stem_len;
	sep = strstr(name, "__");
	if (sep != NULL && (size_t)(sep - name) < stem_len)
		ev_len = (size_t)(sep - name);
	for (size_t i = 0;
	     i < sizeof(mig_run_events) / sizeof(mig_run_events[0]); i++) {
		const char *ev = mig_run_events[i];

		if (strlen(ev) != ev_len || strncmp(name, ev, ev_len) != 0)
			continue;
		memset(out, 0, sizeof(*out));
		out->kind = MIG_CALLBACK;
		out->event =
		    i == 0 ? MIG_EV_BEFORE_MIGRATE : MIG_EV_AFTER_MIGRATE;
		out->stem = mig_strndup(ctx, name, stem_len);
		out->description = out->stem;
		out->raw_description = out->stem;
		return 1;
	}
	for (size_t i = 0;
	     i < sizeof(mig_callback_events) / sizeof(mig_callback_events[0]);
	     i++) {
		const char *ev = mig_callback_events[i];

		if (strlen(ev) != ev_len || strncmp(name, ev, ev_len) != 0)
			continue;
		d = h->diag(
		    ctx, DBOPS_SEV_WARNING, 0, loc,
		    "Flyway callback \"%s\" (event %s) is not run by dbops",
		    name, ev);
		h->diag_hint(
		    ctx, d,
		    "dbops runs beforeMigrate and afterMigrate callbacks; put anything else in a repeatable migration (R__...), run after the versioned ones whenever it changes.");
		return -1;
	}
	return 0;
}

static void mig_push(struct dbops_ctx *ctx, struct mig_file **v, size_t *n,
		     size_t *cap, const struct mig_file *f)
{
	if (*n == *cap) {
		struct mig_file *bigger;

		*cap = *cap ? *cap * 2 : 64;
		bigger = dbops_host(ctx)->alloc(ctx, *cap * sizeof(*bigger));
		if (*n)
			memcpy(bigger, *v, *n * sizeof(*bigger));
		*v = bigger;
	}
	(*v)[(*n)++] = *f;
}

/* Sidecar "<file>.conf": executeInTransaction, placeholderReplacement. */
static int mig_read_conf(struct dbops_ctx *ctx, struct mig_file *f,
			 const char *path)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *data;
	size_t len;
	int err;

	err = h->source_read(&data, &len, ctx, path);
	if (err != 0)
		return err;
	for (const char *line = data; line != NULL && *line;) {
		const char *eol = strchr(line, '\n');
		size_t l = eol ? (size_t)(eol - line) : strlen(line);
		char *kv = mig_strndup(ctx, line, l);
		char *eq = strchr(kv, '=');
		char *key = kv, *val;

		line = eol ? eol + 1 : NULL;
		while (isspace((unsigned char)*key))
			key++;
		if (*key == '#' || *key == '\0' || eq == NULL)
			continue;
		*eq = '\0';
		val = eq + 1;
		for (char *e = eq - 1; e >= key && isspace((unsigned char)*e);
		     e--)
			*e = '\0';
		while (isspace((unsigned char)*val))
			val++;
		for (char *e = val + strlen(val) - 1;
		     e >= val && isspace((unsigned char)*e); e--)
			*e = '\0';
		if (strcmp(key, "executeInTransaction") == 0)
			f->txmode = strcasecmp(val, "false") == 0 ? MIG_TX_OFF
								  : MIG_TX_ON;
		else if (strcmp(key, "placeholderReplacement") == 0)
			f->placeholder_replacement =
			    strcasecmp(val, "false") != 0;
	}
	return 0;
}

static int mig_file_cmp(const void *x, const void *y)
{
	const struct mig_file *a = x, *b = y;

	if (a->name.kind != b->name.kind)
		return a->name.kind == MIG_VERSIONED ? -1 : 1;
	if (a->name.kind == MIG_VERSIONED)
		return mig_version_cmp(&a->name.version, &b->name.version);
	return strcmp(a->name.description, b->name.description);
}

/* Callbacks run by event, several of one event in name order. */
static int mig_callback_cmp(const void *x, const void *y)
{
	const struct mig_file *a = x, *b = y;

	if (a->name.event != b->name.event)
		return a->name.event < b->name.event ? -1 : 1;
	return strcmp(a->name.stem, b->name.stem);
}

/* `names` is sorted bytewise (host->source_list). */
static bool mig_has_name(const char *const *names, size_t n, const char *s)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(names[mid], s);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int mig_file_read(struct dbops_ctx *ctx, const struct mig_db *db,
		  struct mig_file *f)
{
	const struct dbops_host *h = dbops_host(ctx);
	int err;

	err = h->source_read(&f->text, &f->len, ctx, f->path);
	if (err != 0)
		return err;
	/* Flyway drops a byte order mark; so must the parser and the
	 * server (the checksum ignores it either way) */
	if (f->len >= 3 && memcmp(f->text, "\xEF\xBB\xBF", 3) == 0) {
		f->text += 3;
		f->len -= 3;
	}
	if (mig_check_text(ctx, f) != 0)
		return DBOPS_ERR_INVALID;
	if (f->conf_path != NULL &&
	    (err = mig_read_conf(ctx, f, f->conf_path)) != 0)
		return err;
	if (f->name.kind == MIG_VERSIONED || !f->placeholder_replacement) {
		f->checksum = mig_checksum(f->text, f->len);
	} else {
		const char *missing = NULL;
		const char *t = mig_placeholders(ctx, db, f, f->text, &missing);

		/* an unresolved placeholder is reported in diff */
		f->checksum = t ? mig_checksum(t, strlen(t))
				: mig_checksum(f->text, f->len);
	}
	f->read = true;
	return 0;
}

static int mig_load_location(struct dbops_ctx *ctx, struct mig_db *db,
			     const char *location, const struct dbops_loc *loc,
			     const char *cluster_dir, enum mig_load load,
			     size_t *cap)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *const *names = NULL;
	size_t n = 0, cb_cap = db->ncallbacks;
	int err, result = 0;

	err = mig_list_dir(&names, &n, ctx, location, loc);
	if (err != 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct mig_file f;
		const char *why = NULL, *conf;
		int r;

		const char *base = strrchr(names[i], '/');

		memset(&f, 0, sizeof(f));
		if (mig_utf8_invalid(names[i], strlen(names[i])) !=
		    strlen(names[i])) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, loc,
			    "file name \"%s\" in location \"%s\" is not valid UTF-8",
			    mig_escape_name(ctx, names[i]), location);

			h->diag_hint(
			    ctx, d,
			    "Rename the file; Flyway, the history table and dbops' output need UTF-8 names.");
			result = DBOPS_ERR_INVALID;
			continue;
		}
		base = base != NULL ? base + 1 : names[i];
		r = mig_name_parse(&f.name, &why, ctx, base);
		f.path = mig_join(ctx, location, "/", names[i]);
		f.loc.file = cluster_dir[0]
				 ? mig_join(ctx, cluster_dir, "/", f.path)
				 : f.path;
		f.loc.line = 1;
		f.loc.col = 1;
		if (r < 0) {
			struct dbops_diag *d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &f.loc,
			    "invalid migration file name \"%s\"", base);

			h->diag_hint(ctx, d, "%s", why);
			result = DBOPS_ERR_INVALID;
			continue;
		}
		if (r == 0 &&
		    mig_callback_parse(&f.name, ctx, base, &f.loc) != 1)
			continue;
		f.script = names[i];
		f.placeholder_replacement = true;
		f.text = "";
		conf = mig_join(ctx, names[i], ".conf", "");
		if (mig_has_name(names, n, conf))
			f.conf_path = mig_join(ctx, location, "/", conf);
		if (load == MIG_LOAD_IDS)
			f.blob_id = h->source_id(ctx, f.path);
		if (load == MIG_LOAD_FILES &&
		    (err = mig_file_read(ctx, db, &f)) != 0) {
			if (err != DBOPS_ERR_INVALID)
				return err;
			result = DBOPS_ERR_INVALID;
			continue;
		}
		if (f.name.kind == MIG_CALLBACK)
			mig_push(ctx, &db->callbacks, &db->ncallbacks, &cb_cap,
				 &f);
		else
			mig_push(ctx, &db->files, &db->nfiles, cap, &f);
	}
	return result;
}

int mig_load_files(struct dbops_ctx *ctx, struct mig_db *db,
		   const struct dbops_node *locations, const char *cluster_dir,
		   enum mig_load load)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t cap = 0;
	int result = 0;

	for (size_t i = 0; i < locations->len; i++) {
		const struct dbops_node *l = locations->items[i];
		int err;

		err = mig_load_location(ctx, db, l->scalar, &l->loc,
					cluster_dir, load, &cap);
		if (err != 0 && err != DBOPS_ERR_INVALID)
			return err;
		if (err != 0)
			result = err;
	}
	if (db->nfiles > 1)
		qsort(db->files, db->nfiles, sizeof(*db->files), mig_file_cmp);
	if (db->ncallbacks > 1)
		qsort(db->callbacks, db->ncallbacks, sizeof(*db->callbacks),
		      mig_callback_cmp);
	for (size_t i = 1; i < db->ncallbacks; i++) {
		const struct mig_file *a = &db->callbacks[i - 1],
				      *b = &db->callbacks[i];
		struct dbops_diag *d;

		if (strcmp(a->name.stem, b->name.stem) != 0)
			continue;
		d = h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &b->loc,
			    "found more than one callback \"%s\"",
			    a->name.stem);
		h->diag_detail(ctx, d, "The files are \"%s\" and \"%s\".",
			       a->path, b->path);
		h->diag_hint(ctx, d,
			     "Rename one of them: \"%s__<description>.sql\".",
			     a->name.stem);
		result = DBOPS_ERR_INVALID;
	}
	for (size_t i = 1; i < db->nfiles; i++) {
		const struct mig_file *a = &db->files[i - 1],
				      *b = &db->files[i];
		struct dbops_diag *d;

		if (mig_file_cmp(a, b) != 0)
			continue;
		if (a->name.kind == MIG_VERSIONED)
			d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &b->loc,
			    "found more than one migration with version %s",
			    a->name.version.text);
		else
			d = h->diag(
			    ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &b->loc,
			    "found more than one repeatable migration with description \"%s\"",
			    a->name.description);
		h->diag_detail(ctx, d, "The files are \"%s\" and \"%s\".",
			       a->path, b->path);
		h->diag_hint(
		    ctx, d, "Give one of them another version or description.");
		result = DBOPS_ERR_INVALID;
	}
	return result;
}
