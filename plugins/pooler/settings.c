/* SPDX-License-Identifier: PostgreSQL */
/*
 * settings.c — the [pgbouncer] settings of PgBouncer 1.18 (the rows of its
 * SHOW CONFIG, with `changeable` = no marking those applied only at
 * start), their value types, and how two texts of a value compare: SHOW
 * CONFIG shows numbers and times as plain numbers (seconds), booleans as
 * 0/1 and unix_socket_mode in decimal, while the ini file takes 1.5,
 * yes/on/true and octal. `conffile` is left out: it names the file itself.
 */
#include "pooler_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S POOL_T_STRING
#define N POOL_T_NUMBER
#define B POOL_T_BOOL
#define E POOL_T_ENUM

/* sorted by name */
static const struct pool_setting_def pool_defs[] = {
    {"admin_users", S, true, NULL},
    {"application_name_add_host", B, true, NULL},
    {"auth_file", S, true, NULL},
    {"auth_hba_file", S, true, NULL},
    {"auth_query", S, true, NULL},
    {"auth_type", E, true, "cert|md5|scram-sha-256|plain|trust|any|hba|pam"},
    {"auth_user", S, true, NULL},
    {"autodb_idle_timeout", N, true, NULL},
    {"client_idle_timeout", N, true, NULL},
    {"client_login_timeout", N, true, NULL},
    {"client_tls_ca_file", S, true, NULL},
    {"client_tls_cert_file", S, true, NULL},
    {"client_tls_ciphers", S, true, NULL},
    {"client_tls_dheparams", S, true, NULL},
    {"client_tls_ecdhcurve", S, true, NULL},
    {"client_tls_key_file", S, true, NULL},
    {"client_tls_protocols", S, true, NULL},
    {"client_tls_sslmode", E, true,
     "disable|allow|prefer|require|verify-ca|verify-full"},
    {"default_pool_size", N, true, NULL},
    {"disable_pqexec", B, false, NULL},
    {"dns_max_ttl", N, true, NULL},
    {"dns_nxdomain_ttl", N, true, NULL},
    {"dns_zone_check_period", N, true, NULL},
    {"idle_transaction_timeout", N, true, NULL},
    {"ignore_startup_parameters", S, true, NULL},
    {"job_name", S, false, NULL},
    {"listen_addr", S, false, NULL},
    {"listen_backlog", N, false, NULL},
    {"listen_port", N, false, NULL},
    {"log_connections", B, true, NULL},
    {"log_disconnections", B, true, NULL},
    {"log_pooler_errors", B, true, NULL},
    {"log_stats", B, true, NULL},
    {"logfile", S, true, NULL},
    {"max_client_conn", N, true, NULL},
    {"max_db_connections", N, true, NULL},
    {"max_packet_size", N, true, NULL},
    {"max_user_connections", N, true, NULL},
    {"min_pool_size", N, true, NULL},
    {"pidfile", S, false, NULL},
    {"pkt_buf", N, false, NULL},
    {"pool_mode", E, true, "session|transaction|statement"},
    {"query_timeout", N, true, NULL},
    {"query_wait_timeout", N, true, NULL},
    {"reserve_pool_size", N, true, NULL},
    {"reserve_pool_timeout", N, true, NULL},
    {"resolv_conf", S, false, NULL},
    {"sbuf_loopcnt", N, true, NULL},
    {"server_check_delay", N, true, NULL},
    {"server_check_query", S, true, NULL},
    {"server_connect_timeout", N, true, NULL},
    {"server_fast_close", B, true, NULL},
    {"server_idle_timeout", N, true, NULL},
    {"server_lifetime", N, true, NULL},
    {"server_login_retry", N, true, NULL},
    {"server_reset_query", S, true, NULL},
    {"server_reset_query_always", B, true, NULL},
    {"server_round_robin", B, true, NULL},
    {"server_tls_ca_file", S, true, NULL},
    {"server_tls_cert_file", S, true, NULL},
    {"server_tls_ciphers", S, true, NULL},
    {"server_tls_key_file", S, true, NULL},
    {"server_tls_protocols", S, true, NULL},
    {"server_tls_sslmode", E, true,
     "disable|allow|prefer|require|verify-ca|verify-full"},
    {"so_reuseport", B, false, NULL},
    {"stats_period", N, true, NULL},
    {"stats_users", S, true, NULL},
    {"suspend_timeout", N, true, NULL},
    {"syslog", B, true, NULL},
    {"syslog_facility", S, true, NULL},
    {"syslog_ident", S, true, NULL},
    {"tcp_defer_accept", N, true, NULL},
    {"tcp_keepalive", B, true, NULL},
    {"tcp_keepcnt", N, true, NULL},
    {"tcp_keepidle", N, true, NULL},
    {"tcp_keepintvl", N, true, NULL},
    {"tcp_socket_buffer", N, true, NULL},
    {"tcp_user_timeout", N, true, NULL},
    {"unix_socket_dir", S, false, NULL},
    {"unix_socket_group", S, false, NULL},
    {"unix_socket_mode", POOL_T_MODE, false, NULL},
    {"user", S, false, NULL},
    {"verbose", N, true, NULL},
};

