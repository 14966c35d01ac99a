/* SPDX-License-Identifier: PostgreSQL */
/*
 * test_backups.c — the "backups" plugin without a server: the spec checks
 * and the facts validate publishes, cron schedules, the catalog and
 * PostgreSQL's manifest, retention at its boundaries, the codecs
 * (compression, encryption, tampering), the tar format, the POSIX
 * repository's atomic and exclusive uploads, the restore target's choice
 * of backup, and the objectives status reports.
 */
#include "t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_host.h"
#include "../../plugins/backups/backups_int.h"

static const char bak_yaml[] =
    "backups:\n"
    "  repository:\n"
    "    s3:\n"
    "      endpoint: https://s3.example:9000\n"
    "      bucket: db\n"
    "      region: eu-west-1\n"
    "      prefix: prod/main\n"
    "      uri_style: path\n"
    "      credentials:\n"
    "        access_key_id: {env: DBOPS_SECRET_S3_KEY}\n"
    "        secret_access_key: {env: DBOPS_SECRET_S3_SECRET}\n"
    "  compression: {type: zstd, level: 5, where: client}\n"
    "  encryption: {key: {env: DBOPS_SECRET_BACKUP_KEY}}\n"
    "  schedule: {full: \"0 3 * * 0\", incremental: \"0 3 * * 1-6\"}\n"
    "  retention: {full: 2, age: 14d}\n"
    "  archive_timeout: 60s\n"
    "  objectives: {rpo: 5m, rto: 30m}\n"
    "  dbops: /usr/local/bin/dbops\n"
    "  os_user: postgres\n"
    "  drill:\n"
    "    schedule: \"0 5 * * 0\"\n"
    "    directory: /var/tmp/drill\n"
    "    checks:\n"
    "      - {sql: \"select count(*) from users\", expect: \"42\"}\n";

static const struct dbops_node *bak_t_section(struct fake_ctx *fc,
					      const char *yaml)
{
	const struct dbops_node *root = fake_host_spec(fc, yaml);

	return root ? dbops_host(fake_host_ctx(fc))->spec_get(root, "backups")
		    : NULL;
}

static const char *bak_t_fact(struct fake_ctx *fc, const char *name)
{
	for (size_t i = 0; i < fc->nfacts; i++)
		if (strcmp(fc->facts[i].name, name) == 0)
			return fc->facts[i].value;
	return NULL;
}

TEST(test_backups__validate_publishes_archiving_and_schedules)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s = bak_t_section(fc, bak_yaml);

	T_ASSERT(s != NULL);
	T_ASSERT_INT(bak_validate(fake_host_ctx(fc), s), 0);
	T_ASSERT_STR(bak_t_fact(fc, "parameters.require.archive_mode"), "on");
	T_ASSERT_STR(
	    bak_t_fact(fc, "parameters.require.archive_command"),
	    "/usr/local/bin/dbops wal-push --repo s3://db/prod/main --endpoint https://s3.example:9000 --region eu-west-1 --uri-style path --access-key-env DBOPS_SECRET_S3_KEY --secret-key-env DBOPS_SECRET_S3_SECRET --compress zstd:5 --key-env DBOPS_SECRET_BACKUP_KEY %p");
	T_ASSERT_STR(bak_t_fact(fc, "parameters.require.archive_timeout"),
		     "60s");
	T_ASSERT_STR(bak_t_fact(fc, "schedule.backups.full"),
		     "0 3 * * 0 backup run --type full");
	T_ASSERT_STR(bak_t_fact(fc, "schedule.backups.incremental"),
		     "0 3 * * 1-6 backup run --type incremental");
	T_ASSERT_STR(bak_t_fact(fc, "schedule.backups.drill"),
		     "0 5 * * 0 backup drill");
	/* the objectives, in milliseconds, for the monitoring plugin */
	T_ASSERT_STR(bak_t_fact(fc, "backups.objectives.rpo"), "300000");
	T_ASSERT_STR(bak_t_fact(fc, "backups.objectives.rto"), "1800000");
	fake_host_free(fc);
}

TEST(test_backups__validate_marks_endpoints_and_paths)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s = bak_t_section(fc, bak_yaml);
	size_t conn = 0, path = 0, exec = 0;

	T_ASSERT_INT(bak_validate(fake_host_ctx(fc), s), 0);
	for (size_t i = 0; i < fc->ntrust; i++) {
		if (fc->trust[i].kind == DBOPS_TRUST_CONNECTION)
			conn++;
		else if (fc->trust[i].kind == DBOPS_TRUST_PATH)
			path++;
		else if (fc->trust[i].kind == DBOPS_TRUST_EXEC)
			exec++;
	}
	T_ASSERT_INT(conn, 1); /* the s3 map: endpoint, bucket, prefix... */
	T_ASSERT_INT(path, 1); /* drill.directory */
	T_ASSERT_INT(exec, 2); /* dbops (archive_command), os_user */
	fake_host_free(fc);
}

