/* SPDX-License-Identifier: PostgreSQL */
/*
 * security.c — security findings, read-only, each with the CIS-style id
 * of the reference's table (pgDSAT's numbering of the CIS PostgreSQL
 * benchmark) or a dbops id: superusers other than the expected ones
 * (4.3), trust/password/md5/ident lines in pg_hba.conf (5.3/5.4),
 * ssl off while pg_hba.conf accepts TCP connections from beyond the
 * loopback (5.8), password_encryption other than scram-sha-256 (5.12),
 * CREATE on schema public for PUBLIC (4.10, judged per database in
 * checks_db.c), log_connections off (3.1.20), md5 verifiers still stored
 * (dbops:md5) and, when the spec asks for password expiry, login roles
 * without one (dbops:expiry). A finding's severity is pgDSAT's (CRITICAL
 * is an error, WARNING a warning) unless the spec sets one; ids in
 * `ignore` are not reported. dbops never changes anything here.
 */
#include "monitoring_int.h"

#include <string.h>

static bool mon_ignored(const struct mon_spec *spec, const char *id)
{
	for (size_t i = 0; i < spec->nsec_ignore; i++)
		if (strcmp(spec->sec_ignore[i], id) == 0)
			return true;
	return false;
}

static void mon_sec(struct dbops_ctx *ctx, struct mon_report *rep,
		    enum mon_sev dflt, const char *id, const char *text)
{
	const struct mon_check *c = &rep->spec->checks[MON_CHK_SECURITY];

	if (mon_ignored(rep->spec, id))
		return;
	mon_finding_add(ctx, &rep->results[MON_CHK_SECURITY],
			c->sev_set ? c->sev : dflt, id, NULL, 0, "%s", text);
}

static bool mon_expected_superuser(const struct mon_report *rep,
				   const char *name)
{
	const struct mon_spec *spec = rep->spec;

	/* the role dbops connects as needs its rights */
	if (rep->cl.current_user != NULL &&
	    strcmp(rep->cl.current_user, name) == 0)
		return true;
	if (spec->nsuperusers == 0)
		return strcmp(name, "postgres") == 0;
	for (size_t i = 0; i < spec->nsuperusers; i++)
		if (strcmp(spec->superusers[i], name) == 0)
			return true;
	return false;
}

static bool mon_loopback(const char *address, const char *netmask)
{
	if (address == NULL)
		return false;
	if (strcmp(address, "127.0.0.1") == 0)
		return netmask != NULL &&
		       strcmp(netmask, "255.255.255.255") == 0;
	if (strcmp(address, "::1") == 0)
		return netmask != NULL &&
		       strcmp(netmask,
			      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 0;
	return strcmp(address, "localhost") == 0;
}

static void mon_judge_hba(struct dbops_ctx *ctx, struct mon_report *rep,
			  bool *remote_tcp)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_rows *r = rep->cl.hba;

	for (int i = 0; r != NULL && i < r->nrows; i++) {
		const char *type = h->rows_get(r, i, "type");
		const char *method = h->rows_get(r, i, "auth_method");
		const char *addr = h->rows_get(r, i, "address");
		const char *line = h->printf(
		    ctx, "pg_hba.conf line %s: %s %s %s%s%s%s%s %s",
		    h->rows_get(r, i, "line_number"), type ? type : "?",
		    h->rows_get(r, i, "database")
			? h->rows_get(r, i, "database")
			: "?",
		    h->rows_get(r, i, "user_name")
			? h->rows_get(r, i, "user_name")
			: "?",
		    addr ? " " : "", addr ? addr : "",
		    h->rows_get(r, i, "netmask") ? "/" : "",
		    h->rows_get(r, i, "netmask") ? h->rows_get(r, i, "netmask")
						 : "",
		    method ? method : "?");

		if (h->rows_get(r, i, "error") != NULL) {
			mon_sec(ctx, rep, MON_ERROR, "dbops:hba-error",
				h->printf(ctx,
					  "pg_hba.conf line %s does not "
					  "parse: %s",
					  h->rows_get(r, i, "line_number"),
					  h->rows_get(r, i, "error")));
			continue;
		}
		if (type != NULL && strcmp(type, "local") != 0 &&
		    strcmp(type, "hostssl") != 0 && method != NULL &&
		    strcmp(method, "reject") != 0 &&
		    !mon_loopback(addr, h->rows_get(r, i, "netmask")))
			*remote_tcp = true;
		if (method == NULL)
			continue;
		if (strcmp(method, "trust") == 0)
			mon_sec(ctx, rep, MON_ERROR, "5.3/5.4",
				h->printf(ctx, "%s: no password at all", line));
		else if (strcmp(method, "password") == 0)
			mon_sec(ctx, rep, MON_ERROR, "5.3/5.4",
				h->printf(ctx,
					  "%s: the password is sent in "
					  "clear text",
					  line));
		else if (strcmp(method, "md5") == 0)
			mon_sec(ctx, rep, MON_WARNING, "5.3/5.4",
				h->printf(ctx,
					  "%s: MD5 challenges can be "
					  "replayed; use scram-sha-256",
					  line));
		else if (strcmp(method, "ident") == 0)
			mon_sec(ctx, rep, MON_WARNING, "5.3/5.4",
				h->printf(ctx,
					  "%s: ident trusts the client "
					  "host's identd",
					  line));
	}
}

