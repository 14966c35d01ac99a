/* SPDX-License-Identifier: PostgreSQL */
/*
 * checks_db.c — the checks of one database, read in its repeatable-read
 * snapshot and judged against the spec's thresholds: sequences near the
 * maximum of their column's type, unused, duplicate and invalid indexes,
 * tables read mostly by sequential scans, the cache hit ratio, bloat
 * estimates, and (from the window snapshot.c read) slow statements and
 * what pg_stat_statements itself did (evictions, a reset). The criteria
 * are PgHero's (reference §4) unless README.md says otherwise. Every
 * query is bounded: LIMIT, and size prefilters before any per-relation
 * function (pg_relation_size, pg_stats) runs. Schema `dbops` (dbops'
 * own tables) and the system schemas are left out.
 */
#include "monitoring_int.h"

#include <math.h>
#include <string.h>

#define MON_USER_SCHEMA(col)                                                   \
	col " NOT IN ('pg_catalog', 'information_schema', 'dbops') AND " col   \
	    " NOT LIKE 'pg\\_toast%'"

static const char mon_q_probe[] =
    "SELECT (SELECT pg_catalog.quote_ident(n.nspname) FROM "
    "pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = "
    "e.extnamespace WHERE e.extname = 'pg_stat_statements') AS pgss, "
    "(SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension "
    "e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE "
    "e.extname = 'hypopg') AS hypopg, "
    "'pg_stat_statements' = ANY (pg_catalog.string_to_array("
    "pg_catalog.replace(pg_catalog.replace(pg_catalog.current_setting("
    "'shared_preload_libraries'), ' ', ''), '\"', ''), ',')) AS loaded, "
    "COALESCE(pg_catalog.obj_description(pg_catalog.to_regclass("
    "'dbops.monitoring_snapshots'), 'pg_class') = '" MON_LAYOUT "', false) "
    "AS tables";

static const char mon_q_sequences[] =
    "WITH cols AS MATERIALIZED (SELECT d.objid AS seqid, d.refobjid AS "
    "relid, d.refobjsubid AS attnum FROM pg_catalog.pg_depend d WHERE "
    "d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = "
    "'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i') AND "
    "d.refobjsubid > 0 AND EXISTS (SELECT FROM pg_catalog.pg_class x WHERE "
    "x.oid = d.objid AND x.relkind = 'S') UNION SELECT dd.refobjid, "
    "ad.adrelid, ad.adnum FROM pg_catalog.pg_attrdef ad JOIN "
    "pg_catalog.pg_depend dd ON dd.classid = "
    "'pg_catalog.pg_attrdef'::regclass AND dd.objid = ad.oid AND "
    "dd.refclassid = 'pg_catalog.pg_class'::regclass JOIN "
    "pg_catalog.pg_class sq ON sq.oid = dd.refobjid AND sq.relkind = 'S'), "
    "v AS (SELECT sn.nspname AS seq_schema, sc.relname AS seq, tn.nspname "
    "AS schema, t.relname AS tbl, a.attname AS col, "
    "pg_catalog.format_type(a.atttypid, NULL) AS type, "
    "COALESCE(pg_catalog.pg_sequence_last_value(c.seqid), "
    "s.seqstart)::numeric AS last_value, LEAST(s.seqmax::numeric, CASE "
    "a.atttypid WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN "
    "2147483647 ELSE 9223372036854775807 END) AS max_value FROM cols c "
    "JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.seqid JOIN "
    "pg_catalog.pg_class sc ON sc.oid = c.seqid JOIN pg_catalog.pg_namespace "
    "sn ON sn.oid = sc.relnamespace JOIN pg_catalog.pg_class t ON t.oid = "
    "c.relid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.relid AND a.attnum = "
    "c.attnum WHERE s.seqincrement > 0 AND "
    "pg_catalog.has_sequence_privilege(c.seqid, 'SELECT,USAGE') AND NOT "
    "(pg_catalog.pg_is_in_recovery() AND sc.relpersistence = 'u')) "
    "SELECT seq_schema, seq, schema, tbl AS \"table\", col AS \"column\", "
    "type, last_value, max_value, (last_value / max_value)::float8 AS used "
    "FROM v WHERE tbl IS NOT NULL AND schema <> 'dbops' ORDER BY used "
    "DESC, 1, 2 LIMIT 20";

