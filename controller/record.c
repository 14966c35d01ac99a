/* SPDX-License-Identifier: PostgreSQL */
/*
 * record.c — the run log in the `dbops` schema; see record.h. Rows are
 * written in autocommit mode, so a run killed half-way still shows what it
 * did; such a run stays "running" and is shown as "interrupted" once its
 * backend is gone. The counts `dbops history` shows come from the change
 * rows themselves, so a killed run shows what it really applied.
 */
#include "record.h"

#include <json-c/json.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static const char schema_sql[] =
    "CREATE SCHEMA IF NOT EXISTS dbops;\n"
    "COMMENT ON SCHEMA dbops IS 'dbops run log: every apply, its revision, plan and results';\n"
    "CREATE TABLE IF NOT EXISTS dbops.runs (\n"
    "  id bigserial PRIMARY KEY,\n"
    "  started_at timestamptz NOT NULL DEFAULT now(),\n"
    "  finished_at timestamptz,\n"
    "  status text NOT NULL DEFAULT 'running',\n"
    "  command text NOT NULL,\n"
    "  pid integer NOT NULL DEFAULT pg_backend_pid(),\n"
    "  run_by text NOT NULL DEFAULT current_user,\n"
    "  dbops_version text NOT NULL,\n"
    "  cluster text,\n"
    "  source_kind text,\n"
    "  origin text,\n"
    "  commit text,\n"
    "  ref text,\n"
    "  subject text,\n"
    "  plan jsonb,\n"
    "  changes_planned integer NOT NULL DEFAULT 0,\n"
    "  changes_applied integer NOT NULL DEFAULT 0,\n"
    "  changes_failed integer NOT NULL DEFAULT 0,\n"
    "  error text);\n"
    "CREATE TABLE IF NOT EXISTS dbops.run_changes (\n"
    "  run_id bigint NOT NULL REFERENCES dbops.runs ON DELETE CASCADE,\n"
    "  seq integer NOT NULL,\n"
    "  address text NOT NULL,\n"
    "  action text NOT NULL,\n"
    "  status text NOT NULL,\n"
    "  finished_at timestamptz NOT NULL DEFAULT now(),\n"
    "  duration_ms numeric(12,3),\n"
    "  sql text,\n"
    "  error text,\n"
    "  PRIMARY KEY (run_id, seq));";

int record_ensure_schema(struct pass *p)
{
	struct dbops_rows *rows;
	int err;

	/* Skip the DDL (and its locks) when everything is there already. */
	err =
	    pgconn_query(&rows, p->conn, p->a, &p->diags,
			 "SELECT to_regclass('dbops.run_changes') IS NOT NULL "
			 "AS ok",
			 0, NULL);
	if (err != 0)
		return err;
	if (strcmp(pgconn_rows_get(rows, 0, "ok"), "t") == 0)
		return 0;
	err = pgconn_exec(p->conn, p->a, &p->diags, schema_sql);
	if (err != 0 && p->diags.tail != NULL)
		p->diags.tail->hint =
		    "dbops records every run in the \"dbops\" schema of the database it connects to; the connecting role needs CREATE on that database once.";
	return err;
}

int record_run_begin(const char **run_id_out, struct pass *p,
		     const char *command, const char *plan_json)
{
	const struct source_revision *r = p->plan.revision;
	char planned[32];
	const char *params[10];
	struct dbops_rows *rows;
	int err;

	snprintf(planned, sizeof(planned), "%zu", p->plan.n);
	params[0] = command;
	params[1] = DBOPS_VERSION;
	params[2] = p->plan.cluster;
	params[3] = r ? r->kind : NULL;
	params[4] = r ? r->origin : NULL;
	params[5] = r ? r->commit : NULL;
	params[6] = r ? r->ref : NULL;
	params[7] = r ? r->subject : NULL;
	params[8] = plan_json;
	params[9] = planned;
	err =
	    pgconn_query(&rows, p->conn, p->a, &p->diags,
			 "INSERT INTO dbops.runs (command, dbops_version, "
			 "cluster, source_kind, origin, commit, ref, subject, "
			 "plan, changes_planned) VALUES ($1, $2, $3, $4, $5, "
			 "$6, $7, $8, $9::jsonb, $10::int) RETURNING id",
			 10, params);
	if (err != 0)
		return err;
	*run_id_out = pgconn_rows_get(rows, 0, "id");
	return 0;
}