static void mon_judge_roles(struct dbops_ctx *ctx, struct mon_report *rep)
{
	const struct dbops_host *h = dbops_host(ctx);
	const struct dbops_rows *su = rep->cl.superusers;
	const struct dbops_rows *md5 = rep->cl.md5;
	const struct dbops_rows *ne = rep->cl.no_expiry;

	for (int i = 0; su != NULL && i < su->nrows; i++)
		if (!mon_expected_superuser(rep, su->values[i]))
			mon_sec(ctx, rep, MON_WARNING, "4.3",
				h->printf(ctx,
					  "role \"%s\" is a superuser and is "
					  "not among the expected ones",
					  su->values[i]));
	for (int i = 0; md5 != NULL && i < md5->nrows; i++)
		mon_sec(ctx, rep, MON_WARNING, "dbops:md5",
			h->printf(ctx,
				  "role \"%s\" still has an MD5 password "
				  "verifier; set its password again under "
				  "password_encryption = scram-sha-256",
				  md5->values[i]));
	for (int i = 0; ne != NULL && i < ne->nrows; i++)
		mon_sec(ctx, rep, MON_WARNING, "dbops:expiry",
			h->printf(ctx,
				  "login role \"%s\" has no password expiry "
				  "(VALID UNTIL)",
				  ne->values[i]));
}

static void mon_judge_settings(struct dbops_ctx *ctx, struct mon_report *rep,
			       bool remote_tcp)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *ssl = mon_setting(&rep->cl, "ssl");
	const char *pe = mon_setting(&rep->cl, "password_encryption");
	const char *lc = mon_setting(&rep->cl, "log_connections");

	if (ssl != NULL && strcmp(ssl, "on") != 0 && remote_tcp)
		mon_sec(ctx, rep, MON_WARNING, "5.8",
			"ssl is off while pg_hba.conf accepts TCP connections "
			"from beyond the loopback: passwords and data cross "
			"the network unencrypted");
	if (pe != NULL && strcmp(pe, "scram-sha-256") != 0)
		mon_sec(ctx, rep, MON_WARNING, "5.12",
			h->printf(ctx,
				  "password_encryption is %s, not "
				  "scram-sha-256",
				  pe));
	if (lc != NULL && strcmp(lc, "on") != 0)
		mon_sec(ctx, rep, MON_WARNING, "3.1.20",
			"log_connections is off: connection attempts leave no "
			"trace in the server log");
}

void mon_judge_security(struct dbops_ctx *ctx, struct mon_report *rep)
{
	struct mon_result *r = &rep->results[MON_CHK_SECURITY];
	bool remote_tcp = rep->cl.hba == NULL; /* unknown: assume so */
	const char *unread = NULL;

	if (!rep->spec->checks[MON_CHK_SECURITY].enabled)
		return;
	mon_judge_hba(ctx, rep, &remote_tcp);
	mon_judge_roles(ctx, rep);
	mon_judge_settings(ctx, rep, remote_tcp);
	if (rep->cl.hba == NULL && rep->cl.md5 == NULL)
		unread = "pg_hba_file_rules and pg_authid";
	else if (rep->cl.hba == NULL)
		unread = "pg_hba_file_rules";
	else if (rep->cl.md5 == NULL)
		unread = "pg_authid";
	if (unread != NULL)
		r->note = dbops_host(ctx)->printf(
		    ctx,
		    "%s could not be read (a superuser can): their findings "
		    "are not checked",
		    unread);
	r->hint = "Each finding names its CIS benchmark item (pgDSAT's "
		  "numbering); checks.security.ignore takes the ids accepted "
		  "on purpose.";
}