/* Statistics are fetched per relation, and a database may hold tens of
 * thousands: the catalog's own sizes (relpages, reltuples, kept by
 * VACUUM, ANALYZE and CREATE INDEX) pick the candidates first, with
 * room for staleness, and only those get a pg_stat_get_* lookup. */
static const char mon_q_unused[] =
    "WITH c AS MATERIALIZED (SELECT i.indexrelid, i.indrelid FROM "
    "pg_catalog.pg_index i JOIN pg_catalog.pg_class x ON x.oid = "
    "i.indexrelid WHERE NOT i.indisunique AND NOT i.indisprimary AND "
    "i.indisvalid AND (x.relpages = 0 OR x.relpages::float8 * "
    "pg_catalog.current_setting('block_size')::int >= $1::float8 / 2) AND "
    "i.indexrelid NOT IN (SELECT conindid FROM pg_catalog.pg_constraint "
    "WHERE conindid <> 0)), u AS MATERIALIZED (SELECT c.* FROM c WHERE "
    "pg_catalog.pg_stat_get_numscans(c.indexrelid) = 0) SELECT n.nspname "
    "AS schema, t.relname AS \"table\", x.relname AS index, "
    "pg_catalog.pg_relation_size(u.indexrelid) AS bytes FROM u JOIN "
    "pg_catalog.pg_class x ON x.oid = u.indexrelid JOIN pg_catalog.pg_class "
    "t ON t.oid = u.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = "
    "t.relnamespace WHERE " MON_USER_SCHEMA(
	"n.nspname") " AND pg_catalog.pg_relation_size(u.indexrelid) >= $1::float8 ORDER BY "
		     "bytes DESC, 1, 3 LIMIT 50";

static const char mon_q_duplicates[] =
    "WITH idx AS MATERIALIZED (SELECT i.indexrelid, i.indrelid, "
    "i.indisunique, i.indisprimary, i.indkey::text AS cols, "
    "i.indclass::text AS ops, c.relam, c.relname AS name, n.nspname AS "
    "schema, t.relname AS tbl, COALESCE(pg_catalog.pg_get_expr(i.indexprs, "
    "i.indrelid), '') AS exprs, COALESCE(pg_catalog.pg_get_expr(i.indpred, "
    "i.indrelid), '') AS pred FROM pg_catalog.pg_index i JOIN "
    "pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_class "
    "t ON t.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = "
    "t.relnamespace WHERE i.indisvalid AND i.indrelid IN (SELECT indrelid "
    "FROM pg_catalog.pg_index GROUP BY indrelid HAVING count(*) > 1) AND " MON_USER_SCHEMA(
	"n.nspname") "), d AS (SELECT DISTINCT ON (a.indexrelid) a.schema, a.tbl, a.name, "
		     "b.name AS covered_by, pg_catalog.pg_get_indexdef(a.indexrelid) AS def, "
		     "pg_catalog.pg_get_indexdef(b.indexrelid) AS covering_def, "
		     "pg_catalog.pg_relation_size(a.indexrelid) AS bytes FROM idx a JOIN "
		     "idx b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid AND "
		     "a.relam = b.relam AND a.exprs = b.exprs AND a.pred = b.pred WHERE NOT "
		     "a.indisprimary AND NOT a.indisunique AND (b.cols = a.cols OR b.cols "
		     "LIKE a.cols || ' %') AND (b.ops = a.ops OR b.ops LIKE a.ops || ' %') "
		     "AND NOT (b.cols = a.cols AND NOT b.indisunique AND NOT b.indisprimary "
		     "AND a.name < b.name) ORDER BY a.indexrelid, b.cols = a.cols DESC, "
		     "b.name) SELECT schema, tbl AS \"table\", name AS index, covered_by, "
		     "def, covering_def, bytes FROM d ORDER BY bytes DESC, 1, 2, 3 LIMIT 50";

