/* SPDX-License-Identifier: PostgreSQL */
/*
 * daemon_store.c — the daemon's tables in the `dbops` schema and `dbops
 * status --daemon`; see daemon_store.h.
 */
#include "daemon_store.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_config.h"
#include "diag.h"
#include "secret.h"

static const char dstore_sql[] =
    "CREATE SCHEMA IF NOT EXISTS dbops;\n"
    "CREATE TABLE IF NOT EXISTS dbops.daemon_status (\n"
    "  cluster text PRIMARY KEY,\n"
    "  sync text NOT NULL,\n"
    "  health text NOT NULL,\n"
    "  message text,\n"
    "  revision text,\n"
    "  last_applied_revision text,\n"
    "  last_attempted_revision text,\n"
    "  last_error text,\n"
    "  drift_enforce integer NOT NULL DEFAULT 0,\n"
    "  drift_report integer NOT NULL DEFAULT 0,\n"
    "  drift jsonb,\n"
    "  waiting_until timestamptz,\n"
    "  next_pass_at timestamptz,\n"
    "  last_success_at timestamptz,\n"
    "  daemon text NOT NULL,\n"
    "  pass_id bigint,\n"
    "  notified jsonb NOT NULL DEFAULT '{}',\n"
    "  updated_at timestamptz NOT NULL DEFAULT now());\n"
    "CREATE TABLE IF NOT EXISTS dbops.daemon_passes (\n"
    "  id bigserial PRIMARY KEY,\n"
    "  cluster text NOT NULL,\n"
    "  slot bigint,\n"
    "  trigger text NOT NULL,\n"
    "  daemon text NOT NULL,\n"
    "  revision text,\n"
    "  started_at timestamptz NOT NULL DEFAULT now(),\n"
    "  finished_at timestamptz,\n"
    "  result text,\n"
    "  changes_applied integer,\n"
    "  error text);\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS daemon_passes_slot\n"
    "  ON dbops.daemon_passes (cluster, slot);\n"
    "CREATE TABLE IF NOT EXISTS dbops.operations (\n"
    "  id text PRIMARY KEY,\n"
    "  cluster text,\n"
    "  command text NOT NULL,\n"
    "  revision text,\n"
    "  status text NOT NULL DEFAULT 'running',\n"
    "  output text,\n"
    "  error text,\n"
    "  daemon text NOT NULL,\n"
    "  pid integer NOT NULL DEFAULT pg_backend_pid(),\n"
    "  started_at timestamptz NOT NULL DEFAULT now(),\n"
    "  finished_at timestamptz);\n"
    "CREATE TABLE IF NOT EXISTS dbops.schedule_runs (\n"
    "  job text NOT NULL,\n"
    "  due_at timestamptz NOT NULL,\n"
    "  status text NOT NULL DEFAULT 'running',\n"
    "  daemon text NOT NULL,\n"
    "  pid integer NOT NULL DEFAULT pg_backend_pid(),\n"
    "  started_at timestamptz NOT NULL DEFAULT now(),\n"
    "  finished_at timestamptz,\n"
    "  error text,\n"
    "  PRIMARY KEY (job, due_at));";

int dstore_ensure(struct pgconn *c, struct arena *a,
		  struct dbops_diag_list *diags)
{
	struct dbops_rows *rows;
	int err;

	err = pgconn_query(&rows, c, a, diags,
			   "SELECT to_regclass('dbops.schedule_runs') IS NOT "
			   "NULL AS ok",
			   0, NULL);
	if (err != 0)
		return err;
	if (strcmp(pgconn_rows_get(rows, 0, "ok"), "t") == 0)
		return 0;
	err = pgconn_exec(c, a, diags, dstore_sql);
	if (err != 0 && diags->tail != NULL)
		diags->tail->hint =
		    "The daemon keeps its state in the \"dbops\" schema of the database it connects to; the connecting role needs CREATE on that database once.";
	return err;
}