TEST(test_backups__validate_reports_every_problem_located)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s =
	    bak_t_section(fc, "backups:\n"
			      "  repository: {posix: {path: relative/dir}}\n"
			      "  compression: brotli\n"
			      "  schedule: {full: \"61 3 * * *\"}\n"
			      "  retention: {fuli: 3}\n"
			      "  objectives: {rpo: soon}\n"
			      "  drill: {checks: [{sql: \"select 1\"}]}\n");
	const char *out;

	T_ASSERT_INT(bak_validate(fake_host_ctx(fc), s), DBOPS_ERR_INVALID);
	out = fake_host_render(fc);
	T_ASSERT_CONTAINS(
	    out,
	    "spec.yaml:2:30: ERROR:  repository.posix.path \"relative/dir\" is not an absolute path");
	T_ASSERT_CONTAINS(
	    out, "spec.yaml:3:16: ERROR:  unknown compression \"brotli\"");
	T_ASSERT_CONTAINS(
	    out,
	    "spec.yaml:4:20: ERROR:  invalid cron schedule \"61 3 * * *\"");
	T_ASSERT_CONTAINS(out, "The minute field \"61\" is not valid.");
	T_ASSERT_CONTAINS(out, "\"fuli\"");
	T_ASSERT_CONTAINS(out,
			  "spec.yaml:6:21: ERROR:  invalid duration \"soon\"");
	T_ASSERT_CONTAINS(out, "a drill check needs expect");
	T_ASSERT_INT(fc->nfacts, 0);
	fake_host_free(fc);
}

TEST(test_backups__validate_refuses_literal_secret)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s = bak_t_section(
	    fc,
	    "backups:\n"
	    "  repository:\n"
	    "    s3: {endpoint: \"https://h\", bucket: b, credentials: {access_key_id: AKIA, secret_access_key: {env: DBOPS_SECRET_X}}}\n"
	    "  encryption: {}\n");
	const char *out;

	T_ASSERT_INT(bak_validate(fake_host_ctx(fc), s), DBOPS_ERR_INVALID);
	out = fake_host_render(fc);
	T_ASSERT_CONTAINS(out, "encryption needs a key");
	T_ASSERT_CONTAINS(out, "access_key_id");
	fake_host_free(fc);
}

TEST(test_backups__cron_next_and_prev)
{
	struct bak_cron c;
	char why[128];
	time_t t0 = 1767225600; /* 2026-01-01 00:00 UTC, a Thursday */

	T_ASSERT(bak_cron_parse(&c, "0 3 * * 0", why, sizeof(why)));
	/* the next Sunday, 2026-01-04 03:00 */
	T_ASSERT_INT(bak_cron_next(&c, t0), 1767495600);
	T_ASSERT_INT(bak_cron_prev(&c, 1767495600 + 59), 1767495600);
	T_ASSERT(bak_cron_parse(&c, "*/15 9-17 * * mon-fri", why, sizeof(why)));
	T_ASSERT_INT(bak_cron_next(&c, t0), t0 + 9 * 3600); /* Thu 09:00 */
	T_ASSERT_INT(bak_cron_next(&c, t0 + 9 * 3600), t0 + 9 * 3600 + 900);
	T_ASSERT(bak_cron_parse(&c, "@daily", why, sizeof(why)));
	T_ASSERT_INT(bak_cron_next(&c, t0), t0 + 86400);
	/* day of month or day of week, as Vixie cron */
	T_ASSERT(bak_cron_parse(&c, "0 0 15 * 0", why, sizeof(why)));
	T_ASSERT_INT(bak_cron_next(&c, t0), 1767484800); /* Sun 4 Jan */
	T_ASSERT(bak_cron_parse(&c, "0 0 * * 7", why, sizeof(why)));
	T_ASSERT_INT(bak_cron_next(&c, t0), 1767484800);
}

TEST(test_backups__cron_refuses_bad_fields)
{
	struct bak_cron c;
	char why[128];

	T_ASSERT(!bak_cron_parse(&c, "0 3 * *", why, sizeof(why)));
	T_ASSERT_STR(why, "A schedule has five fields.");
	T_ASSERT(!bak_cron_parse(&c, "0 24 * * *", why, sizeof(why)));
	T_ASSERT_STR(why, "The hour field \"24\" is not valid.");
	T_ASSERT(!bak_cron_parse(&c, "0 0 0 * *", why, sizeof(why)));
	T_ASSERT(!bak_cron_parse(&c, "*/0 * * * *", why, sizeof(why)));
	T_ASSERT(!bak_cron_parse(&c, "5-1 * * * *", why, sizeof(why)));
}