static const char mon_q_invalid[] =
    "SELECT n.nspname AS schema, t.relname AS \"table\", c.relname AS "
    "index, pg_catalog.pg_relation_size(c.oid) AS bytes FROM "
    "pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = "
    "i.indexrelid JOIN pg_catalog.pg_class t ON t.oid = i.indrelid JOIN "
    "pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE NOT "
    "i.indisvalid AND NOT EXISTS (SELECT FROM "
    "pg_catalog.pg_stat_progress_create_index p WHERE p.index_relid = "
    "i.indexrelid) ORDER BY 1, 2, 3 LIMIT 50";

/* pg_stat_user_tables' columns, from the functions behind it, for the
 * tables the catalog says are large enough (reltuples < 0: never
 * analyzed). */
static const char mon_q_seqscan[] =
    "WITH t AS MATERIALIZED (SELECT c.oid, n.nspname, c.relname FROM "
    "pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
    "c.relnamespace WHERE c.relkind IN ('r', 'm', 'p') AND " MON_USER_SCHEMA(
	"n.nspname") " AND (c.reltuples < 0 OR c.reltuples >= "
		     "$1::float8 / 2)), s AS (SELECT t.nspname, t.relname, "
		     "pg_catalog.pg_stat_get_live_tuples(t.oid) AS n_live_tup, "
		     "pg_catalog.pg_stat_get_numscans(t.oid) AS seq_scan, "
		     "pg_catalog.pg_stat_get_tuples_returned(t.oid) AS seq_tup_read, (SELECT "
		     "COALESCE(sum(pg_catalog.pg_stat_get_numscans(i.indexrelid)), 0) FROM "
		     "pg_catalog.pg_index i WHERE i.indrelid = t.oid) AS idx_scan FROM t) "
		     "SELECT nspname AS schema, relname AS \"table\", seq_scan, seq_tup_read, "
		     "idx_scan, n_live_tup FROM s WHERE n_live_tup >= $1::float8 AND seq_scan "
		     ">= $2::float8 AND idx_scan < $3::float8 * (seq_scan + idx_scan) ORDER "
		     "BY seq_tup_read DESC, 1, 2 LIMIT 50";

/* The hit ratio of the database as pg_stat_database counts it (every
 * relation; PgHero splits tables and indexes over pg_statio_user_*,
 * which costs a statistics lookup per relation). */
static const char mon_q_cache[] =
    "SELECT blks_hit, blks_read, stats_reset::text AS stats_reset, EXISTS "
    "(SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'public' AND "
    "pg_catalog.has_schema_privilege('public', oid, 'CREATE')) AS "
    "public_create FROM pg_catalog.pg_stat_database WHERE datname = "
    "pg_catalog.current_database()";

#define MON_BS "pg_catalog.current_setting('block_size')::int"
#define MON_FILLFACTOR(rel, dflt)                                              \
	"COALESCE((SELECT substr(o, 12)::int FROM unnest(" rel                 \
	".reloptions) o WHERE o LIKE 'fillfactor=%'), " dflt ")"

/* Table bloat: tuple size from pg_stats (header, null bitmap and data
 * aligned as heap tuples are, a 4-byte line pointer), pages that many
 * tuples need at the fillfactor, against relpages. Only tables at least
 * as large as the threshold are looked at. */
