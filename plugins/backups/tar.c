/* SPDX-License-Identifier: PostgreSQL */
/*
 * tar.c — the tar format of base backups: a streaming reader (a sink
 * that calls back for each member and its data, so a restore or a verify
 * never holds an archive) and the ustar headers the incremental backup
 * writes. It knows what PostgreSQL's BASE_BACKUP sends: ustar and GNU
 * headers, long names in GNU 'L' records, regular files, directories and
 * symbolic links.
 */
#include "backups_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tar_reader {
	struct bak_sink s;
	struct bak_tar_reader_cb cb;
	unsigned char hdr[512];
	size_t nhdr;
	uint64_t left; /* data bytes left of the member */
	uint64_t pad;  /* padding bytes left after it */
	struct bak_tar_entry te;
	bool in_member, ended;
	bool longname; /* reading a GNU long name into te.name */
	char pending_name[sizeof(((struct bak_tar_entry *)0)->name)];
	size_t name_len;
};

static uint64_t tar_octal(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	if (p[0] & 0x80) { /* base-256 */
		for (size_t i = 1; i < n; i++)
			v = (v << 8) | p[i];
		return v;
	}
	for (size_t i = 0; i < n && p[i] != '\0' && p[i] != ' '; i++)
		if (p[i] >= '0' && p[i] <= '7')
			v = (v << 3) | (uint64_t)(p[i] - '0');
	return v;
}

static int tar_header(struct tar_reader *t, struct bak_err *e)
{
	const unsigned char *h = t->hdr;
	unsigned sum = 0, want = (unsigned)tar_octal(h + 148, 8);
	int err;

	for (int i = 0; i < 512; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	if (h[0] == '\0') { /* the end-of-archive blocks */
		t->ended = true;
		return 0;
	}
	if (sum != want)
		return bak_fail(e, DBOPS_ERR_INVALID,
				"invalid tar header: bad checksum");
	memset(&t->te, 0, sizeof(t->te));
	t->te.type = h[156] ? (char)h[156] : '0';
	t->te.size = tar_octal(h + 124, 12);
	t->te.mtime = (int64_t)tar_octal(h + 136, 12);
	t->te.mode = (unsigned)tar_octal(h + 100, 8);
	memcpy(t->te.linkname, h + 157, 100);
	if (t->pending_name[0] != '\0') {
		snprintf(t->te.name, sizeof(t->te.name), "%s", t->pending_name);
		t->pending_name[0] = '\0';
	} else if (memcmp(h + 257, "ustar", 5) == 0 && h[345] != '\0') {
		snprintf(t->te.name, sizeof(t->te.name), "%.155s/%.100s",
			 (const char *)h + 345, (const char *)h);
	} else {
		snprintf(t->te.name, sizeof(t->te.name), "%.100s",
			 (const char *)h);
	}
	t->left = t->te.size;
	t->pad = bak_tar_padding(t->te.size);
	if (t->te.type == 'L') {
		if (t->te.size >= sizeof(t->pending_name))
			return bak_fail(
			    e, DBOPS_ERR_INVALID,
			    "invalid tar header: a name is too long");
		t->longname = true;
		t->name_len = 0;
		return 0;
	}
	t->in_member = true;
	if ((err = t->cb.entry(t->cb.arg, &t->te, e)) != 0)
		return err;
	if (t->left == 0) {
		t->in_member = false;
		return t->cb.end(t->cb.arg, e);
	}
	return 0;
}

static int tar_write(struct bak_sink *s, const void *data, size_t len,
		     bool final, struct bak_err *e)
{
	struct tar_reader *t = (struct tar_reader *)s;
	const unsigned char *p = data;
	int err;

	while (len > 0) {
		if (t->left > 0) {
			size_t take = len < t->left ? len : (size_t)t->left;

			if (t->longname) {
				memcpy(t->pending_name + t->name_len, p, take);
				t->name_len += take;
			} else if ((err = t->cb.data(t->cb.arg, p, take, e)) !=
				   0)
				return err;
			t->left -= take;
			p += take;
			len -= take;
			if (t->left == 0) {
				if (t->longname) {
					t->pending_name[t->name_len] = '\0';
					t->longname = false;
				} else {
					t->in_member = false;
					if ((err = t->cb.end(t->cb.arg, e)) !=
					    0)
						return err;
				}
			}
			continue;
		}
		if (t->pad > 0) {
			size_t take = len < t->pad ? len : (size_t)t->pad;

			t->pad -= take;
			p += take;
			len -= take;
			continue;
		}
		if (t->ended) { /* trailing zero blocks */
			p += len;
			len = 0;
			break;
		}
		{
			size_t take = 512 - t->nhdr;

			if (take > len)
				take = len;
			memcpy(t->hdr + t->nhdr, p, take);
			t->nhdr += take;
			p += take;
			len -= take;
			if (t->nhdr == 512) {
				t->nhdr = 0;
				if ((err = tar_header(t, e)) != 0)
					return err;
			}
		}
	}
	if (final && (t->in_member || t->left > 0 || t->nhdr != 0))
		return bak_fail(e, DBOPS_ERR_INVALID,
				"the tar archive is truncated");
	if (final && !t->ended)
		return bak_fail(e, DBOPS_ERR_INVALID,
				"the tar archive has no end");
	return 0;
}

static void tar_free(struct bak_sink *s)
{
	free(s);
}

struct bak_sink *bak_tar_reader_new(const struct bak_tar_reader_cb *cb)
{
	struct tar_reader *t = calloc(1, sizeof(*t));

	if (t == NULL)
		abort();
	t->s.write = tar_write;
	t->s.free = tar_free;
	t->cb = *cb;
	return &t->s;
}

size_t bak_tar_padding(uint64_t size)
{
	return (size_t)((512 - size % 512) % 512);
}

int bak_tar_header(unsigned char h[512], const struct bak_tar_entry *te)
{
	size_t len = strlen(te->name);
	unsigned sum = 0;

	memset(h, 0, 512);
	if (len <= 100) {
		memcpy(h, te->name, len);
	} else {
		/* split at a slash: prefix (155) / name (100) */
		const char *slash =
		    strchr(te->name + (len > 101 ? len - 101 : 0), '/');

		if (slash == NULL || (size_t)(slash - te->name) > 155 ||
		    strlen(slash + 1) > 100)
			return DBOPS_ERR_INVALID;
		memcpy(h + 345, te->name, (size_t)(slash - te->name));
		memcpy(h, slash + 1, strlen(slash + 1));
	}
	snprintf((char *)h + 100, 8, "%07o", te->mode & 07777);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	if (te->size < 077777777777ull) {
		snprintf((char *)h + 124, 12, "%011llo",
			 (unsigned long long)te->size & 077777777777ull);
	} else {
		h[124] = 0x80;
		for (int i = 0; i < 8; i++)
			h[135 - i] = (unsigned char)(te->size >> (8 * i));
	}
	snprintf((char *)h + 136, 12, "%011llo",
		 (unsigned long long)(te->mtime > 0 && te->mtime < 077777777777
					  ? te->mtime
					  : 0) &
		     077777777777ull);
	h[156] = (unsigned char)te->type;
	memcpy(h + 157, te->linkname, strnlen(te->linkname, 100));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	return 0;
}