static struct bak_backup bak_t_backup(const char *id, const char *type,
				      const char *parent, int64_t stop,
				      const char *wal_start)
{
	struct bak_backup b;

	memset(&b, 0, sizeof(b));
	b.id = strdup(id);
	b.type = strdup(type);
	b.parent = parent ? strdup(parent) : NULL;
	b.start_time = stop - 10;
	b.stop_time = stop;
	b.stop_usec = stop * 1000000;
	b.wal_start = strdup(wal_start);
	b.wal_stop = strdup(wal_start);
	b.archive = strdup("data.tar.lz4");
	b.compression = strdup("lz4");
	b.start_lsn = 0x2000028;
	b.stop_lsn = 0x2000100;
	b.timeline = 1;
	return b;
}

TEST(test_backups__catalog_roundtrip)
{
	struct bak_backup b = bak_t_backup("20260101T030000ZI", "incremental",
					   "20260101T020000ZF", 1767236400,
					   "000000010000000000000002");
	struct bak_backup r;
	struct bak_file f = {"base/1/1259", 8192, 1767230000, 0xdeadbeef,
			     "20260101T020000ZF"};
	struct bak_err e = {0};
	char *json;

	b.files = &f;
	b.nfiles = 1;
	json = bak_backup_to_json(&b);
	b.files = NULL;
	b.nfiles = 0;
	T_ASSERT_INT(bak_backup_from_json(&r, json, &e), 0);
	T_ASSERT_STR(r.id, "20260101T030000ZI");
	T_ASSERT_STR(r.parent, "20260101T020000ZF");
	T_ASSERT_INT(r.stop_lsn, 0x2000100);
	T_ASSERT_INT(r.nfiles, 1);
	T_ASSERT_STR(r.files[0].path, "base/1/1259");
	T_ASSERT_INT(r.files[0].crc, 0xdeadbeef);
	T_ASSERT_STR(r.files[0].stored_in, "20260101T020000ZF");
	free(json);
	bak_backup_dispose(&r);
	bak_backup_dispose(&b);
}

TEST(test_backups__catalog_refuses_what_is_missing)
{
	struct bak_backup r;
	struct bak_err e = {0};

	T_ASSERT_INT(bak_backup_from_json(&r, "[1]", &e), DBOPS_ERR_INVALID);
	T_ASSERT_INT(
	    bak_backup_from_json(
		&r,
		"{\"format\":1,\"id\":\"x\",\"type\":\"incremental\",\"timeline\":1,\"start_lsn\":\"0/1\",\"stop_lsn\":\"0/2\",\"start_time\":1,\"stop_time\":2,\"stop_usec\":2000000,\"wal_start\":\"a\",\"wal_stop\":\"b\",\"size\":1,\"stored_size\":1,\"archive\":\"a\",\"compression\":\"none\",\"files\":[]}",
		&e),
	    DBOPS_ERR_INVALID);
	T_ASSERT_STR(
	    e.msg,
	    "invalid backup catalog entry: \"parent\" is missing or of the wrong type");
	T_ASSERT_INT(
	    bak_backup_from_json(&r, "{\"format\":1,\"id\":\"x\"}", &e),
	    DBOPS_ERR_INVALID);
	T_ASSERT_STR(
	    e.msg,
	    "invalid backup catalog entry: \"type\" is missing or of the wrong type");
}

TEST(test_backups__manifest_files_and_crc32c_byte_order)
{
	/* CRC-32C of "123456789" is e3069283; PostgreSQL's manifest writes
	 * its bytes in memory order: 839206e3 */
	static const char manifest[] =
	    "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n"
	    "\"Files\": [\n"
	    "{ \"Path\": \"global/pg_control\", \"Size\": 8192, \"Last-Modified\": \"2026-01-01 03:00:00 GMT\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"839206e3\" },\n"
	    "{ \"Path\": \"PG_VERSION\", \"Size\": 3, \"Last-Modified\": \"2026-01-01 02:00:00 GMT\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"00000000\" }\n"
	    "] }";
	struct bak_file *files = NULL;
	size_t n = 0;
	struct bak_err e = {0};

	T_ASSERT_INT(bak_crc32c(0, "123456789", 9), 0xe3069283u);
	T_ASSERT_INT(bak_manifest_files(&files, &n, manifest,
					sizeof(manifest) - 1, "B1", &e),
		     0);
	T_ASSERT_INT(n, 2);
	T_ASSERT_STR(files[0].path, "PG_VERSION"); /* sorted by path */
	T_ASSERT_STR(files[1].path, "global/pg_control");
	T_ASSERT_INT(files[1].crc, 0xe3069283u);
	T_ASSERT_INT(files[1].mtime, 1767236400);
	T_ASSERT_STR(files[1].stored_in, "B1");
	for (size_t i = 0; i < n; i++) {
		free((char *)(uintptr_t)files[i].path);
		free((char *)(uintptr_t)files[i].stored_in);
	}
	free(files);
}