static const char mon_q_bloat_tables[] =
    "WITH t AS MATERIALIZED (SELECT c.oid, n.nspname, c.relname, "
    "c.reltuples, c.relpages, " MON_FILLFACTOR(
	"c",
	"100") " AS ff FROM "
	       "pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
	       "c.relnamespace WHERE c.relkind IN ('r', 'm') AND c.reltuples > 0 AND " MON_USER_SCHEMA(
		   "n.nspname") " AND c.relpages::float8 * " MON_BS
				" >= $1::float8), w AS (SELECT t.oid, sum((1 - s.null_frac) * "
				"s.avg_width) AS width, bool_or(s.null_frac > 0) AS nulls, count(*) AS "
				"ncols FROM t JOIN pg_catalog.pg_stats s ON s.schemaname = t.nspname "
				"AND s.tablename = t.relname AND NOT s.inherited GROUP BY t.oid), e AS "
				"(SELECT t.nspname, t.relname, t.relpages, " MON_BS
				" AS bs, "
				"ceil(t.reltuples * (ceil((23 + CASE WHEN w.nulls THEN ceil(w.ncols / "
				"8.0) ELSE 0 END) / 8.0) * 8 + ceil(w.width / 8.0) * 8 + 4) / ((" MON_BS
				" - 24) * t.ff / 100.0)) AS est_pages FROM t JOIN w ON w.oid = t.oid) "
				"SELECT nspname AS schema, relname AS \"table\", ((relpages - "
				"est_pages) * bs)::float8 AS wasted, (relpages::float8 * bs) AS bytes "
				"FROM e WHERE (relpages - est_pages) * bs >= $1::float8 ORDER BY "
				"wasted DESC, 1, 2 LIMIT 20";

/* B-tree index bloat, the same way: index tuples of 8 bytes of header
 * plus the key columns' average width, aligned, at fillfactor 90, one
 * metapage. */
static const char mon_q_bloat_indexes[] =
    "WITH i AS MATERIALIZED (SELECT ic.oid, n.nspname, tc.relname AS tbl, "
    "ic.relname AS idx, ic.reltuples, ic.relpages, x.indrelid, x.indkey, " MON_FILLFACTOR(
	"ic",
	"90") " AS ff FROM pg_catalog.pg_index x JOIN "
	      "pg_catalog.pg_class ic ON ic.oid = x.indexrelid JOIN "
	      "pg_catalog.pg_class tc ON tc.oid = x.indrelid JOIN "
	      "pg_catalog.pg_namespace n ON n.oid = ic.relnamespace JOIN "
	      "pg_catalog.pg_am am ON am.oid = ic.relam AND am.amname = 'btree' WHERE "
	      "ic.reltuples > 0 AND " MON_USER_SCHEMA(
		  "n.nspname") " AND ic.relpages::float8 * " MON_BS
			       " >= $1::float8), w AS (SELECT "
			       "i.oid, sum(s.avg_width) AS width, bool_or(s.null_frac > 0) AS nulls "
			       "FROM i JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND "
			       "a.attnum = ANY (i.indkey) JOIN pg_catalog.pg_stats s ON s.schemaname = "
			       "i.nspname AND s.tablename = i.tbl AND s.attname = a.attname AND NOT "
			       "s.inherited GROUP BY i.oid), e AS (SELECT i.nspname, i.tbl, i.idx, "
			       "i.relpages, " MON_BS
			       " AS bs, 1 + ceil(i.reltuples * (8 + ceil((w.width "
			       "+ CASE WHEN w.nulls THEN 4 ELSE 0 END) / 8.0) * 8 + 4) / ((" MON_BS
			       " - 40) * i.ff / 100.0)) AS est_pages FROM i JOIN w ON w.oid = i.oid) "
			       "SELECT nspname AS schema, tbl AS \"table\", idx AS index, ((relpages - "
			       "est_pages) * bs)::float8 AS wasted, (relpages::float8 * bs) AS bytes "
			       "FROM e WHERE (relpages - est_pages) * bs >= $1::float8 ORDER BY "
			       "wasted DESC, 1, 2, 3 LIMIT 20";

