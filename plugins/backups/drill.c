/* SPDX-License-Identifier: PostgreSQL */
/*
 * drill.c — `dbops backup drill`: restore the newest backup to the end
 * of the archived WAL in a scratch directory, on a free port, with
 * archiving off (so the copy never writes into the repository); run the
 * spec's checks against it; record the time to a promoted server (the
 * RTO), the recovered LSN and each check's result in the cluster's
 * dbops.backup_drills; and remove the scratch cluster whatever happened.
 * A failed check fails the drill, after it is recorded.
 */
#include "backups_int.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char drill_ddl[] =
    "CREATE SCHEMA IF NOT EXISTS dbops;\n"
    "CREATE TABLE IF NOT EXISTS " BAK_DRILL_TABLE " (\n"
    "  id bigserial PRIMARY KEY,\n"
    "  finished_at timestamptz NOT NULL DEFAULT now(),\n"
    "  backup_id text NOT NULL,\n"
    "  rto_seconds double precision,\n"
    "  fetch_seconds double precision,\n"
    "  start_seconds double precision,\n"
    "  recovery_seconds double precision,\n"
    "  recovered_lsn pg_lsn,\n"
    "  ok boolean NOT NULL,\n"
    "  checks jsonb NOT NULL DEFAULT '[]',\n"
    "  error text\n"
    ")";

static bool drill_port_free(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool free_ = true;

	if (fd < 0)
		return false;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		free_ = false;
	close(fd);
	return free_;
}

/* Run the checks; a JSON array of their results into *json. */
static bool drill_checks(struct dbops_ctx *ctx, const struct bak_spec *s,
			 const struct bak_restore_result *res,
			 struct bak_buf *json)
{
	const struct dbops_host *h = dbops_host(ctx);
	PGconn *target = h->pgconn(ctx);
	bool all = true;

	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < s->nchecks; i++) {
		const struct bak_check *k = &s->checks[i];
		const char *keys[] = {
		    "host", "port", "user", "dbname", "connect_timeout", NULL};
		const char *vals[] = {res->sock,
				      res->port,
				      target ? PQuser(target) : NULL,
				      k->database ? k->database : "postgres",
				      "10",
				      NULL};
		PGconn *c = PQconnectdbParams(keys, vals, 0);
		PGresult *r = NULL;
		const char *got = NULL;
		bool ok = false;

		if (PQstatus(c) == CONNECTION_OK) {
			r = PQexec(c, k->sql);
			if (PQresultStatus(r) == PGRES_TUPLES_OK &&
			    PQntuples(r) > 0 && PQnfields(r) > 0)
				got = PQgetvalue(r, 0, 0);
			else
				got = NULL;
		}
		if (got == NULL)
			got = h->printf(ctx, "(error: %s)",
					r ? PQresultErrorMessage(r)
					  : PQerrorMessage(c));
		ok = strcmp(got, k->expect) == 0;
		all = all && ok;
		h->out(ctx, "  drill check %zu: %s (expected %s, got %s)\n",
		       i + 1, ok ? "ok" : "FAILED", k->expect, got);
		{
			json_object *o = json_object_new_object();

			json_object_object_add(o, "sql",
					       json_object_new_string(k->sql));
			json_object_object_add(
			    o, "expect", json_object_new_string(k->expect));
			json_object_object_add(o, "got",
					       json_object_new_string(got));
			json_object_object_add(o, "ok",
					       json_object_new_boolean(ok));
			json_object_array_add(arr, o);
		}
		PQclear(r);
		PQfinish(c);
	}
	bak_buf_addf(
	    json, "%s",
	    json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	return all;
}

static int drill_record(struct dbops_ctx *ctx, const char *backup_id,
			const struct bak_restore_result *res, bool ok,
			const char *checks, const char *error)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *params[9];
	int err;

	if ((err = h->query(NULL, ctx, drill_ddl, 0, NULL)) != 0)
		return err;
	params[0] = backup_id;
	params[1] = h->printf(ctx, "%.3f", res->total_s);
	params[2] = h->printf(ctx, "%.3f", res->fetch_s);
	params[3] = h->printf(ctx, "%.3f", res->start_s);
	params[4] = h->printf(ctx, "%.3f", res->recover_s);
	params[5] = res->recovered_lsn[0] ? res->recovered_lsn : NULL;
	params[6] = ok ? "true" : "false";
	params[7] = checks;
	params[8] = error;
	return h->query(
	    NULL, ctx,
	    "INSERT INTO " BAK_DRILL_TABLE
	    " (backup_id, rto_seconds, fetch_seconds, start_seconds, recovery_seconds, recovered_lsn, ok, checks, error) VALUES ($1, $2, $3, $4, $5, $6::pg_lsn, $7, $8::jsonb, $9)",
	    9, params);
}

int bak_drill(struct dbops_ctx *ctx, const struct bak_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct bak_payload p;
	struct bak_restore_result res;
	struct bak_repo *repo = NULL;
	struct bak_codec codec;
	struct bak_catalog cat = {0};
	struct bak_err e = {0};
	struct bak_buf json = {0};
	const char *dir = s->drill_dir ? s->drill_dir : "/var/tmp/dbops-drill";
	int port = (int)s->drill_port, err, rec;
	bool ok = false;

	memset(&p, 0, sizeof(p));
	if ((err = bak_repo_for(&repo, &codec, ctx, s)) != 0)
		return err;
	err = bak_catalog_load(&cat, repo, &codec, false, &e);
	bak_repo_close(repo);
	if (err != 0 || cat.n == 0) {
		bak_catalog_dispose(&cat);
		if (err != 0)
			return bak_diag(ctx, &s->loc, &e);
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_NOTFOUND, &s->loc,
			"there is no backup to drill");
		return DBOPS_ERR_NOTFOUND;
	}
	p.op = BAK_OP_DRILL;
	p.spec = s;
	p.backup_id = h->strdup(ctx, cat.v[cat.n - 1].id);
	bak_catalog_dispose(&cat);
	p.target_kind = "latest";
	p.target = "latest";
	p.data_dir = h->printf(ctx, "%s/%s", dir, p.backup_id);
	if (port == 0)
		for (port = 26432; port < 27432 && !drill_port_free(port);
		     port++)
			;
	p.port = port;
	h->out(ctx, "  drill: restoring %s into %s on port %d\n", p.backup_id,
	       p.data_dir, port);
	err = bak_restore_run(&res, ctx, s, &p, true);
	if (err == 0)
		ok = drill_checks(ctx, s, &res, &json);
	else
		bak_buf_addf(&json, "[]");
	bak_restore_cleanup(ctx, s, p.data_dir, true);
	{
		const char *log = h->printf(ctx, "%s.log", p.data_dir);

		unlink(log);
	}
	rec = drill_record(ctx, p.backup_id, &res, err == 0 && ok,
			   bak_buf_str(&json),
			   err != 0 ? "the restore failed"
			   : ok	    ? NULL
				    : "a check failed");
	bak_buf_free(&json);
	if (err != 0)
		return err;
	if (rec != 0)
		return rec;
	if (!ok) {
		h->diag(ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID, &s->loc,
			"the restore drill's checks failed");
		return DBOPS_ERR_INVALID;
	}
	h->out(ctx, "  drill: RTO %.2fs, recovered to %s, %zu checks passed\n",
	       res.total_s, res.recovered_lsn, s->nchecks);
	return 0;
}
