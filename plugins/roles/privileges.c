/* SPDX-License-Identifier: PostgreSQL */
/*
 * privileges.c — the names of privileges and object kinds: which
 * privileges each kind of object takes (as GRANT accepts them), the
 * aclitem letters aclexplode() reports, and the words of GRANT and ALTER
 * DEFAULT PRIVILEGES. No I/O.
 */
#include "roles_int.h"

#include <strings.h>

struct priv_name {
	const char *word;
	unsigned bit;
	char letter;
};

/* canonical order (as PostgreSQL prints aclitems) */
static const struct priv_name priv_names[] = {
    {"SELECT", ROLE_P_SELECT, 'r'},	{"INSERT", ROLE_P_INSERT, 'a'},
    {"UPDATE", ROLE_P_UPDATE, 'w'},	{"DELETE", ROLE_P_DELETE, 'd'},
    {"TRUNCATE", ROLE_P_TRUNCATE, 'D'}, {"REFERENCES", ROLE_P_REFERENCES, 'x'},
    {"TRIGGER", ROLE_P_TRIGGER, 't'},	{"EXECUTE", ROLE_P_EXECUTE, 'X'},
    {"USAGE", ROLE_P_USAGE, 'U'},	{"CREATE", ROLE_P_CREATE, 'C'},
    {"CONNECT", ROLE_P_CONNECT, 'c'},	{"TEMPORARY", ROLE_P_TEMPORARY, 'T'},
};

#define NPRIVS (sizeof(priv_names) / sizeof(priv_names[0]))

unsigned role_privs_allowed(enum role_objkind kind)
{
	switch (kind) {
	case ROLE_OBJ_DATABASE:
		return ROLE_P_CREATE | ROLE_P_CONNECT | ROLE_P_TEMPORARY;
	case ROLE_OBJ_SCHEMA:
		return ROLE_P_USAGE | ROLE_P_CREATE;
	case ROLE_OBJ_TABLE:
		return ROLE_P_SELECT | ROLE_P_INSERT | ROLE_P_UPDATE |
		       ROLE_P_DELETE | ROLE_P_TRUNCATE | ROLE_P_REFERENCES |
		       ROLE_P_TRIGGER;
	case ROLE_OBJ_SEQUENCE:
		return ROLE_P_USAGE | ROLE_P_SELECT | ROLE_P_UPDATE;
	case ROLE_OBJ_FUNCTION:
		return ROLE_P_EXECUTE;
	case ROLE_OBJ_TYPE:
		return ROLE_P_USAGE;
	case ROLE_OBJ_NKINDS:
		break;
	}
	return 0;
}

unsigned role_priv_parse(const char *word, enum role_objkind kind)
{
	unsigned allowed = role_privs_allowed(kind);

	if (strcasecmp(word, "ALL") == 0 ||
	    strcasecmp(word, "ALL PRIVILEGES") == 0)
		return allowed;
	if (strcasecmp(word, "TEMP") == 0)
		return ROLE_P_TEMPORARY & allowed;
	for (size_t i = 0; i < NPRIVS; i++)
		if (strcasecmp(word, priv_names[i].word) == 0)
			return priv_names[i].bit & allowed;
	return 0;
}

const char *role_privs_format(struct dbops_ctx *ctx, unsigned privs)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *s = "";

	for (size_t i = 0; i < NPRIVS; i++) {
		if (!(privs & priv_names[i].bit))
			continue;
		s = s[0] == '\0'
			? priv_names[i].word
			: h->printf(ctx, "%s, %s", s, priv_names[i].word);
	}
	return s;
}

unsigned role_priv_letter(char c)
{
	for (size_t i = 0; i < NPRIVS; i++)
		if (priv_names[i].letter == c)
			return priv_names[i].bit;
	return 0;
}

const char *role_kind_name(enum role_objkind kind)
{
	static const char *const names[] = {"database", "schema",   "table",
					    "sequence", "function", "type"};

	return kind < ROLE_OBJ_NKINDS ? names[kind] : "object";
}

const char *role_kind_sql(enum role_objkind kind)
{
	static const char *const names[] = {"DATABASE", "SCHEMA",   "TABLE",
					    "SEQUENCE", "FUNCTION", "TYPE"};

	return kind < ROLE_OBJ_NKINDS ? names[kind] : "TABLE";
}

const char *role_kind_sql_plural(enum role_objkind kind)
{
	static const char *const names[] = {"DATABASES", "SCHEMAS",   "TABLES",
					    "SEQUENCES", "FUNCTIONS", "TYPES"};

	return kind < ROLE_OBJ_NKINDS ? names[kind] : "TABLES";
}
