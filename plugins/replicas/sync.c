/* SPDX-License-Identifier: PostgreSQL */
/*
 * sync.c — values compared the way the server reads them:
 * synchronous_standby_names in one canonical form ("ANY 1 (a, b)",
 * "FIRST 2 (a, b, c)"; a bare list is FIRST 1, unquoted names fold to
 * lower case), and the few replication settings the section may set
 * (booleans, integers, sizes whose bare number is in MB, wal_level with
 * its old aliases). The general normaliser of the parameters plugin is
 * not needed for this short, fixed list.
 */
#include "replicas_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The settings the section may set, with how their values compare. */
enum repl_kind { REPL_K_BOOL, REPL_K_INT, REPL_K_MB, REPL_K_WAL_LEVEL };

static const struct {
	const char *name;
	enum repl_kind kind;
} repl_settings[] = {
    {"wal_level", REPL_K_WAL_LEVEL},
    {"max_wal_senders", REPL_K_INT},
    {"max_replication_slots", REPL_K_INT},
    {"wal_keep_size", REPL_K_MB},
    {"max_slot_wal_keep_size", REPL_K_MB},
    {"hot_standby_feedback", REPL_K_BOOL},
    {"wal_log_hints", REPL_K_BOOL},
};

#define REPL_NSETTINGS (sizeof(repl_settings) / sizeof(repl_settings[0]))

bool repl_setting_allowed(const char *name)
{
	for (size_t i = 0; i < REPL_NSETTINGS; i++)
		if (strcmp(repl_settings[i].name, name) == 0)
			return true;
	return false;
}

/* parse_bool's spellings: 1 true, 0 false, -1 neither */
static int repl_bool(const char *v)
{
	static const char *const yes[] = {"on", "true", "yes", "1", "t", "y"};
	static const char *const no[] = {"off", "false", "no", "0", "f", "n"};

	for (size_t i = 0; i < 6; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* A size in MB (bare numbers are MB); -1 stays -1; INT64_MIN: invalid */
static int64_t repl_mb(const char *v)
{
	int64_t b;

	while (*v == ' ')
		v++;
	if (strcmp(v, "-1") == 0)
		return -1;
	b = repl_parse_bytes(v);
	if (b < 0)
		return INT64_MIN;
	/* a bare number: repl_parse_bytes took it as bytes */
	if (isdigit((unsigned char)v[strlen(v) - 1]))
		return b;
	return b / (1024 * 1024);
}

static const char *repl_wal_level(const char *v)
{
	if (strcasecmp(v, "archive") == 0 || strcasecmp(v, "hot_standby") == 0)
		return "replica";
	return v;
}

bool repl_setting_equal(const struct repl_setting_live *s, const char *value,
			const char *desired)
{
	enum repl_kind kind = REPL_K_INT;

	if (value == NULL || desired == NULL)
		return value == desired;
	for (size_t i = 0; i < REPL_NSETTINGS; i++)
		if (strcmp(repl_settings[i].name, s->name) == 0)
			kind = repl_settings[i].kind;
	switch (kind) {
	case REPL_K_BOOL:
		return repl_bool(value) >= 0 &&
		       repl_bool(value) == repl_bool(desired);
	case REPL_K_MB:
		return repl_mb(value) != INT64_MIN &&
		       repl_mb(value) == repl_mb(desired);
	case REPL_K_WAL_LEVEL:
		return strcasecmp(repl_wal_level(value),
				  repl_wal_level(desired)) == 0;
	case REPL_K_INT:
		break;
	}
	return repl_parse_bytes(value) >= 0 &&
	       repl_parse_bytes(value) == repl_parse_bytes(desired);
}

/* A name as synchronous_standby_names needs it. */
static const char *repl_sync_quote(struct dbops_ctx *ctx, const char *name)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (strcmp(name, "*") == 0 || repl_name_valid(name))
		return name;
	return h->printf(ctx, "\"%s\"", name); /* names never hold a quote */
}

const char *repl_sync_names(struct dbops_ctx *ctx, const struct repl_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *list = NULL;

	if (s->sync_mode == REPL_SYNC_OFF)
		return "";
	for (size_t i = 0; i < s->nmembers; i++) {
		const struct repl_member_spec *m = &s->members[i];

		if (!m->sync || m->absent)
			continue;
		list = list == NULL ? m->name
				    : h->printf(ctx, "%s, %s", list, m->name);
	}
	if (list == NULL)
		return "";
	return h->printf(ctx, "%s %d (%s)",
			 s->sync_mode == REPL_SYNC_ANY ? "ANY" : "FIRST",
			 s->sync_count, list);
}

static const char *repl_skip(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* One name of the list at *pp, folded or unquoted; NULL on error. */
static const char *repl_sync_token(struct dbops_ctx *ctx, const char **pp)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *p = repl_skip(*pp), *start;
	char *t;
	size_t n = 0;

	if (*p == '"') {
		start = ++p;
		while (*p != '\0' && *p != '"')
			p++;
		if (*p != '"')
			return NULL;
		t = h->alloc(ctx, (size_t)(p - start) + 1);
		memcpy(t, start, (size_t)(p - start));
		*pp = p + 1;
		return t;
	}
	start = p;
	while (*p != '\0' && *p != ',' && *p != '(' && *p != ')' &&
	       !isspace((unsigned char)*p))
		p++;
	if (p == start)
		return NULL;
	t = h->alloc(ctx, (size_t)(p - start) + 1);
	for (const char *q = start; q < p; q++)
		t[n++] = (char)tolower((unsigned char)*q);
	*pp = p;
	return t;
}

const char *repl_sync_canonical(struct dbops_ctx *ctx, const char *value)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *p = repl_skip(value != NULL ? value : ""), *kw = "FIRST";
	const char *list = NULL, *name;
	long count = 1;
	bool paren = false;

	if (*p == '\0')
		return "";
	if (strncasecmp(p, "any", 3) == 0 && isspace((unsigned char)p[3])) {
		kw = "ANY";
		p = repl_skip(p + 3);
	} else if (strncasecmp(p, "first", 5) == 0 &&
		   isspace((unsigned char)p[5])) {
		p = repl_skip(p + 5);
	}
	if (isdigit((unsigned char)*p)) {
		const char *q = p;

		count = 0;
		while (isdigit((unsigned char)*q) && count < 1000)
			count = count * 10 + (*q++ - '0');
		q = repl_skip(q);
		if (*q == '(') {
			p = q;
		} else {
			count = 1; /* a list whose first name is a number */
		}
	}
	if (*p == '(') {
		paren = true;
		p++;
	}
	for (;;) {
		if ((name = repl_sync_token(ctx, &p)) == NULL)
			return NULL;
		name = repl_sync_quote(ctx, name);
		list =
		    list == NULL ? name : h->printf(ctx, "%s, %s", list, name);
		p = repl_skip(p);
		if (*p != ',')
			break;
		p++;
	}
	if (paren) {
		if (*p != ')')
			return NULL;
		p = repl_skip(p + 1);
	}
	if (*p != '\0')
		return NULL;
	return h->printf(ctx, "%s %ld (%s)", kw, count, list);
}