int dstore_pass_begin(const char **id_out, struct pgconn *c, struct arena *a,
		      struct dbops_diag_list *diags, const char *cluster,
		      int64_t slot, const char *trigger, const char *daemon,
		      const char *revision)
{
	const char *params[5];
	struct dbops_rows *rows;
	int err;

	*id_out = NULL;
	params[0] = cluster;
	params[1] = slot >= 0 ? arena_printf(a, "%lld", (long long)slot) : NULL;
	params[2] = trigger;
	params[3] = daemon;
	params[4] = revision;
	err = pgconn_query(
	    &rows, c, a, diags,
	    "INSERT INTO dbops.daemon_passes (cluster, slot, trigger, daemon, "
	    "revision) VALUES ($1, $2::bigint, $3, $4, $5) ON CONFLICT "
	    "(cluster, slot) DO NOTHING RETURNING id",
	    5, params);
	if (err != 0)
		return err;
	*id_out = pgconn_rows_get(rows, 0, "id");
	return 0;
}

int dstore_pass_end(struct pgconn *c, struct arena *a,
		    struct dbops_diag_list *diags, const char *id,
		    const char *result, int applied, const char *error)
{
	const char *params[4] = {id, result, arena_printf(a, "%d", applied),
				 error};
	int err;

	err = pgconn_query(NULL, c, a, diags,
			   "UPDATE dbops.daemon_passes SET finished_at = "
			   "now(), result = $2, changes_applied = $3::int, "
			   "error = $4 WHERE id = $1::bigint",
			   4, params);
	/* a week of passes is kept: no growth over time */
	if (err == 0 && strtoll(id, NULL, 10) % 100 == 0)
		err = pgconn_exec(c, a, diags,
				  "DELETE FROM dbops.daemon_passes WHERE "
				  "started_at < now() - interval '7 days'");
	return err;
}

static time_t dstore_time(const char *s)
{
	return s != NULL ? (time_t)strtoll(s, NULL, 10) : 0;
}

static int dstore_int(const char *s)
{
	return s != NULL ? (int)strtol(s, NULL, 10) : 0;
}

static const char dstore_row_sql[] =
    "SELECT cluster, sync, health, message, revision, "
    "last_applied_revision, last_attempted_revision, last_error, daemon, "
    "notified::text AS notified, drift_enforce, drift_report, "
    "extract(epoch FROM waiting_until)::bigint AS waiting_until, "
    "extract(epoch FROM next_pass_at)::bigint AS next_pass, "
    "extract(epoch FROM updated_at)::bigint AS updated_at, "
    "extract(epoch FROM last_success_at)::bigint AS last_success_at "
    "FROM dbops.daemon_status";

static void dstore_row_from(struct dstore_row *out,
			    const struct dbops_rows *rows, int i)
{
	memset(out, 0, sizeof(*out));
	out->found = true;
	out->sync = pgconn_rows_get(rows, i, "sync");
	out->health = pgconn_rows_get(rows, i, "health");
	out->message = pgconn_rows_get(rows, i, "message");
	out->revision = pgconn_rows_get(rows, i, "revision");
	out->last_applied = pgconn_rows_get(rows, i, "last_applied_revision");
	out->last_attempted =
	    pgconn_rows_get(rows, i, "last_attempted_revision");
	out->last_error = pgconn_rows_get(rows, i, "last_error");
	out->daemon = pgconn_rows_get(rows, i, "daemon");
	out->notified = pgconn_rows_get(rows, i, "notified");
	out->drift_enforce =
	    dstore_int(pgconn_rows_get(rows, i, "drift_enforce"));
	out->drift_report =
	    dstore_int(pgconn_rows_get(rows, i, "drift_report"));
	out->waiting_until =
	    dstore_time(pgconn_rows_get(rows, i, "waiting_until"));
	out->next_pass = dstore_time(pgconn_rows_get(rows, i, "next_pass"));
	out->updated_at = dstore_time(pgconn_rows_get(rows, i, "updated_at"));
	out->last_success_at =
	    dstore_time(pgconn_rows_get(rows, i, "last_success_at"));
}