/* What is installed in the database, before any snapshot. */
int mon_db_probe(struct dbops_ctx *ctx, struct mon_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_rows *rows = NULL;
	const char *v;
	int err;

	if ((err = mon_exec(&rows, ctx, &db->c, mon_q_probe, 0, NULL)) != 0)
		return err;
	db->pgss_schema = h->rows_get(rows, 0, "pgss");
	db->hypopg_schema = h->rows_get(rows, 0, "hypopg");
	v = h->rows_get(rows, 0, "loaded");
	db->pgss_loaded = v != NULL && v[0] == 't';
	v = h->rows_get(rows, 0, "tables");
	db->tables = v != NULL && v[0] == 't';
	return 0;
}

static int mon_q1(struct dbops_rows **out, struct dbops_ctx *ctx,
		  struct mon_db *db, bool on, const char *sql, double a,
		  double b, double c)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *p[3];
	int n = 0;

	*out = NULL;
	if (!on)
		return 0;
	p[0] = h->printf(ctx, "%.17g", a);
	p[1] = h->printf(ctx, "%.17g", b);
	p[2] = h->printf(ctx, "%.17g", c);
	for (const char *s = sql; (s = strchr(s, '$')) != NULL; s++)
		if (s[1] >= '1' && s[1] <= '3' && s[1] - '0' > n)
			n = s[1] - '0';
	return mon_exec(out, ctx, &db->c, sql, n, p);
}

int mon_db_read(struct dbops_ctx *ctx, struct mon_db *db,
		const struct mon_spec *spec)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_check *k = spec->checks;
	int err;

	if ((err = mon_q1(&db->cache, ctx, db, true, mon_q_cache, 0, 0, 0)) ||
	    (err = mon_q1(&db->seqs, ctx, db, k[MON_CHK_SEQ].enabled,
			  mon_q_sequences, 0, 0, 0)) ||
	    (err = mon_q1(&db->unused, ctx, db, k[MON_CHK_UNUSED].enabled,
			  mon_q_unused, spec->unused_min_size, 0, 0)) ||
	    (err = mon_q1(&db->dup, ctx, db, k[MON_CHK_DUP].enabled,
			  mon_q_duplicates, 0, 0, 0)) ||
	    (err = mon_q1(&db->invalid, ctx, db, k[MON_CHK_INVALID].enabled,
			  mon_q_invalid, 0, 0, 0)) ||
	    (err = mon_q1(&db->seqscan, ctx, db, k[MON_CHK_SEQSCAN].enabled,
			  mon_q_seqscan, spec->seqscan_min_rows,
			  spec->seqscan_min_scans,
			  spec->seqscan_max_index_share)) ||
	    (err = mon_q1(&db->bloat_tables, ctx, db, k[MON_CHK_BLOAT].enabled,
			  mon_q_bloat_tables, spec->bloat_min_wasted, 0, 0)) ||
	    (err = mon_q1(&db->bloat_indexes, ctx, db, k[MON_CHK_BLOAT].enabled,
			  mon_q_bloat_indexes, spec->bloat_min_wasted, 0, 0)))
		return err;
	db->stats_reset = h->rows_get(db->cache, 0, "stats_reset");
	db->public_create =
	    h->rows_get(db->cache, 0, "public_create") &&
	    h->rows_get(db->cache, 0, "public_create")[0] == 't';
	return 0;
}

/* ---- judging */

static const char *mon_since(struct dbops_ctx *ctx, const struct mon_db *db)
{
	return db->stats_reset != NULL
		   ? dbops_host(ctx)->printf(ctx, "since %s", db->stats_reset)
		   : "since the statistics began";
}

static void mon_judge_sequences(struct dbops_ctx *ctx, struct mon_report *rep,
				const struct mon_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	struct mon_result *r = &rep->results[MON_CHK_SEQ];
	const struct dbops_rows *rows = db->seqs;

	for (int i = 0; rows != NULL && i < rows->nrows; i++) {
		double used = mon_num(h->rows_get(rows, i, "used"));

		if (used < spec->seq_max_used)
			continue;
		mon_finding_add(
		    ctx, r, spec->checks[MON_CHK_SEQ].sev, NULL, db->name, used,
		    "%s.%s.%s (%s, sequence %s.%s) is at %s of its maximum: %s of %s",
		    h->rows_get(rows, i, "schema"),
		    h->rows_get(rows, i, "table"),
		    h->rows_get(rows, i, "column"),
		    h->rows_get(rows, i, "type"),
		    h->rows_get(rows, i, "seq_schema"),
		    h->rows_get(rows, i, "seq"), mon_fmt_pct(ctx, used),
		    mon_fmt_count(ctx,
				  mon_num(h->rows_get(rows, i, "last_value"))),
		    mon_fmt_count(ctx,
				  mon_num(h->rows_get(rows, i, "max_value"))));
	}
	r->hint = "Change the column to bigint (and the sequence AS bigint) "
		  "before it runs out.";
}