TEST(test_backups__time_parse_offsets)
{
	T_ASSERT_INT(bak_time_parse("2026-01-01 03:00:00 GMT"), 1767236400);
	T_ASSERT_INT(bak_time_parse("2026-01-01 03:00:00.999999+00"),
		     1767236400);
	T_ASSERT_INT(bak_time_parse("2026-01-01 05:00:00+02"), 1767236400);
	T_ASSERT_INT(bak_time_parse("2026-01-01T02:30:00-00:30"), 1767236400);
	T_ASSERT_INT(bak_time_parse("2026-01-01 03:00:00Z"), 1767236400);
	T_ASSERT_INT(bak_time_parse("tomorrow"), -1);
	T_ASSERT_INT(bak_time_parse("2026-01-01 03:00:00 CET"), -1);
}

/* A catalog of fulls at the given stop times (seconds), each followed by
 * `incr` incrementals. */
static void bak_t_catalog(struct bak_catalog *cat, const int64_t *stops,
			  size_t n, int incr)
{
	cat->v = calloc(n * (size_t)(incr + 1) + 1, sizeof(*cat->v));
	cat->n = 0;
	for (size_t i = 0; i < n; i++) {
		char id[32], wal[32], pid[32];

		snprintf(id, sizeof(id), "2026010%zuT000000ZF", i + 1);
		snprintf(wal, sizeof(wal), "0000000100000000000000%02zX",
			 i * 4 + 2);
		cat->v[cat->n++] =
		    bak_t_backup(id, "full", NULL, stops[i], wal);
		snprintf(pid, sizeof(pid), "%s", id);
		for (int k = 0; k < incr; k++) {
			snprintf(id, sizeof(id), "2026010%zuT0%d0000ZI", i + 1,
				 k + 1);
			snprintf(wal, sizeof(wal),
				 "0000000100000000000000%02zX",
				 i * 4 + 3 + (size_t)k);
			cat->v[cat->n++] =
			    bak_t_backup(id, "incremental", pid,
					 stops[i] + 100 * (k + 1), wal);
			snprintf(pid, sizeof(pid), "%s", id);
		}
	}
}

TEST(test_backups__retention_count_boundary)
{
	int64_t stops[] = {1000, 2000, 3000};
	struct bak_catalog cat;
	struct bak_retention rp = {2, 0};
	bool keep[16];

	bak_t_catalog(&cat, stops, 2, 1);
	/* two fulls, full: 2: nothing goes */
	T_ASSERT_INT(bak_retention_select(keep, &cat, &rp, 10000), 0);
	bak_catalog_dispose(&cat);
	bak_t_catalog(&cat, stops, 3, 1);
	/* three: the oldest full and its incremental go, nothing else */
	T_ASSERT_INT(bak_retention_select(keep, &cat, &rp, 10000), 2);
	T_ASSERT(!keep[0] && !keep[1]);
	T_ASSERT(keep[2] && keep[3] && keep[4] && keep[5]);
	T_ASSERT_STR(bak_retention_wal_floor(&cat, keep),
		     "000000010000000000000006");
	bak_catalog_dispose(&cat);
}

TEST(test_backups__retention_age_keeps_the_window_covered)
{
	int64_t stops[] = {1000, 5000, 9000, 9500};
	struct bak_catalog cat;
	struct bak_retention rp = {0, 3000};
	bool keep[8];

	bak_t_catalog(&cat, stops, 4, 0);
	/* now 10000, window from 7000: 9000 and 9500 inside, 5000 covers
	 * the window's start, 1000 goes */
	T_ASSERT_INT(bak_retention_select(keep, &cat, &rp, 10000), 1);
	T_ASSERT(!keep[0] && keep[1] && keep[2] && keep[3]);
	/* a full ending exactly at the window's start is inside it */
	T_ASSERT_INT(bak_retention_select(keep, &cat, &rp, 8000), 1);
	T_ASSERT(!keep[0] && keep[1]);
	bak_catalog_dispose(&cat);
}

TEST(test_backups__retention_never_expires_the_newest_full)
{
	int64_t stops[] = {1000, 2000};
	struct bak_catalog cat;
	struct bak_retention rp = {0, 60};
	bool keep[8];

	bak_t_catalog(&cat, stops, 2, 1);
	/* everything is older than the age, but the newest full and its
	 * incremental stay: they cover the window */
	T_ASSERT_INT(bak_retention_select(keep, &cat, &rp, 1000000), 2);
	T_ASSERT(!keep[0] && !keep[1] && keep[2] && keep[3]);
	rp.full = 1;
	rp.age_sec = 0;
	T_ASSERT_INT(bak_retention_select(keep, &cat, &rp, 1000000), 2);
	T_ASSERT(keep[2] && keep[3]);
	bak_catalog_dispose(&cat);
}

TEST(test_backups__retention_incremental_without_its_full_goes)
{
	int64_t stops[] = {1000};
	struct bak_catalog cat;
	struct bak_retention rp = {5, 0};
	bool keep[8];

	bak_t_catalog(&cat, stops, 1, 2);
	free((char *)(uintptr_t)cat.v[1].parent);
	cat.v[1].parent = strdup("19990101T000000ZF"); /* gone */
	T_ASSERT_INT(bak_retention_select(keep, &cat, &rp, 5000), 2);
	T_ASSERT(keep[0] && !keep[1] && !keep[2]);
	bak_catalog_dispose(&cat);
}