int dstore_status_read(struct dstore_row *out, struct pgconn *c,
		       struct arena *a, struct dbops_diag_list *diags,
		       const char *cluster)
{
	struct dbops_rows *rows;
	int err;

	memset(out, 0, sizeof(*out));
	err = pgconn_query(
	    &rows, c, a, diags,
	    arena_printf(a, "%s WHERE cluster = $1", dstore_row_sql), 1,
	    &cluster);
	if (err != 0)
		return err;
	if (rows->nrows > 0)
		dstore_row_from(out, rows, 0);
	return 0;
}

static const char *dstore_epoch(struct arena *a, time_t t)
{
	return t > 0 ? arena_printf(a, "%lld", (long long)t) : NULL;
}

int dstore_status_write(struct pgconn *c, struct arena *a,
			struct dbops_diag_list *diags, const char *cluster,
			const struct dstore_row *row, const char *drift_json,
			const char *pass_id)
{
	const char *params[17];

	params[0] = cluster;
	params[1] = row->sync;
	params[2] = row->health;
	params[3] = row->message;
	params[4] = row->revision;
	params[5] = row->last_applied;
	params[6] = row->last_attempted;
	params[7] = row->last_error;
	params[8] = arena_printf(a, "%d", row->drift_enforce);
	params[9] = arena_printf(a, "%d", row->drift_report);
	params[10] = drift_json;
	params[11] = dstore_epoch(a, row->waiting_until);
	params[12] = dstore_epoch(a, row->next_pass);
	params[13] = dstore_epoch(a, row->last_success_at);
	params[14] = row->daemon;
	params[15] = pass_id;
	params[16] = row->notified != NULL ? row->notified : "{}";
	return pgconn_query(
	    NULL, c, a, diags,
	    "INSERT INTO dbops.daemon_status AS s (cluster, sync, health, "
	    "message, revision, last_applied_revision, "
	    "last_attempted_revision, last_error, drift_enforce, drift_report, "
	    "drift, waiting_until, next_pass_at, last_success_at, daemon, "
	    "pass_id, notified, updated_at) VALUES ($1, $2, $3, $4, $5, $6, "
	    "$7, $8, $9::int, $10::int, $11::jsonb, to_timestamp($12::bigint), "
	    "to_timestamp($13::bigint), to_timestamp($14::bigint), $15, "
	    "$16::bigint, $17::jsonb, now()) ON CONFLICT (cluster) DO UPDATE "
	    "SET sync = EXCLUDED.sync, health = EXCLUDED.health, message = "
	    "EXCLUDED.message, revision = EXCLUDED.revision, "
	    "last_applied_revision = EXCLUDED.last_applied_revision, "
	    "last_attempted_revision = EXCLUDED.last_attempted_revision, "
	    "last_error = EXCLUDED.last_error, drift_enforce = "
	    "EXCLUDED.drift_enforce, drift_report = EXCLUDED.drift_report, "
	    "drift = EXCLUDED.drift, waiting_until = EXCLUDED.waiting_until, "
	    "next_pass_at = EXCLUDED.next_pass_at, last_success_at = "
	    "EXCLUDED.last_success_at, daemon = EXCLUDED.daemon, pass_id = "
	    "EXCLUDED.pass_id, notified = EXCLUDED.notified, updated_at = "
	    "now()",
	    17, params);
}

int dstore_op_claim(bool *claimed, struct pgconn *c, struct arena *a,
		    struct dbops_diag_list *diags, const char *id,
		    const char *cluster, const char *command,
		    const char *revision, const char *daemon)
{
	const char *params[5] = {id, cluster, command, revision, daemon};
	struct dbops_rows *rows;
	int err;

	*claimed = false;
	err = pgconn_query(&rows, c, a, diags,
			   "INSERT INTO dbops.operations (id, cluster, "
			   "command, revision, daemon) VALUES ($1, $2, $3, $4, "
			   "$5) ON CONFLICT (id) DO NOTHING RETURNING id",
			   5, params);
	if (err == 0)
		*claimed = rows->nrows == 1;
	return err;
}