#undef S
#undef N
#undef B
#undef E

#define POOL_NDEFS (sizeof(pool_defs) / sizeof(pool_defs[0]))

static int pool_def_cmp(const void *key, const void *elem)
{
	const struct pool_setting_def *d = elem;

	return strcasecmp(key, d->name);
}

const struct pool_setting_def *pool_setting_find(const char *name)
{
	return bsearch(name, pool_defs, POOL_NDEFS, sizeof(pool_defs[0]),
		       pool_def_cmp);
}

/* Optimal string alignment distance, ASCII case-insensitive. */
#define POOL_SUGGEST_MAX 64

/* The setting names, for "did you mean" (host->suggest). */
const char *const *pool_setting_names(size_t *n_out)
{
	static const char *names[POOL_NDEFS];

	if (names[0] == NULL)
		for (size_t i = 0; i < POOL_NDEFS; i++)
			names[i] = pool_defs[i].name;
	*n_out = POOL_NDEFS;
	return names;
}

/* 1 true, 0 false, -1 neither (PgBouncer's cf_set_bool words). */
static int pool_bool(const char *s)
{
	static const char *const yes[] = {"1", "yes", "on", "true"};
	static const char *const no[] = {"0", "no", "off", "false"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static bool pool_number(const char *s, double *out)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return false;
	*out = strtod(s, &end);
	return *end == '\0';
}

static bool pool_octal(const char *s, long *out, int base)
{
	char *end;

	if (*s == '\0')
		return false;
	*out = strtol(s, &end, base);
	return *end == '\0' && *out >= 0;
}

static bool pool_enum_has(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; p != NULL && *p;) {
		const char *bar = strchr(p, '|');
		size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);

		if (n == len && strncasecmp(p, word, len) == 0)
			return true;
		p = bar != NULL ? bar + 1 : NULL;
	}
	return false;
}

bool pool_setting_valid(const struct pool_setting_def *def, const char *text,
			const char **why)
{
	double num;
	long mode;

	switch (def->type) {
	case POOL_T_NUMBER:
		*why = "The value must be a number (times are in seconds).";
		return pool_number(text, &num) && num >= 0;
	case POOL_T_BOOL:
		*why =
		    "The value must be a boolean: 0 or 1, no or yes, off or on.";
		return pool_bool(text) >= 0;
	case POOL_T_ENUM:
		*why = NULL;
		return pool_enum_has(def->enumvals, text);
	case POOL_T_MODE:
		*why = "The value must be an octal file mode, such as 0777.";
		return pool_octal(text, &mode, 8);
	case POOL_T_STRING:
		break;
	}
	*why = "The value must not contain a line break.";
	return strchr(text, '\n') == NULL && strchr(text, '\r') == NULL;
}

bool pool_value_equal(const struct pool_setting_def *def, const char *a,
		      const char *b)
{
	double na, nb;
	long ma, mb;

	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	switch (def != NULL ? def->type : POOL_T_STRING) {
	case POOL_T_NUMBER:
		if (pool_number(a, &na) && pool_number(b, &nb))
			return na == nb;
		break;
	case POOL_T_BOOL:
		if (pool_bool(a) >= 0 && pool_bool(b) >= 0)
			return pool_bool(a) == pool_bool(b);
		break;
	case POOL_T_ENUM:
		return strcasecmp(a, b) == 0;
	case POOL_T_MODE:
		/* the spec's text is octal; SHOW CONFIG's is decimal */
		if (pool_octal(a, &ma, 8) && pool_octal(b, &mb, 10))
			return ma == mb;
		break;
	case POOL_T_STRING:
		break;
	}
	return strcmp(a, b) == 0;
}