static void mon_judge_indexes(struct dbops_ctx *ctx, struct mon_report *rep,
			      const struct mon_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	const struct dbops_rows *u = db->unused, *d = db->dup, *v = db->invalid;

	for (int i = 0; u != NULL && i < u->nrows; i++)
		mon_finding_add(
		    ctx, &rep->results[MON_CHK_UNUSED],
		    spec->checks[MON_CHK_UNUSED].sev, NULL, db->name,
		    mon_num(h->rows_get(u, i, "bytes")),
		    "%s.%s on %s: no index scan %s, %s",
		    h->rows_get(u, i, "schema"), h->rows_get(u, i, "index"),
		    h->rows_get(u, i, "table"), mon_since(ctx, db),
		    mon_fmt_bytes(ctx, mon_num(h->rows_get(u, i, "bytes"))));
	rep->results[MON_CHK_UNUSED].hint =
	    "Check the standbys too (their scans are not counted here), then "
	    "drop it in a migration: DROP INDEX CONCURRENTLY.";
	for (int i = 0; d != NULL && i < d->nrows; i++)
		mon_finding_add(
		    ctx, &rep->results[MON_CHK_DUP],
		    spec->checks[MON_CHK_DUP].sev, NULL, db->name,
		    mon_num(h->rows_get(d, i, "bytes")),
		    "%s.%s (%s) is covered by %s (%s)",
		    h->rows_get(d, i, "schema"), h->rows_get(d, i, "index"),
		    h->rows_get(d, i, "def"), h->rows_get(d, i, "covered_by"),
		    h->rows_get(d, i, "covering_def"));
	rep->results[MON_CHK_DUP].hint =
	    "Drop the covered index in a migration: DROP INDEX CONCURRENTLY.";
	for (int i = 0; v != NULL && i < v->nrows; i++)
		mon_finding_add(
		    ctx, &rep->results[MON_CHK_INVALID],
		    spec->checks[MON_CHK_INVALID].sev, NULL, db->name,
		    mon_num(h->rows_get(v, i, "bytes")),
		    "%s.%s on %s is invalid (a failed CREATE INDEX "
		    "CONCURRENTLY), %s",
		    h->rows_get(v, i, "schema"), h->rows_get(v, i, "index"),
		    h->rows_get(v, i, "table"),
		    mon_fmt_bytes(ctx, mon_num(h->rows_get(v, i, "bytes"))));
	rep->results[MON_CHK_INVALID].hint =
	    "Drop it (DROP INDEX CONCURRENTLY) and create it again, or REINDEX "
	    "INDEX CONCURRENTLY.";
}

static void mon_judge_tables(struct dbops_ctx *ctx, struct mon_report *rep,
			     const struct mon_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	const struct dbops_rows *s = db->seqscan;

	for (int i = 0; s != NULL && i < s->nrows; i++) {
		double seq = mon_num(h->rows_get(s, i, "seq_scan"));
		double idx = mon_num(h->rows_get(s, i, "idx_scan"));

		mon_finding_add(
		    ctx, &rep->results[MON_CHK_SEQSCAN],
		    spec->checks[MON_CHK_SEQSCAN].sev, NULL, db->name,
		    mon_num(h->rows_get(s, i, "seq_tup_read")),
		    "%s.%s (%s rows): %s sequential scans read %s rows, %s of "
		    "scans use an index, %s",
		    h->rows_get(s, i, "schema"), h->rows_get(s, i, "table"),
		    mon_fmt_count(ctx,
				  mon_num(h->rows_get(s, i, "n_live_tup"))),
		    mon_fmt_count(ctx, seq),
		    mon_fmt_count(ctx,
				  mon_num(h->rows_get(s, i, "seq_tup_read"))),
		    mon_fmt_pct(ctx, idx / (seq + idx)), mon_since(ctx, db));
	}
	rep->results[MON_CHK_SEQSCAN].hint =
	    "Run \"dbops monitoring report\" for index advice on the queries "
	    "that read these tables.";
}