static double record_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void record_batch_init(struct record_batch *b)
{
	strbuf_init(&b->values);
	b->n = 0;
	b->last_flush_ms = record_now_ms();
}

void record_batch_dispose(struct record_batch *b)
{
	if (b != NULL)
		strbuf_dispose(&b->values);
}

/* A literal, or NULL. */
static const char *lit(struct pass *p, const char *s)
{
	return s != NULL ? pgconn_quote_literal(p->conn, p->a, s) : "NULL";
}

int record_batch_add(struct record_batch *b, struct pass *p, const char *run_id,
		     const struct dbops_change *c, const char *status,
		     double duration_ms, const char *error)
{
	char dur[32];

	if (duration_ms >= 0)
		snprintf(dur, sizeof(dur), "%.3f", duration_ms);
	else
		snprintf(dur, sizeof(dur), "NULL");
	strbuf_printf(&b->values, "%s(%s, %u, %s, %s, %s, %s, %s, %s)",
		      b->n > 0 ? ", " : "", lit(p, run_id), c->id,
		      lit(p, c->address), lit(p, plan_action_name(c->action)),
		      lit(p, status), dur, lit(p, c->sql), lit(p, error));
	b->n++;
	if (b->n >= RECORD_BATCH_MAX ||
	    record_now_ms() - b->last_flush_ms >= RECORD_BATCH_MS)
		return record_batch_flush(b, p);
	return 0;
}

int record_batch_flush(struct record_batch *b, struct pass *p)
{
	char *sql;
	int err;

	b->last_flush_ms = record_now_ms();
	if (b->n == 0)
		return 0;
	sql = arena_printf(
	    p->a,
	    "INSERT INTO dbops.run_changes (run_id, seq, address, action, "
	    "status, duration_ms, sql, error) SELECT v.run_id::bigint, v.seq, "
	    "v.address, v.action, v.status, v.duration_ms::numeric, v.sql, "
	    "v.error FROM (VALUES %s) AS v(run_id, seq, address, action, "
	    "status, duration_ms, sql, error) ON CONFLICT (run_id, seq) DO "
	    "UPDATE SET status = EXCLUDED.status, duration_ms = "
	    "EXCLUDED.duration_ms, error = EXCLUDED.error, finished_at = now()",
	    b->values.buf);
	strbuf_reset(&b->values);
	b->n = 0;
	err = pgconn_exec(p->conn, p->a, &p->diags, sql);
	return err;
}

int record_run_end(struct pass *p, const char *run_id, const char *status,
		   int applied, int failed, const char *error)
{
	char a[16], f[16];
	const char *params[5];

	snprintf(a, sizeof(a), "%d", applied);
	snprintf(f, sizeof(f), "%d", failed);
	params[0] = run_id;
	params[1] = status;
	params[2] = a;
	params[3] = f;
	params[4] = error;
	return pgconn_query(NULL, p->conn, p->a, &p->diags,
			    "UPDATE dbops.runs SET finished_at = now(), status "
			    "= $2, changes_applied = $3::int, changes_failed = "
			    "$4::int, error = $5 WHERE id = $1::bigint",
			    5, params);
}

static const char runs_sql[] =
    "SELECT r.id, to_char(r.started_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD HH24:MI:SS') AS started, "
    "CASE WHEN r.status = 'running' AND NOT EXISTS (SELECT 1 FROM "
    "pg_stat_activity a WHERE a.pid = r.pid) THEN 'interrupted' ELSE "
    "r.status END AS status, r.command, r.run_by, r.changes_planned, "
    "(SELECT count(*) FROM dbops.run_changes c WHERE c.run_id = r.id AND "
    "c.status = 'applied') AS changes_applied, (SELECT count(*) FROM "
    "dbops.run_changes c WHERE c.run_id = r.id AND c.status IN ('failed', "
    "'rolled back')) AS changes_failed, coalesce(left(r.commit, 12), "
    "'(dir)') AS commit, r.ref, r.subject, r.cluster, r.error, "
    "round(extract(epoch FROM (r.finished_at - r.started_at)) * 1000) AS "
    "duration_ms FROM dbops.runs r ORDER BY r.id DESC LIMIT $1::int";