static int bak_t_roundtrip(const struct bak_codec *c, const void *data,
			   size_t len, struct bak_buf *enc)
{
	struct bak_sink *s;
	struct bak_err e = {0};
	int err;

	s = bak_bufsink_new(enc);
	if (c->encrypt)
		s = bak_encrypter_new(c->key, s);
	s = bak_compressor_new(c->compress, c->level, s);
	err = s->write(s, data, len / 3, false, &e);
	if (err == 0)
		err = s->write(s, (const char *)data + len / 3, len - len / 3,
			       true, &e);
	bak_sink_free_chain(s);
	return err;
}

static int bak_t_decode(const unsigned char *key, const struct bak_buf *enc,
			struct bak_buf *out, struct bak_err *e)
{
	struct bak_sink *s = bak_decoder_new(key, bak_bufsink_new(out));
	int err = 0;

	/* in uneven pieces, as a network gives them */
	for (size_t off = 0; off < enc->len && err == 0;) {
		size_t n = enc->len - off < 777 ? enc->len - off : 777;

		err = s->write(s, enc->data + off, n, false, e);
		off += n;
	}
	if (err == 0)
		err = s->write(s, NULL, 0, true, e);
	bak_sink_free_chain(s);
	return err;
}

TEST(test_backups__codecs_roundtrip)
{
	static const enum bak_compress kinds[] = {BAK_COMP_NONE, BAK_COMP_LZ4,
						  BAK_COMP_ZSTD};
	size_t len = 300000;
	unsigned char *data = malloc(len);
	struct bak_err e = {0};

	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i % 251 < 120 ? 'a' : i * 7);
	for (int enc = 0; enc < 2; enc++)
		for (size_t k = 0; k < 3; k++) {
			struct bak_codec c = {kinds[k], 0, enc == 1, {0}};
			struct bak_buf out = {0}, back = {0};

			memset(c.key, 0x5a, sizeof(c.key));
			T_ASSERT_INT(bak_t_roundtrip(&c, data, len, &out), 0);
			if (enc)
				T_ASSERT(memcmp(out.data, "DBOPSAE1", 8) == 0);
			T_ASSERT_INT(bak_t_decode(c.key, &out, &back, &e), 0);
			T_ASSERT_INT(back.len, len);
			T_ASSERT(memcmp(back.data, data, len) == 0);
			bak_buf_free(&out);
			bak_buf_free(&back);
		}
	free(data);
}

TEST(test_backups__encryption_detects_tampering_and_wrong_keys)
{
	struct bak_codec c = {BAK_COMP_LZ4, 0, true, {0}};
	unsigned char other[BAK_KEY_LEN];
	struct bak_buf out = {0}, back = {0};
	struct bak_err e = {0};
	const char text[] = "a WAL segment, say";

	memset(c.key, 1, sizeof(c.key));
	memset(other, 2, sizeof(other));
	T_ASSERT_INT(bak_t_roundtrip(&c, text, sizeof(text), &out), 0);
	T_ASSERT_INT(bak_t_decode(other, &out, &back, &e), DBOPS_ERR_INVALID);
	T_ASSERT_STR(
	    e.msg,
	    "could not decrypt: the data is corrupt or the key is wrong");
	back.len = 0;
	out.data[out.len - 20] ^= 1;
	T_ASSERT_INT(bak_t_decode(c.key, &out, &back, &e), DBOPS_ERR_INVALID);
	out.data[out.len - 20] ^= 1;
	back.len = 0;
	out.len -= 5; /* truncated */
	T_ASSERT(bak_t_decode(c.key, &out, &back, &e) != 0);
	back.len = 0;
	T_ASSERT_INT(bak_t_decode(NULL, &out, &back, &e), DBOPS_ERR_INVALID);
	T_ASSERT_STR(
	    e.msg, "the object is encrypted, and no encryption key was given");
	bak_buf_free(&out);
	bak_buf_free(&back);
}

TEST(test_backups__key_must_be_64_hex_digits)
{
	unsigned char key[BAK_KEY_LEN];
	struct bak_err e = {0};

	T_ASSERT_INT(
	    bak_key_parse(
		key,
		"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n",
		&e),
	    0);
	T_ASSERT_INT(key[31], 0xff);
	T_ASSERT_INT(bak_key_parse(key, "correct horse battery staple", &e),
		     DBOPS_ERR_INVALID);
	T_ASSERT_STR(e.msg, "the encryption key is not 64 hexadecimal digits");
}

static int bak_t_entry(void *arg, const struct bak_tar_entry *te,
		       struct bak_err *e)
{
	struct bak_buf *b = arg;

	(void)e;
	bak_buf_addf(b, "[%c %s %llu]", te->type, te->name,
		     (unsigned long long)te->size);
	return 0;
}

