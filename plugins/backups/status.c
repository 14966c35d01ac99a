/* SPDX-License-Identifier: PostgreSQL */
/*
 * status.c — the backups part of `dbops status`, and the read-only
 * commands `dbops backup list` and `dbops backup verify`. Status measures
 * the objectives instead of assuming them: the actual RPO (how long WAL
 * has waited to be archived while archiving fails or falls behind)
 * against objectives.rpo, the age of the newest backup against the
 * schedule, and the RTO of the last restore drill against objectives.rto.
 * Each miss is a WARNING, so the cluster shows as degraded; the
 * measurements are also metrics for the daemon's /metrics.
 */
#include "backups_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *st_age(struct dbops_ctx *ctx, int64_t s)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (s < 0)
		s = 0;
	if (s < 120)
		return h->printf(ctx, "%llds", (long long)s);
	if (s < 7200)
		return h->printf(ctx, "%lldm", (long long)(s / 60));
	if (s < 2 * 86400)
		return h->printf(ctx, "%lldh", (long long)(s / 3600));
	return h->printf(ctx, "%lldd", (long long)(s / 86400));
}

static const char *st_size(struct dbops_ctx *ctx, uint64_t b)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (b < 10 * 1024)
		return h->printf(ctx, "%llu B", (unsigned long long)b);
	if (b < 10ull * 1024 * 1024)
		return h->printf(ctx, "%llu kB",
				 (unsigned long long)(b / 1024));
	if (b < 10ull * 1024 * 1024 * 1024)
		return h->printf(ctx, "%llu MB",
				 (unsigned long long)(b / (1024 * 1024)));
	return h->printf(ctx, "%llu GB",
			 (unsigned long long)(b / (1024ull * 1024 * 1024)));
}

static const char *st_time(struct dbops_ctx *ctx, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	return dbops_host(ctx)->strdup(ctx, buf);
}

/* The worst-case window of WAL not yet archived, in seconds: 0 while
 * archiving keeps up. */
int64_t bak_actual_rpo(const struct bak_live *l)
{
	bool failing =
	    l->failed_count > 0 && l->last_failed_time >= l->last_archived_time;
	bool behind = false;
	int64_t since;

	if (l->current_wal != NULL && l->last_archived_wal != NULL &&
	    bak_wal_is_segment(l->last_archived_wal)) {
		/* more than the segment being written is waiting */
		unsigned long long cur, arc;
		char c[17], a[17];

		memcpy(c, l->current_wal + 8, 16);
		memcpy(a, l->last_archived_wal + 8, 16);
		c[16] = a[16] = '\0';
		cur = strtoull(c, NULL, 16);
		arc = strtoull(a, NULL, 16);
		/* log/seg as one number: 256 segments of 16 MB per log */
		cur = (cur >> 32) * 256 + (cur & 0xffffffffu);
		arc = (arc >> 32) * 256 + (arc & 0xffffffffu);
		behind = cur > arc + 1;
	}
	if (!failing && !behind)
		return 0;
	since = l->archived_count > 0 ? l->last_archived_time : l->started;
	return l->now - since;
}

static void st_warn(struct dbops_ctx *ctx, const struct dbops_loc *loc,
		    const char *detail, const char *hint, const char *msg)
{
	const struct dbops_host *h = dbops_host(ctx);
	struct dbops_diag *d =
	    h->diag(ctx, DBOPS_SEV_WARNING, 0, loc, "%s", msg);

	if (detail != NULL)
		h->diag_detail(ctx, d, "%s", detail);
	if (hint != NULL)
		h->diag_hint(ctx, d, "%s", hint);
}

static const struct bak_backup *st_newest(const struct bak_live *l)
{
	return l->cat.n > 0 ? &l->cat.v[l->cat.n - 1] : NULL;
}

