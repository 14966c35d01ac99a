/* SPDX-License-Identifier: PostgreSQL */
/*
 * jsonwalk.c — one linear pass over libpg_query's JSON parse tree that
 * finds the statements ({"stmts": [...]}), where each one's JSON begins
 * and ends, how deep it nests, its node type, stmt_location and
 * stmt_len, and the direct fields of its node — without building a tree
 * and without recursion, whatever the depth. sql.c decides from this
 * which statements are worth a json-c tree (lint, and the few
 * classifications that need nested fields). Text not of that shape is an
 * error, never "no statements".
 */
#include "migrations_int.h"

#include <stdlib.h>
#include <string.h>

static void mig_jw_copy(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* The string starting at s[i] == '"': its content bounds, and i past it. */
static bool mig_jw_string(struct mig_jwalk *w, size_t *from, size_t *to)
{
	size_t i = w->i + 1;

	*from = i;
	while (i < w->n && w->s[i] != '"') {
		if (w->s[i] == '\\')
			i++;
		i++;
	}
	if (i >= w->n)
		return false;
	*to = i;
	w->i = i + 1;
	return true;
}

static void mig_jw_field(struct mig_jwalk *w, const char *v, size_t vlen,
			 bool scalar)
{
	struct mig_jstmt *st = &w->out[w->nout - 1];

	if (w->depth == 3 && scalar) {
		if (strcmp(w->keys[3], "stmt_location") == 0)
			st->location = strtol(v, NULL, 10);
		else if (strcmp(w->keys[3], "stmt_len") == 0)
			st->len = strtol(v, NULL, 10);
	}
	if (w->depth == 5 && st->nfields < MIG_JW_FIELDS) {
		mig_jw_copy(st->fields[st->nfields].key,
			    sizeof(st->fields[0].key), w->keys[5],
			    strlen(w->keys[5]));
		mig_jw_copy(st->fields[st->nfields].value,
			    sizeof(st->fields[0].value), v, vlen);
		st->fields[st->nfields].scalar = scalar;
		st->nfields++;
	}
}

static bool mig_jw_open(struct mig_jwalk *w, char c)
{
	if (w->depth >= 1 && w->nout > 0 && w->depth <= 5)
		mig_jw_field(w, "", 0, false);
	w->depth++;
	if (w->depth == 3 && c == '{') {
		if (w->nout == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 2;
			struct mig_jstmt *bigger =
			    realloc(w->out, cap * sizeof(*bigger));

			if (bigger == NULL)
				return false;
			w->out = bigger;
			w->cap = cap;
		}
		memset(&w->out[w->nout], 0, sizeof(w->out[0]));
		w->out[w->nout].begin = w->i;
		w->nout++;
	}
	if (w->depth == 5 && c == '{' && w->nout > 0)
		mig_jw_copy(w->out[w->nout - 1].type, sizeof(w->out[0].type),
			    w->keys[4], strlen(w->keys[4]));
	if (w->nout > 0 && w->depth > w->out[w->nout - 1].depth)
		w->out[w->nout - 1].depth = w->depth;
	if (w->depth < 8)
		w->keys[w->depth][0] = '\0';
	return true;
}

/*
 * Walk libpg_query's JSON: {"version":N,"stmts":[{"stmt":{"Type":{...}},
 * "stmt_location":N,"stmt_len":N}, ...]}. Returns false when the text is
 * not of that shape (never read as "no statements"). w->out is malloc'd:
 * the caller frees it.
 */
bool mig_jwalk(struct mig_jwalk *w)
{
	bool want_key = false;

	while (w->i < w->n) {
		char c = w->s[w->i];
		size_t from, to;

		if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
			w->i++;
		} else if (c == '{' || c == '[') {
			if (!mig_jw_open(w, c))
				return false;
			want_key = c == '{';
			w->i++;
		} else if (c == '}' || c == ']') {
			if (w->depth == 0)
				return false;
			if (w->depth == 3 && c == '}')
				w->out[w->nout - 1].end = w->i + 1;
			w->depth--;
			want_key = false;
			w->i++;
		} else if (c == ',') {
			/* in an object a key follows; in an array a value */
			want_key = w->depth < 8 && w->keys[w->depth][0] != '\0';
			w->i++;
		} else if (c == ':') {
			want_key = false;
			w->i++;
		} else if (c == '"') {
			if (!mig_jw_string(w, &from, &to))
				return false;
			if (want_key) {
				if (w->depth < 8)
					mig_jw_copy(w->keys[w->depth],
						    sizeof(w->keys[0]),
						    w->s + from, to - from);
			} else if (w->nout > 0) {
				mig_jw_field(w, w->s + from, to - from, true);
			}
		} else {
			from = w->i;
			while (w->i < w->n &&
			       strchr(",}] \n\t\r", w->s[w->i]) == NULL)
				w->i++;
			if (w->nout > 0)
				mig_jw_field(w, w->s + from, w->i - from, true);
		}
		if (w->depth == 1 && c == '[')
			return false; /* the root must be an object */
	}
	if (w->depth != 0)
		return false;
	for (size_t k = 0; k < w->nout; k++)
		if (w->out[k].end == 0 || w->out[k].type[0] == '\0')
			return false;
	return true;
}

/* A direct field of the statement's node, or NULL. */
const char *mig_jfield(const struct mig_jstmt *st, const char *key)
{
	for (size_t i = 0; i < st->nfields; i++)
		if (strcmp(st->fields[i].key, key) == 0)
			return st->fields[i].value;
	return NULL;
}

bool mig_jtrue(const struct mig_jstmt *st, const char *key)
{
	const char *v = mig_jfield(st, key);

	return v != NULL && strcmp(v, "true") == 0;
}

bool mig_jis(const struct mig_jstmt *st, const char *key, const char *want)
{
	const char *v = mig_jfield(st, key);

	return v != NULL && strcmp(v, want) == 0;
}