static int bak_t_data(void *arg, const void *buf, size_t len, struct bak_err *e)
{
	(void)e;
	bak_buf_add(arg, buf, len);
	return 0;
}

static int bak_t_end(void *arg, struct bak_err *e)
{
	(void)arg;
	(void)e;
	return 0;
}

TEST(test_backups__tar_written_and_read_back)
{
	struct bak_buf tar = {0}, got = {0};
	struct bak_tar_entry te;
	unsigned char hdr[512];
	static const unsigned char zeros[1024];
	struct bak_tar_reader_cb cb = {bak_t_entry, bak_t_data, bak_t_end,
				       &got};
	struct bak_sink *r;
	struct bak_err e = {0};
	char longname[200];

	memset(&te, 0, sizeof(te));
	snprintf(te.name, sizeof(te.name), "base");
	te.type = '5';
	te.mode = 0700;
	T_ASSERT_INT(bak_tar_header(hdr, &te), 0);
	bak_buf_add(&tar, hdr, 512);
	memset(longname, 'x', sizeof(longname));
	memcpy(longname + 120, "/", 1);
	longname[sizeof(longname) - 1] = '\0';
	snprintf(te.name, sizeof(te.name), "%s", longname);
	te.type = '0';
	te.size = 5;
	T_ASSERT_INT(bak_tar_header(hdr, &te), 0);
	bak_buf_add(&tar, hdr, 512);
	bak_buf_add(&tar, "hello", 5);
	bak_buf_add(&tar, zeros, bak_tar_padding(5));
	bak_buf_add(&tar, zeros, 1024);
	r = bak_tar_reader_new(&cb);
	T_ASSERT_INT(r->write(r, tar.data, tar.len, true, &e), 0);
	bak_sink_free_chain(r);
	T_ASSERT_CONTAINS(bak_buf_str(&got), "[5 base 0]");
	T_ASSERT_CONTAINS(bak_buf_str(&got), "xxx/xxx");
	T_ASSERT_CONTAINS(bak_buf_str(&got), " 5]hello");
	/* a truncated archive is an error */
	r = bak_tar_reader_new(&cb);
	T_ASSERT(r->write(r, tar.data, 700, true, &e) != 0);
	bak_sink_free_chain(r);
	bak_buf_free(&tar);
	bak_buf_free(&got);
}

TEST(test_backups__posix_repository_is_atomic_and_exclusive)
{
	char dir[] = "/tmp/dbops-bak-test.XXXXXX";
	struct bak_repo_opts o = {0};
	struct bak_repo *r = NULL;
	struct bak_put *p = NULL;
	struct bak_err e = {0};
	struct bak_buf back = {0};
	char **keys = NULL;
	size_t n = 0;

	T_ASSERT(mkdtemp(dir) != NULL);
	o.path = dir;
	T_ASSERT_INT(bak_repo_open(&r, &o, &e), 0);
	T_ASSERT_INT(bak_repo_put(r, "wal/A/x", "one", 3, true, &e), 0);
	T_ASSERT_INT(bak_repo_put(r, "wal/A/x", "two", 3, true, &e),
		     DBOPS_ERR_CONFLICT);
	/* an upload not ended is invisible */
	T_ASSERT_INT(bak_put_begin(&p, r, "wal/A/y", true, &e), 0);
	T_ASSERT_INT(
	    bak_put_sink(p)->write(bak_put_sink(p), "half", 4, false, &e), 0);
	T_ASSERT_INT(bak_repo_list(&keys, &n, r, "wal/", &e), 0);
	T_ASSERT_INT(n, 1);
	T_ASSERT_STR(keys[0], "A/x");
	bak_strv_free(keys, n);
	bak_put_abort(p);
	T_ASSERT_INT(bak_get_decoded(&back, r, "wal/A/x", NULL, &e), 0);
	T_ASSERT_STR(bak_buf_str(&back), "one");
	T_ASSERT_INT(bak_get_decoded(&back, r, "wal/A/none", NULL, &e),
		     DBOPS_ERR_NOTFOUND);
	T_ASSERT_INT(bak_repo_delete(r, "wal/A/x", &e), 0);
	T_ASSERT_INT(bak_repo_list(&keys, &n, r, "wal/", &e), 0);
	T_ASSERT_INT(n, 0);
	bak_strv_free(keys, n);
	bak_buf_free(&back);
	bak_repo_close(r);
	rmdir(dir);
}

TEST(test_backups__wal_keys_and_segment_names)
{
	char key[128], seg[25];

	bak_wal_key(key, sizeof(key), "00000002000000A1000000FF");
	T_ASSERT_STR(key, "wal/00000002000000A1/00000002000000A1000000FF");
	bak_wal_key(key, sizeof(key), "00000002.history");
	T_ASSERT_STR(key, "wal/00000002.history");
	bak_wal_key(key, sizeof(key),
		    "000000010000000000000002.00000028.backup");
	T_ASSERT_STR(key, "wal/000000010000000000000002.00000028.backup");
	bak_wal_segment_name(seg, 1, 0x1A2000028ull, BAK_WAL_SEG_SIZE);
	T_ASSERT_STR(seg, "0000000100000001000000A2");
}