static void st_archiving(struct dbops_ctx *ctx, const struct bak_spec *s,
			 const struct bak_live *l)
{
	const struct dbops_host *h = dbops_host(ctx);
	int64_t rpo = bak_actual_rpo(l);

	h->out(ctx, "  archiving  archive_mode %s, %lld archived, %lld failed",
	       l->archive_mode ? l->archive_mode : "?",
	       (long long)l->archived_count, (long long)l->failed_count);
	if (l->last_archived_wal != NULL)
		h->out(ctx, "; last %s %s ago", l->last_archived_wal,
		       st_age(ctx, l->now - l->last_archived_time));
	if (l->last_failed_wal != NULL)
		h->out(ctx, "; last failure %s %s ago", l->last_failed_wal,
		       st_age(ctx, l->now - l->last_failed_time));
	h->out(ctx, "\n");
	h->out(ctx, "  RPO        %s at risk%s%s\n", st_age(ctx, rpo),
	       s->rpo ? h->printf(ctx, " (objective %s)", st_age(ctx, s->rpo))
		      : "",
	       s->rpo && rpo > s->rpo ? "  MISSED" : "");
	h->metric(ctx, "dbops_wal_archive_age_seconds", NULL,
		  l->archived_count > 0
		      ? (double)(l->now - l->last_archived_time)
		      : -1,
		  "Seconds since PostgreSQL last archived a WAL file");
	h->metric(ctx, "dbops_wal_archive_failed_total", NULL,
		  (double)l->failed_count,
		  "WAL files whose archiving failed (pg_stat_archiver)");
	h->metric(ctx, "dbops_backup_rpo_seconds", NULL, (double)rpo,
		  "Worst-case seconds of WAL not yet archived");
	if (l->archive_mode == NULL || strcmp(l->archive_mode, "off") == 0)
		st_warn(
		    ctx, &s->loc, NULL,
		    "Run \"dbops apply\" to set archive_mode, then restart the server.",
		    "WAL archiving is off");
	else if (l->archive_command == NULL ||
		 strcmp(l->archive_command, s->archive_command) != 0)
		st_warn(ctx, &s->loc,
			h->printf(ctx, "The server runs \"%s\".",
				  l->archive_command ? l->archive_command : ""),
			"Run \"dbops apply\".",
			"archive_command is not the one the spec sets");
	if (s->rpo > 0 && rpo > s->rpo)
		st_warn(
		    ctx, &s->objectives_loc,
		    h->printf(
			ctx,
			"WAL has waited %s to be archived (last failure: %s); the objective is %s.",
			st_age(ctx, rpo),
			l->last_failed_wal ? l->last_failed_wal : "none",
			st_age(ctx, s->rpo)),
		    "Look at the server log for the archive_command's error.",
		    "the recovery point objective is missed");
}

static void st_backups(struct dbops_ctx *ctx, const struct bak_spec *s,
		       const struct bak_live *l)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct bak_backup *b = st_newest(l);
	struct bak_cron c;
	char why[128];

	h->metric(ctx, "dbops_backup_count", NULL, (double)l->cat.n,
		  "Backups in the repository");
	if (b == NULL) {
		h->out(ctx, "  backups    none\n");
		st_warn(
		    ctx, &s->loc, NULL,
		    "Run \"dbops backup run\", or let the daemon run the schedule.",
		    "there is no backup in the repository");
		return;
	}
	h->out(ctx, "  backups    %zu, newest %s (%s, %s ago), WAL up to %s\n",
	       l->cat.n, b->id, b->type, st_age(ctx, l->now - b->stop_time),
	       l->newest_wal ? l->newest_wal : "-");
	h->metric(ctx, "dbops_backup_last_success_timestamp_seconds", NULL,
		  (double)b->stop_time, "When the newest backup finished");
	h->metric(ctx, "dbops_backup_age_seconds", NULL,
		  (double)(l->now - b->stop_time), "Age of the newest backup");
	if (s->full_cron != NULL &&
	    bak_cron_parse(&c, s->full_cron, why, sizeof(why))) {
		/* the run before the last one must have left a backup: the
		 * last one may be in progress */
		time_t last = bak_cron_prev(&c, (time_t)l->now);
		time_t before = last ? bak_cron_prev(&c, last - 60) : 0;
		const char *inc = s->incr_cron;
		time_t due = before;

		if (inc != NULL && bak_cron_parse(&c, inc, why, sizeof(why))) {
			time_t il = bak_cron_prev(&c, (time_t)l->now);
			time_t ib = il ? bak_cron_prev(&c, il - 60) : 0;

			if (ib > due)
				due = ib;
		}
		if (due > 0 && b->stop_time < (int64_t)due)
			st_warn(
			    ctx, &s->loc,
			    h->printf(
				ctx,
				"The newest backup finished at %s UTC; the schedule ran at %s UTC since.",
				st_time(ctx, b->stop_time),
				st_time(ctx, (int64_t)due)),
			    "Look at the daemon's log, or run \"dbops backup run\".",
			    "the newest backup is older than its schedule");
	}
}

