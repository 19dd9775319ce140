/*
 * The output layer: every command prints through here, as a table or a
 * key/value list for people, or as JSON for programs.  Human output is
 * aligned by display width (width.c) and every cell is cleaned of control
 * characters first.  crmctl never colours its output, so what a pipe sees
 * is exactly what the terminal shows.
 */
#include "crmctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define COLUMN_GAP	"  "

struct row {
	char		**cells;	/* cleaned text */
	size_t		 *widths;
};

struct table {
	size_t		 ncols;
	enum col_align	*align;
	struct row	*rows;		/* rows[0] is the header, if any */
	size_t		 nrows;
	size_t		 cap;
};

static void
row_free(struct row *r, size_t ncols)
{
	if (r->cells != NULL)
		for (size_t i = 0; i < ncols; i++)
			free(r->cells[i]);
	free(r->cells);
	free(r->widths);
}

/*
 * A table of ncols columns.  headers (ncols strings) is the first row when
 * not NULL; align may be NULL for all left-aligned.
 */
struct table *
table_new(size_t ncols, const char *const *headers, const enum col_align *align)
{
	struct table *t;

	if (ncols == 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ncols = ncols;
	if ((t->align = calloc(ncols, sizeof(*t->align))) == NULL) {
		free(t);
		return NULL;
	}
	if (align != NULL)
		memcpy(t->align, align, ncols * sizeof(*align));
	if (headers != NULL && table_add_row(t, headers) == -1) {
		table_free(t);
		return NULL;
	}
	return t;
}

/* Copies ncols cells (NULL cells print as "-"). */
int
table_add_row(struct table *t, const char *const *cells)
{
	struct row r;

	if (t->nrows == t->cap) {
		size_t cap = t->cap == 0 ? 16 : t->cap * 2;
		struct row *rows = reallocarray(t->rows, cap, sizeof(*rows));

		if (rows == NULL)
			return -1;
		t->rows = rows;
		t->cap = cap;
	}
	r.cells = calloc(t->ncols, sizeof(*r.cells));
	r.widths = calloc(t->ncols, sizeof(*r.widths));
	if (r.cells == NULL || r.widths == NULL) {
		row_free(&r, t->ncols);
		return -1;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		if ((r.cells[i] = text_clean(cells[i] ? cells[i] : "-")) == NULL) {
			row_free(&r, t->ncols);
			return -1;
		}
		r.widths[i] = text_width(r.cells[i]);
	}
	t->rows[t->nrows++] = r;
	return 0;
}

static void
pad(FILE *fp, size_t n)
{
	while (n-- > 0)
		fputc(' ', fp);
}

static void
print_row(const struct table *t, const struct row *r, const size_t *colw,
    FILE *fp)
{
	size_t end = t->ncols;

	/* Empty trailing cells (an empty note) would leave blanks at the end
	 * of the line: the row ends with its last non-empty cell. */
	while (end > 1 && r->widths[end - 1] == 0)
		end--;
	for (size_t i = 0; i < end; i++) {
		size_t fill = colw[i] - r->widths[i];
		int last = i + 1 == end;

		if (i > 0)
			fputs(COLUMN_GAP, fp);
		if (t->align[i] == ALIGN_RIGHT)
			pad(fp, fill);
		fputs(r->cells[i], fp);
		if (t->align[i] == ALIGN_LEFT && !last)
			pad(fp, fill);	/* no trailing blanks at line end */
	}
	fputc('\n', fp);
}

int
table_print(const struct table *t, FILE *fp)
{
	size_t *colw;

	if ((colw = calloc(t->ncols, sizeof(*colw))) == NULL)
		return -1;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++)
			if (t->rows[r].widths[i] > colw[i])
				colw[i] = t->rows[r].widths[i];
	for (size_t r = 0; r < t->nrows; r++)
		print_row(t, &t->rows[r], colw, fp);
	free(colw);
	return ferror(fp) ? -1 : 0;
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		row_free(&t->rows[r], t->ncols);
	free(t->rows);
	free(t->align);
	free(t);
}

/* How a JSON value reads in a table cell; malloc'd, NULL if out of memory. */
char *
json_cell(const json_t *v)
{
	char *s = NULL;

	switch (v == NULL ? JSON_NULL : json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_value(v));
	case JSON_INTEGER:
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v)) == -1)
			return NULL;
		return s;
	case JSON_REAL:
		if (asprintf(&s, "%g", json_real_value(v)) == -1)
			return NULL;
		return s;
	case JSON_TRUE:
		return strdup("yes");
	case JSON_FALSE:
		return strdup("no");
	case JSON_NULL:
		return strdup("-");
	default:
		return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	}
}

/* Machine output: indented, keys in the order crmd sent them. */
int
out_json(FILE *fp, const json_t *j)
{
	if (json_dumpf(j, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(15)) == -1)
		return -1;
	fputc('\n', fp);
	return ferror(fp) ? -1 : 0;
}

static int
list_row(struct table *t, const struct out_column *cols, size_t ncols,
    const json_t *obj)
{
	char **cells;
	int rv = -1;

	if ((cells = calloc(ncols, sizeof(*cells))) == NULL)
		return -1;
	for (size_t i = 0; i < ncols; i++)
		if ((cells[i] = json_cell(json_object_get(obj,
		    cols[i].key))) == NULL)
			goto out;
	rv = table_add_row(t, (const char *const *)cells);
out:
	for (size_t i = 0; i < ncols; i++)
		free(cells[i]);
	free(cells);
	return rv;
}

static struct table *
list_table(const struct out_column *cols, size_t ncols)
{
	const char **headers;
	enum col_align *align;
	struct table *t = NULL;

	headers = calloc(ncols, sizeof(*headers));
	align = calloc(ncols, sizeof(*align));
	if (headers != NULL && align != NULL) {
		for (size_t i = 0; i < ncols; i++) {
			headers[i] = cols[i].header;
			align[i] = cols[i].align;
		}
		t = table_new(ncols, headers, align);
	}
	free(headers);
	free(align);
	return t;
}

/*
 * A list of JSON objects: as a table with one column per cols entry, or,
 * for --json, the array itself.  List commands need only a column spec.
 */
int
out_list(FILE *fp, enum out_format fmt, const struct out_column *cols,
    size_t ncols, const json_t *array)
{
	struct table *t;
	size_t i;
	json_t *obj;
	int rv = -1;

	if (!json_is_array(array))
		return -1;
	if (fmt == OUT_JSON)
		return out_json(fp, array);
	if ((t = list_table(cols, ncols)) == NULL)
		return -1;
	json_array_foreach(array, i, obj) {
		if (list_row(t, cols, ncols, obj) == -1)
			goto out;
	}
	rv = table_print(t, fp);
out:
	table_free(t);
	return rv;
}

/* kv holds n (label, value) pairs, printed as two aligned columns. */
int
out_kv(FILE *fp, const char *const *kv, size_t n)
{
	struct table *t;
	int rv = -1;

	if ((t = table_new(2, NULL, NULL)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (table_add_row(t, kv + 2 * i) == -1)
			goto out;
	rv = table_print(t, fp);
out:
	table_free(t);
	return rv;
}

/* "crmctl: message", cleaned: messages often quote crmd or the user. */
void
out_errorx(FILE *fp, const char *fmt, ...)
{
	char *msg, *clean;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	clean = msg != NULL ? text_clean(msg) : NULL;
	fprintf(fp, "crmctl: %s\n", clean != NULL ? clean : "out of memory");
	free(clean);
	free(msg);
}