/* A live model with one full and one incremental backup. */
static struct bak_live *bak_t_live(struct fake_ctx *fc)
{
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct bak_live *l = dbops_host(ctx)->alloc(ctx, sizeof(*l));
	int64_t stops[] = {1767236400};

	bak_t_catalog(&l->cat, stops, 1, 1);
	l->repo_ok = true;
	l->now = 1767240000;
	l->archive_mode = "on";
	l->archived_count = 10;
	l->last_archived_time = l->now - 5;
	l->last_archived_wal = "000000010000000000000009";
	l->current_wal = "00000001000000000000000A";
	return l;
}

TEST(test_backups__restore_chooses_the_backup_for_the_target)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s = bak_t_section(
	    fc, "backups: {repository: {posix: {path: /srv/b}}}\n");
	struct bak_live *l = bak_t_live(fc);
	const char *args[] = {"to", "2026-01-01 03:01:00+00", "data-dir",
			      "/srv/restore"};
	const struct dbops_change *c;

	T_ASSERT_INT(bak_validate(fake_host_ctx(fc), s), 0);
	fc->mode = "restore";
	fc->args = args;
	fc->nargs = 2;
	T_ASSERT_INT(bak_diff(fake_host_ctx(fc), s, l), 0);
	c = fake_host_change(fc, "backups.restore");
	T_ASSERT(c != NULL);
	/* the full ended at 03:00:00, its incremental at 03:01:40 */
	T_ASSERT_STR(((const struct bak_payload *)c->payload)->backup_id,
		     "20260101T000000ZF");
	T_ASSERT_STR(((const struct bak_payload *)c->payload)->target_kind,
		     "time");
	bak_catalog_dispose(&l->cat);
	fake_host_free(fc);
}

/* A target within the second the backup ended in: reachable from the
 * microsecond the server's clock read after the stop, not before. */
TEST(test_backups__restore_target_time_to_the_microsecond)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s = bak_t_section(
	    fc, "backups: {repository: {posix: {path: /srv/b}}}\n");
	struct bak_live *l = bak_t_live(fc);
	const char *at[] = {"to", "2026-01-01 03:00:00.250000+00", "data-dir",
			    "/srv/restore"};
	const char *before[] = {"to", "2026-01-01 03:00:00.249999+00",
				"data-dir", "/srv/restore"};
	const struct dbops_change *c;

	T_ASSERT_INT(bak_time_parse_usec("2026-01-01 03:00:00.25+00"),
		     1767236400250000LL);
	T_ASSERT_INT(bak_time_parse_usec("2026-01-01 04:00:00.000001+01"),
		     1767236400000001LL);
	T_ASSERT_INT(bak_time_parse_usec("2026-01-01 03:00:00.x"), -1);
	T_ASSERT_INT(bak_validate(fake_host_ctx(fc), s), 0);
	/* the full only: it ended at 03:00:00.25 */
	l->cat.n = 1;
	l->cat.v[0].stop_usec = 1767236400250000LL;
	fc->mode = "restore";
	fc->args = at;
	fc->nargs = 2;
	T_ASSERT_INT(bak_diff(fake_host_ctx(fc), s, l), 0);
	c = fake_host_change(fc, "backups.restore");
	T_ASSERT(c != NULL);
	T_ASSERT_STR(((const struct bak_payload *)c->payload)->backup_id,
		     "20260101T000000ZF");
	fc->args = before;
	T_ASSERT_INT(bak_diff(fake_host_ctx(fc), s, l), DBOPS_ERR_NOTFOUND);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "no backup in the repository can reach the target");
	l->cat.n = 2;
	bak_catalog_dispose(&l->cat);
	fake_host_free(fc);
}

TEST(test_backups__restore_refuses_an_unreachable_target)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s = bak_t_section(
	    fc, "backups: {repository: {posix: {path: /srv/b}}}\n");
	struct bak_live *l = bak_t_live(fc);
	const char *args[] = {"to", "0/1000000", "data-dir", "/srv/restore"};

	T_ASSERT_INT(bak_validate(fake_host_ctx(fc), s), 0);
	fc->mode = "restore";
	fc->args = args;
	fc->nargs = 2;
	T_ASSERT_INT(bak_diff(fake_host_ctx(fc), s, l), DBOPS_ERR_NOTFOUND);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "no backup in the repository can reach the target \"0/1000000\"");
	bak_catalog_dispose(&l->cat);
	fake_host_free(fc);
}