static void st_drill(struct dbops_ctx *ctx, const struct bak_spec *s,
		     const struct bak_live *l)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (!l->has_drill) {
		h->out(ctx, "  RTO        no restore drill recorded%s\n",
		       s->rto ? h->printf(ctx, " (objective %s)",
					  st_age(ctx, s->rto))
			      : "");
		if (s->rto > 0)
			st_warn(
			    ctx, &s->objectives_loc, NULL,
			    "Run \"dbops backup drill\": a backup is proven only by a restore.",
			    "the recovery time objective is not proven: no restore drill is recorded");
		return;
	}
	h->out(ctx, "  RTO        %.1fs in the last drill, %s ago, %s%s%s\n",
	       l->drill_rto, st_age(ctx, l->now - l->drill_time),
	       l->drill_ok ? "checks passed" : "FAILED",
	       s->rto ? h->printf(ctx, " (objective %s)", st_age(ctx, s->rto))
		      : "",
	       s->rto && l->drill_rto > (double)s->rto ? "  MISSED" : "");
	h->metric(ctx, "dbops_backup_drill_rto_seconds", NULL, l->drill_rto,
		  "Restore time measured by the last restore drill");
	h->metric(ctx, "dbops_backup_drill_success", NULL, l->drill_ok ? 1 : 0,
		  "Whether the last restore drill passed");
	h->metric(ctx, "dbops_backup_drill_timestamp_seconds", NULL,
		  (double)l->drill_time, "When the last restore drill ended");
	if (!l->drill_ok)
		st_warn(ctx, &s->loc, NULL,
			"Run \"dbops history\" for the drill's report.",
			"the last restore drill failed");
	else if (s->rto > 0 && l->drill_rto > (double)s->rto)
		st_warn(
		    ctx, &s->objectives_loc,
		    h->printf(
			ctx,
			"The last drill took %.1fs to restore; the objective is %s.",
			l->drill_rto, st_age(ctx, s->rto)),
		    NULL, "the recovery time objective is missed");
}

static int st_list(struct dbops_ctx *ctx, const struct bak_live *l)
{
	const struct dbops_host *h = dbops_host(ctx);

	if (l->cat.n == 0) {
		h->out(ctx, "No backups in the repository.\n");
		return 0;
	}
	h->out(ctx, "%-19s %-11s %-19s %-19s %-12s %-12s %-49s %9s %9s\n", "ID",
	       "TYPE", "PARENT", "STOPPED (UTC)", "START LSN", "STOP LSN",
	       "WAL", "SIZE", "STORED");
	for (size_t i = 0; i < l->cat.n; i++) {
		const struct bak_backup *b = &l->cat.v[i];

		h->out(ctx,
		       "%-19s %-11s %-19s %-19s %-12s %-12s %s-%s %9s %9s\n",
		       b->id, b->type, b->parent ? b->parent : "-",
		       st_time(ctx, b->stop_time),
		       h->printf(ctx, "%X/%X", (unsigned)(b->start_lsn >> 32),
				 (unsigned)b->start_lsn),
		       h->printf(ctx, "%X/%X", (unsigned)(b->stop_lsn >> 32),
				 (unsigned)b->stop_lsn),
		       b->wal_start, b->wal_stop, st_size(ctx, b->size),
		       st_size(ctx, b->stored_size));
	}
	h->out(ctx, "WAL in the repository up to %s.\n",
	       l->newest_wal ? l->newest_wal : "(none)");
	return 0;
}

int bak_status(struct dbops_ctx *ctx, const struct dbops_node *section,
	       void *live)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct bak_spec *s = bak_spec_of(ctx, section);
	struct bak_live *l = live;
	const char *mode = h->mode(ctx);

	if (!l->repo_ok) {
		struct dbops_diag *d =
		    h->diag(ctx, mode ? DBOPS_SEV_ERROR : DBOPS_SEV_WARNING,
			    DBOPS_ERR_TRANSIENT, &s->loc,
			    "could not read the backup repository");

		h->diag_detail(ctx, d, "%s", l->repo_error);
		if (mode != NULL)
			return DBOPS_ERR_TRANSIENT;
	}
	if (mode != NULL && strcmp(mode, "backup list") == 0)
		return st_list(ctx, l);
	if (mode != NULL && strcmp(mode, "backup verify") == 0)
		return bak_verify(ctx, s, l, h->arg(ctx, "set"));
	h->out(ctx, "backups (repository %s):\n",
	       s->repo.s3 ? h->printf(ctx, "s3://%s/%s", s->repo.bucket,
				      s->repo.prefix)
			  : s->repo.path);
	st_archiving(ctx, s, l);
	if (l->repo_ok)
		st_backups(ctx, s, l);
	st_drill(ctx, s, l);
	return 0;
}
