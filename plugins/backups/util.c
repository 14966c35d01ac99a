/* SPDX-License-Identifier: PostgreSQL */
/*
 * util.c — the small shared pieces of the backups plugin that need no
 * host table: error records for the repository code and the tools, a
 * growable buffer, CRC-32C and SHA-256, durations, LSNs and WAL file
 * names. Nothing here does I/O except bak_err_print (stderr).
 */
#include "backups_int.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bak_fail(struct bak_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	e->detail[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void bak_err_detail(struct bak_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
}

void bak_err_print(const struct bak_err *e)
{
	fprintf(stderr, "ERROR:  %s\n", e->msg);
	if (e->detail[0] != '\0')
		fprintf(stderr, "DETAIL:  %s\n", e->detail);
}

static void bak_buf_reserve(struct bak_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;

	if (b->len + more + 1 <= b->cap)
		return;
	while (cap < b->len + more + 1)
		cap *= 2;
	b->data = realloc(b->data, cap);
	if (b->data == NULL) {
		fputs("FATAL:  out of memory\n", stderr);
		abort();
	}
	b->cap = cap;
}

void bak_buf_add(struct bak_buf *b, const void *data, size_t len)
{
	bak_buf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void bak_buf_addf(struct bak_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	bak_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void bak_buf_free(struct bak_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

const char *bak_buf_str(struct bak_buf *b)
{
	bak_buf_reserve(b, 0);
	b->data[b->len] = '\0';
	return (const char *)b->data;
}

void bak_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n && v != NULL; i++)
		free(v[i]);
	free(v);
}

/* CRC-32C, reflected polynomial 0x82F63B78; the SSE 4.2 instruction when
 * the processor has it (the x86-64 machines we run on), else a table. */
static uint32_t crc_table[8][256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] =
			    (crc_table[t - 1][i] >> 8) ^
			    crc_table[0][crc_table[t - 1][i] & 0xff];
	crc_ready = true;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t bak_crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	crc = ~crc;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc_hw(crc, p, len);
#endif
	if (!crc_ready)
		crc_init();
	while (len >= 8) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= crc;
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

void bak_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* "90s", "5m", "2h", "7d", "1w", "250ms" (rounded up to 1s), "60" */
int bak_duration(int64_t *out, const char *text)
{
	char *end;
	double v = strtod(text, &end);
	double mult = 1;

	if (end == text || v < 0)
		return DBOPS_ERR_INVALID;
	while (*end == ' ')
		end++;
	if (*end == '\0' || strcmp(end, "s") == 0 || strcmp(end, "sec") == 0)
		mult = 1;
	else if (strcmp(end, "ms") == 0)
		mult = 0.001;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60;
	else if (strcmp(end, "h") == 0)
		mult = 3600;
	else if (strcmp(end, "d") == 0)
		mult = 86400;
	else if (strcmp(end, "w") == 0)
		mult = 7 * 86400;
	else
		return DBOPS_ERR_INVALID;
	v *= mult;
	if (v > 1e12)
		return DBOPS_ERR_INVALID;
	*out = (int64_t)v;
	if ((double)*out < v)
		(*out)++;
	return 0;
}

bool bak_lsn_parse(uint64_t *out, const char *text)
{
	unsigned hi, lo;
	int n = 0;

	if (text == NULL || sscanf(text, "%X/%X%n", &hi, &lo, &n) != 2 ||
	    text[n] != '\0')
		return false;
	*out = ((uint64_t)hi << 32) | lo;
	return true;
}

bool bak_wal_is_segment(const char *name)
{
	if (strlen(name) != 24)
		return false;
	for (int i = 0; i < 24; i++)
		if (strchr("0123456789ABCDEF", name[i]) == NULL)
			return false;
	return true;
}

void bak_wal_key(char *out, size_t size, const char *name)
{
	if (strlen(name) >= 24 && strspn(name, "0123456789ABCDEF") >= 24 &&
	    strchr(name, '/') == NULL &&
	    (name[24] == '\0' || strcmp(name + 24, ".partial") == 0))
		snprintf(out, size, "wal/%.16s/%s", name, name);
	else
		snprintf(out, size, "wal/%s", name);
}

void bak_wal_segment_name(char out[25], uint32_t tli, uint64_t lsn,
			  uint64_t seg_size)
{
	uint64_t segno = lsn / seg_size;
	uint64_t per = 0x100000000ull / seg_size;

	snprintf(out, 25, "%08X%08X%08X", tli, (unsigned)(segno / per),
		 (unsigned)(segno % per));
}