static void mon_judge_bloat(struct dbops_ctx *ctx, struct mon_report *rep,
			    const struct mon_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	const struct dbops_rows *t = db->bloat_tables, *x = db->bloat_indexes;
	struct mon_result *r = &rep->results[MON_CHK_BLOAT];

	for (int i = 0; t != NULL && i < t->nrows; i++)
		mon_finding_add(
		    ctx, r, spec->checks[MON_CHK_BLOAT].sev, NULL, db->name,
		    mon_num(h->rows_get(t, i, "wasted")),
		    "table %s.%s: about %s of %s wasted (estimate)",
		    h->rows_get(t, i, "schema"), h->rows_get(t, i, "table"),
		    mon_fmt_bytes(ctx, mon_num(h->rows_get(t, i, "wasted"))),
		    mon_fmt_bytes(ctx, mon_num(h->rows_get(t, i, "bytes"))));
	for (int i = 0; x != NULL && i < x->nrows; i++)
		mon_finding_add(
		    ctx, r, spec->checks[MON_CHK_BLOAT].sev, NULL, db->name,
		    mon_num(h->rows_get(x, i, "wasted")),
		    "index %s.%s on %s: about %s of %s wasted (estimate)",
		    h->rows_get(x, i, "schema"), h->rows_get(x, i, "index"),
		    h->rows_get(x, i, "table"),
		    mon_fmt_bytes(ctx, mon_num(h->rows_get(x, i, "wasted"))),
		    mon_fmt_bytes(ctx, mon_num(h->rows_get(x, i, "bytes"))));
	r->hint = "REINDEX INDEX CONCURRENTLY for indexes; pg_repack or VACUUM "
		  "FULL (which locks the table) for tables.";
}

static void mon_judge_cache(struct dbops_ctx *ctx, struct mon_report *rep,
			    const struct mon_db *db)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct mon_spec *spec = rep->spec;
	struct mon_result *r = &rep->results[MON_CHK_CACHE];
	double hit = mon_num(h->rows_get(db->cache, 0, "blks_hit"));
	double read = mon_num(h->rows_get(db->cache, 0, "blks_read"));
	double ratio = hit + read > 0 ? hit / (hit + read) : NAN;

	r->hint = "A larger shared_buffers, or less data read per query (the "
		  "index advice of \"dbops monitoring report\").";
	if (db->cache == NULL || hit + read < (double)spec->cache_min_blocks) {
		if (r->summary == NULL)
			r->summary = "too few blocks read to judge";
		return;
	}
	r->summary = h->printf(
	    ctx, "%s%s%s", r->summary ? r->summary : "", r->summary ? ", " : "",
	    h->printf(ctx, "%s in \"%s\"", mon_fmt_pct(ctx, ratio), db->name));
	if (ratio >= spec->cache_min)
		return;
	mon_finding_add(
	    ctx, r, spec->checks[MON_CHK_CACHE].sev, NULL, db->name, ratio,
	    "hit ratio %s, under %s (%s blocks read from disk or the "
	    "OS cache, %s hit in shared buffers, %s)",
	    mon_fmt_pct(ctx, ratio), mon_fmt_pct(ctx, spec->cache_min),
	    mon_fmt_count(ctx, read), mon_fmt_count(ctx, hit),
	    mon_since(ctx, db));
}