int dstore_op_finish(struct pgconn *c, struct arena *a,
		     struct dbops_diag_list *diags, const char *id,
		     const char *status, const char *output, const char *error)
{
	const char *params[4] = {id, status, output, error};

	return pgconn_query(NULL, c, a, diags,
			    "UPDATE dbops.operations SET status = $2, output "
			    "= $3, error = $4, finished_at = now() WHERE id = "
			    "$1",
			    4, params);
}

int dstore_op_sweep(struct pgconn *c, struct arena *a,
		    struct dbops_diag_list *diags)
{
	return pgconn_exec(
	    c, a, diags,
	    "UPDATE dbops.operations o SET status = 'interrupted', "
	    "finished_at = now(), error = 'the daemon running it stopped "
	    "before it finished' WHERE o.status = 'running' AND NOT EXISTS "
	    "(SELECT 1 FROM pg_stat_activity s WHERE s.pid = o.pid);\n"
	    "UPDATE dbops.schedule_runs r SET status = 'interrupted', "
	    "finished_at = now() WHERE r.status = 'running' AND NOT EXISTS "
	    "(SELECT 1 FROM pg_stat_activity s WHERE s.pid = r.pid)");
}

int dstore_job_claim(bool *claimed, struct pgconn *c, struct arena *a,
		     struct dbops_diag_list *diags, const char *job, time_t due,
		     const char *daemon)
{
	const char *params[3] = {job, dstore_epoch(a, due), daemon};
	struct dbops_rows *rows;
	int err;

	*claimed = false;
	err = pgconn_query(&rows, c, a, diags,
			   "INSERT INTO dbops.schedule_runs (job, due_at, "
			   "daemon) VALUES ($1, to_timestamp($2::bigint), $3) "
			   "ON CONFLICT (job, due_at) DO NOTHING RETURNING job",
			   3, params);
	if (err == 0)
		*claimed = rows->nrows == 1;
	return err;
}

int dstore_job_finish(struct pgconn *c, struct arena *a,
		      struct dbops_diag_list *diags, const char *job,
		      time_t due, const char *status, const char *error)
{
	const char *params[4] = {job, dstore_epoch(a, due), status, error};

	return pgconn_query(NULL, c, a, diags,
			    "UPDATE dbops.schedule_runs SET status = $3, "
			    "error = $4, finished_at = now() WHERE job = $1 "
			    "AND due_at = to_timestamp($2::bigint)",
			    4, params);
}

/* ---- dbops status --daemon */

static const char *dstore_when(struct arena *a, time_t t)
{
	struct tm tm;
	char buf[32];

	if (t <= 0)
		return "-";
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return arena_strdup(a, buf);
}

/* The row of one configured cluster, or an error text. */
static int dstore_fetch(struct dstore_row *row, const char **error,
			const struct config_cluster *cc, struct arena *a)
{
	struct dbops_diag_list diags = {0};
	const char *password = NULL;
	struct pgconn *conn = NULL;
	struct dbops_rows *rows;
	int err;

	memset(row, 0, sizeof(*row));
	if ((cc->has_password &&
	     (err = secret_read(&password, a, &diags, &cc->password)) != 0) ||
	    (err = pgconn_open(&conn, a, &diags, cc->conninfo, password)) !=
		0 ||
	    (err = pgconn_query(&rows, conn, a, &diags,
				"SELECT to_regclass('dbops.daemon_status') IS "
				"NOT NULL AS ok",
				0, NULL)) != 0) {
		*error = diags.head != NULL ? diags.head->message : "failed";
		pgconn_close(conn);
		return err;
	}
	if (strcmp(pgconn_rows_get(rows, 0, "ok"), "t") == 0)
		err = dstore_status_read(row, conn, a, &diags, cc->name);
	if (err != 0)
		*error = diags.head != NULL ? diags.head->message : "failed";
	pgconn_close(conn);
	return err;
}

