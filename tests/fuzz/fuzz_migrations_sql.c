/* SPDX-License-Identifier: PostgreSQL */
/*
 * fuzz_migrations_sql.c — libFuzzer harness: arbitrary bytes as the text
 * of a migration file, through what dbops does with a file's content
 * before it plans a single statement of it: the encoding checks of the
 * file reader (NUL bytes, UTF-8), then the splitter and parser (sql.c:
 * PostgreSQL's scanner, its parser per statement, BEGIN ATOMIC joining,
 * the JSON walk, transaction detection, probes) and lint on the trees.
 *
 * Beyond the sanitizers, it aborts when the contract of mig_sql_parse
 * breaks: an error without a diagnostic, a failure of the parser itself
 * (DBOPS_ERR_GENERIC, which sql.c raises when its own invariants fail —
 * statements not covering the text among them), statements out of the
 * text, out of order or overlapping, or a finding about a statement that
 * does not exist.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "../../plugins/migrations/migrations_int.h"
#include "pass.h"

static void fuzz_fail(const char *what, size_t i)
{
	fprintf(stderr, "fuzz: mig_sql_parse: %s (statement %zu)\n", what, i);
	abort();
}

static void fuzz_sql(struct dbops_ctx *ctx, const uint8_t *data, size_t size)
{
	struct mig_file f;
	struct mig_parsed r;
	char *text;
	int errors_before, rc;
	size_t end = 0;

	/* the file reader refuses these before any splitting (files.c) */
	if (memchr(data, '\0', size) != NULL ||
	    mig_utf8_invalid((const char *)data, size) != size)
		return;
	text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&f, 0, sizeof(f));
	f.path = "migrations/V1__fuzz.sql";
	f.script = "V1__fuzz.sql";
	f.text = text;
	f.len = size;
	f.loc.file = f.path;
	f.loc.line = 1;
	f.loc.col = 1;
	errors_before = ctx->pass->diags.nerrors;
	rc = mig_sql_parse(&r, ctx, text, &f, MIG_PARSE_LINT);
	if (rc == DBOPS_ERR_GENERIC)
		fuzz_fail("the parser failed", 0);
	if (rc != 0 && rc != DBOPS_ERR_INVALID)
		fuzz_fail("an unexpected return code", 0);
	if (rc != 0 && ctx->pass->diags.nerrors == errors_before)
		fuzz_fail("refused without an error", 0);
	if (rc == 0) {
		for (size_t i = 0; i < r.n; i++) {
			const struct mig_stmt *st = &r.stmts[i];

			if (st->offset < end || st->offset + st->len > size)
				fuzz_fail("a statement out of place", i);
			if (st->len == 0 || st->line == 0 || st->col == 0)
				fuzz_fail("an empty or unlocated statement", i);
			end = st->offset + st->len;
		}
		for (size_t i = 0; i < r.nfindings; i++)
			if (r.findings[i].stmt >= r.n ||
			    r.findings[i].rule == NULL)
				fuzz_fail("a finding of no statement", i);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_with_ctx("migrations", fuzz_sql, data, size);
}