static const char changes_sql[] =
    "SELECT c.seq, c.address, c.action, c.status, c.duration_ms, c.error, "
    "c.sql FROM dbops.run_changes c WHERE c.run_id = $1::bigint ORDER BY "
    "c.seq";

static const char *nz(const char *s)
{
	return s != NULL ? s : "";
}

static void print_json_rows(FILE *out, const struct dbops_rows *rows)
{
	json_object *arr = json_object_new_array();

	for (int i = 0; i < rows->nrows; i++) {
		json_object *o = json_object_new_object();

		for (int j = 0; j < rows->ncols; j++) {
			const char *v = rows->values[i * rows->ncols + j];

			json_object_object_add(o, rows->colnames[j],
					       v ? json_object_new_string(v)
						 : NULL);
		}
		json_object_array_add(arr, o);
	}
	fprintf(out, "%s\n",
		json_object_to_json_string_ext(
		    arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(arr);
}

int record_history(FILE *out, struct pgconn *conn, struct arena *a,
		   struct dbops_diag_list *diags, int limit, const char *run_id,
		   const char *format)
{
	struct dbops_rows *rows;
	char lim[16];
	const char *param;
	int err;
	bool json = format != NULL && strcmp(format, "json") == 0;

	err = pgconn_query(&rows, conn, a, diags,
			   "SELECT to_regclass('dbops.runs') IS NOT NULL AS ok",
			   0, NULL);
	if (err != 0)
		return err;
	if (strcmp(pgconn_rows_get(rows, 0, "ok"), "t") != 0) {
		if (json)
			fprintf(out, "[]\n");
		else
			fprintf(
			    out,
			    "No runs recorded yet: dbops has not applied anything to this database.\n");
		return 0;
	}
	snprintf(lim, sizeof(lim), "%d", limit);
	param = run_id != NULL ? run_id : lim;
	err = pgconn_query(&rows, conn, a, diags,
			   run_id != NULL ? changes_sql : runs_sql, 1, &param);
	if (err != 0)
		return err;
	if (json) {
		print_json_rows(out, rows);
		return 0;
	}
	if (run_id != NULL) {
		if (rows->nrows == 0) {
			fprintf(out, "Run %s recorded no changes.\n", run_id);
			return 0;
		}
		fprintf(out, "%-4s %-40s %-8s %-12s %10s  %s\n", "SEQ",
			"ADDRESS", "ACTION", "STATUS", "DURATION", "ERROR");
		for (int i = 0; i < rows->nrows; i++)
			fprintf(out, "%-4s %-40s %-8s %-12s %8sms  %s\n",
				nz(pgconn_rows_get(rows, i, "seq")),
				nz(pgconn_rows_get(rows, i, "address")),
				nz(pgconn_rows_get(rows, i, "action")),
				nz(pgconn_rows_get(rows, i, "status")),
				nz(pgconn_rows_get(rows, i, "duration_ms")),
				nz(pgconn_rows_get(rows, i, "error")));
		return 0;
	}
	if (rows->nrows == 0) {
		fprintf(out, "No runs recorded yet.\n");
		return 0;
	}
	fprintf(out, "%-5s %-19s %-11s %-8s %-12s %-12s %s\n", "RUN",
		"STARTED (UTC)", "STATUS", "CHANGES", "COMMIT", "REF",
		"SUBJECT");
	for (int i = 0; i < rows->nrows; i++) {
		char changes[32];

		snprintf(changes, sizeof(changes), "%s/%s",
			 nz(pgconn_rows_get(rows, i, "changes_applied")),
			 nz(pgconn_rows_get(rows, i, "changes_planned")));
		fprintf(out, "%-5s %-19s %-11s %-8s %-12s %-12s %s\n",
			nz(pgconn_rows_get(rows, i, "id")),
			nz(pgconn_rows_get(rows, i, "started")),
			nz(pgconn_rows_get(rows, i, "status")), changes,
			nz(pgconn_rows_get(rows, i, "commit")),
			nz(pgconn_rows_get(rows, i, "ref")),
			nz(pgconn_rows_get(rows, i, "subject")));
	}
	return 0;
}