void mon_judge_db(struct dbops_ctx *ctx, struct mon_report *rep,
		  const struct mon_db *db)
{
	const struct mon_spec *spec = rep->spec;

	if (spec->checks[MON_CHK_SEQ].enabled)
		mon_judge_sequences(ctx, rep, db);
	mon_judge_indexes(ctx, rep, db);
	if (spec->checks[MON_CHK_SEQSCAN].enabled)
		mon_judge_tables(ctx, rep, db);
	if (spec->checks[MON_CHK_BLOAT].enabled)
		mon_judge_bloat(ctx, rep, db);
	if (spec->checks[MON_CHK_CACHE].enabled)
		mon_judge_cache(ctx, rep, db);
	if (spec->checks[MON_CHK_SECURITY].enabled && db->public_create)
		mon_finding_add(
		    ctx, &rep->results[MON_CHK_SECURITY],
		    spec->checks[MON_CHK_SECURITY].sev_set
			? spec->checks[MON_CHK_SECURITY].sev
			: MON_WARNING,
		    "4.10", db->name, 0,
		    "PUBLIC may CREATE in schema public of database \"%s\"",
		    db->name);
}

/* ---- statements */

static bool mon_stmt_slow(const struct mon_spec *spec, const struct mon_stmt *s)
{
	return s->calls >= (double)spec->slow_min_calls &&
	       s->exec_ms / s->calls >= spec->slow_mean * 1000.0;
}

void mon_judge_statements(struct dbops_ctx *ctx, struct mon_report *rep,
			  const struct mon_db *db)
{
	const struct mon_spec *spec = rep->spec;
	const struct mon_window *w = &db->win;
	struct mon_result *slow = &rep->results[MON_CHK_SLOW];
	struct mon_result *ev = &rep->results[MON_CHK_STATEMENTS];

	for (size_t i = 0; i < db->nstmts; i++) {
		const struct mon_stmt *s = &db->stmts[i];

		if (!mon_stmt_slow(spec, s))
			continue;
		mon_finding_add(
		    ctx, slow, spec->checks[MON_CHK_SLOW].sev, NULL, db->name,
		    s->exec_ms,
		    "queryid %s (role %s): mean %s over %s calls, %s in all, "
		    "%s of the time: %s",
		    s->queryid, s->rolname ? s->rolname : s->userid,
		    mon_fmt_ms(ctx, s->exec_ms / s->calls),
		    mon_fmt_count(ctx, s->calls), mon_fmt_ms(ctx, s->exec_ms),
		    mon_fmt_pct(ctx,
				w->exec_ms > 0 ? s->exec_ms / w->exec_ms : NAN),
		    mon_oneline(ctx, s->text, 80));
	}
	slow->hint = "Run \"dbops monitoring report\" for the plans' index "
		     "advice.";
	if (w->dealloc_delta > 0)
		mon_finding_add(
		    ctx, ev, spec->checks[MON_CHK_STATEMENTS].sev, NULL,
		    db->name, w->dealloc_delta,
		    "pg_stat_statements evicted statements %s times in the "
		    "window (dealloc %s; %s of %s entries in use): "
		    "per-statement history is incomplete",
		    mon_fmt_count(ctx, w->dealloc_delta),
		    mon_fmt_count(ctx, w->dealloc),
		    mon_fmt_count(ctx, w->tracked_all),
		    mon_fmt_count(ctx, w->max));
	ev->hint = "Raise monitoring.statements.max (pg_stat_statements.max, "
		   "a restart), or keep fewer distinct statements.";
	if (w->reset_in_window != NULL)
		mon_finding_add(
		    ctx, ev, MON_WARNING, NULL, db->name, 0,
		    "pg_stat_statements was reset at %s (not by dbops): the "
		    "window's counts start there",
		    w->reset_in_window);
}

/* Slow statements judged by the mean of the window (used by the
 * report's table). */
bool mon_is_slow(const struct mon_spec *spec, const struct mon_stmt *s)
{
	return mon_stmt_slow(spec, s);
}