/* "main@sha1:0123456789..." as "main@0123456" */
static const char *dstore_short(struct arena *a, const char *rev)
{
	const char *at = strstr(rev, "@sha1:");

	if (at == NULL)
		return rev;
	return arena_printf(a, "%.*s@%.7s", (int)(at - rev), rev, at + 6);
}

static void dstore_json_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

int dstore_print_status(FILE *out, const struct daemon_config *c,
			const char *format, struct dbops_diag_list *diags,
			struct arena *a)
{
	bool json = format != NULL && strcmp(format, "json") == 0;
	json_object *arr = json ? json_object_new_array() : NULL;
	int rc = 0;

	if (c->base.nclusters == 0) {
		diag_add(diags, a, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, NULL,
			 "the configuration lists no clusters")
		    ->hint = "dbops status --daemon reads each cluster's "
			     "status through the connections of clusters: in "
			     "the configuration file (--config).";
		return 1;
	}
	if (!json)
		fprintf(out, "%-16s %-10s %-11s %-20s %-20s %-30s %s\n",
			"CLUSTER", "SYNC", "HEALTH", "REVISION", "NEXT",
			"MESSAGE", "LAST-ERROR");
	for (size_t i = 0; i < c->base.nclusters; i++) {
		const struct config_cluster *cc = &c->base.clusters[i];
		struct dstore_row row;
		const char *error = NULL;
		const char *rev;

		if (dstore_fetch(&row, &error, cc, a) != 0) {
			row.sync = "Unknown";
			row.health = "Unknown";
			row.last_error = arena_printf(
			    a, "could not read the status: %s", error);
			rc = 1;
		} else if (!row.found) {
			row.sync = "Unknown";
			row.health = "Unknown";
			row.message = "no daemon has reconciled it yet";
			if (rc == 0)
				rc = 2;
		} else if (strcmp(row.sync, "Synced") != 0 ||
			   strcmp(row.health, "Healthy") != 0) {
			if (rc == 0)
				rc = 2;
		}
		rev =
		    row.revision != NULL ? dstore_short(a, row.revision) : "-";
		if (json) {
			json_object *o = json_object_new_object();

			dstore_json_str(o, "cluster", cc->name);
			dstore_json_str(o, "sync", row.sync);
			dstore_json_str(o, "health", row.health);
			dstore_json_str(o, "message", row.message);
			dstore_json_str(o, "revision", row.revision);
			dstore_json_str(o, "last_applied_revision",
					row.last_applied);
			dstore_json_str(o, "last_attempted_revision",
					row.last_attempted);
			dstore_json_str(o, "last_error", row.last_error);
			json_object_object_add(
			    o, "drift_enforce",
			    json_object_new_int(row.drift_enforce));
			json_object_object_add(
			    o, "drift_report",
			    json_object_new_int(row.drift_report));
			dstore_json_str(o, "waiting_until",
					row.waiting_until
					    ? dstore_when(a, row.waiting_until)
					    : NULL);
			dstore_json_str(o, "next_pass",
					row.next_pass
					    ? dstore_when(a, row.next_pass)
					    : NULL);
			dstore_json_str(o, "daemon", row.daemon);
			dstore_json_str(o, "updated_at",
					row.updated_at
					    ? dstore_when(a, row.updated_at)
					    : NULL);
			json_object_array_add(arr, o);
			continue;
		}
		fprintf(out, "%-16s %-10s %-11s %-20.20s %-20s %-30.30s %s\n",
			cc->name, row.sync, row.health, rev,
			dstore_when(a, row.next_pass),
			row.message != NULL ? row.message : "-",
			row.last_error != NULL ? row.last_error : "-");
	}
	if (json) {
		fprintf(out, "%s\n",
			json_object_to_json_string_ext(
			    arr,
			    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		json_object_put(arr);
	}
	return rc;
}