TEST(test_backups__diff_plans_expiry_as_destructive)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s = bak_t_section(
	    fc,
	    "backups: {repository: {posix: {path: /srv/b}}, retention: {full: 1}}\n");
	struct dbops_ctx *ctx = fake_host_ctx(fc);
	struct bak_live *l = dbops_host(ctx)->alloc(ctx, sizeof(*l));
	int64_t stops[] = {1000, 2000};
	const char *keys[] = {"0000000100000000/000000010000000000000001",
			      "0000000100000000/000000010000000000000002",
			      "0000000100000000/000000010000000000000006",
			      "00000002.history"};
	const struct dbops_change *c;

	T_ASSERT_INT(bak_validate(ctx, s), 0);
	bak_t_catalog(&l->cat, stops, 2, 0);
	l->repo_ok = true;
	l->now = 5000;
	l->wal_keys = keys;
	l->nwal = 4;
	T_ASSERT_INT(bak_diff(ctx, s, l), 0);
	T_ASSERT_INT(fc->nchanges, 2);
	c = fake_host_change(fc, "backups.backup.20260101T000000ZF");
	T_ASSERT(c != NULL);
	T_ASSERT(c->flags & DBOPS_CHANGE_DESTRUCTIVE);
	c = fake_host_change(fc, "backups.wal");
	T_ASSERT(c != NULL);
	/* destructive with the backups it served */
	T_ASSERT(c->flags & DBOPS_CHANGE_DESTRUCTIVE);
	/* two segments before 000000010000000000000006; the history stays */
	T_ASSERT_CONTAINS(fake_host_render(fc), "files: \"2\"");
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "expired by the retention policy (full: 1)");
	bak_catalog_dispose(&l->cat);
	fake_host_free(fc);
}

TEST(test_backups__status_degraded_when_rpo_missed)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s = bak_t_section(
	    fc,
	    "backups: {repository: {posix: {path: /srv/b}}, objectives: {rpo: 1m}, dbops: /usr/bin/dbops}\n");
	struct bak_live *l = bak_t_live(fc);

	T_ASSERT_INT(bak_validate(fake_host_ctx(fc), s), 0);
	l->archive_command =
	    "/usr/bin/dbops wal-push --repo /srv/b --compress lz4 %p";
	T_ASSERT_INT(bak_status(fake_host_ctx(fc), s, l), 0);
	T_ASSERT_INT(fc->diags.nwarnings, 0);
	/* archiving fails since 10 minutes */
	l->failed_count = 20;
	l->last_failed_time = l->now - 1;
	l->last_failed_wal = "00000001000000000000000A";
	l->last_archived_time = l->now - 600;
	T_ASSERT_INT(bak_status(fake_host_ctx(fc), s, l), 0);
	T_ASSERT_INT(fc->diags.nwarnings, 1);
	T_ASSERT_CONTAINS(fake_host_render(fc),
			  "WARNING:  the recovery point objective is missed");
	T_ASSERT_CONTAINS(fc->metrics, "dbops_backup_rpo_seconds 600");
	bak_catalog_dispose(&l->cat);
	fake_host_free(fc);
}

TEST(test_backups__from_standby_reads_the_replicas_facts)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s = bak_t_section(
	    fc, "backups: {repository: {posix: {path: /srv/b}}, from: r2}\n");
	const struct bak_spec *spec;
	const char *host = NULL, *port = NULL;

	T_ASSERT_INT(bak_validate(fake_host_ctx(fc), s), 0);
	spec = bak_spec_of(fake_host_ctx(fc), s);
	T_ASSERT_STR(spec->from, "r2");
	T_ASSERT_INT(bak_member_address(&host, &port, fake_host_ctx(fc), spec),
		     DBOPS_ERR_NOTFOUND);
	fake_host_add_fact(fc, "replicas", "replicas.member.r1.port", "5433");
	fake_host_add_fact(fc, "replicas", "replicas.member.r2.host",
			   "10.0.0.2");
	fake_host_add_fact(fc, "replicas", "replicas.member.r2.port", "5434");
	T_ASSERT_INT(bak_member_address(&host, &port, fake_host_ctx(fc), spec),
		     0);
	T_ASSERT_STR(host, "10.0.0.2");
	T_ASSERT_STR(port, "5434");
	fake_host_free(fc);
}

TEST(test_backups__backup_from_unknown_standby_refused_in_plan)
{
	struct fake_ctx *fc = fake_host_new("backups");
	const struct dbops_node *s = bak_t_section(
	    fc, "backups: {repository: {posix: {path: /srv/b}}, from: r9}\n");
	struct bak_live *l = bak_t_live(fc);

	T_ASSERT_INT(bak_validate(fake_host_ctx(fc), s), 0);
	fc->mode = "backup run";
	T_ASSERT_INT(bak_diff(fake_host_ctx(fc), s, l), DBOPS_ERR_NOTFOUND);
	T_ASSERT_CONTAINS(
	    fake_host_render(fc),
	    "backups.from names \"r9\", which is not a member the replicas plugin knows");
	T_ASSERT_INT(fc->nchanges, 0);
	bak_catalog_dispose(&l->cat);
	fake_host_free(fc);
}
