/* Sequence diff for LoroText.update / update_by_line.
 *
 * Myers' O(ND) diff in its linear-space form (divide and conquer on the middle snake), with
 * the common prefix and suffix trimmed at every level. When `refined` is set, a region small
 * enough (fewer than 128*128 cells) is instead solved by a cheapest-path search on the edit
 * graph whose costs favour few, long runs of deletes and inserts over scattered one-character
 * edits (what Loro calls the refined diff); that search gives up after a fixed budget and the
 * region falls back to Myers. Search order, costs, budget and tie-breaking follow Loro's
 * (its diff module was read, not copied), so both libraries make the same edits.
 *
 * Items are uint32 symbols (code points, or line ids). The result is a list of edits in
 * increasing old-index order: delete(old_index, len) and insert(old_index, new_index, len),
 * where old_index is a position in the old sequence and new_index the start of the inserted
 * items in the new one. Each search step is reported as its own edit (as Loro does), so
 * two adjacent edits of one kind can follow each other.
 *
 * A timeout (milliseconds, when `timed`) is checked inside the Myers search only, like
 * Loro, so a diff that trimming or the refined search settles never times out. */
#ifndef LORO_C_TEXTDIFF_H
#define LORO_C_TEXTDIFF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
static double td_now_ms(void) {
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart * 1000.0 / (double)f.QuadPart;
}
#else
#include <time.h>
static double td_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}
#endif

enum { TD_DELETE = 0, TD_INSERT = 1 };
enum { TD_OK = 0, TD_TIMEOUT = 1, TD_NOMEM = -1 };

typedef struct {
    int kind;
    int64_t old_index;
    int64_t new_index;
    int64_t len;
} td_edit;

typedef struct {
    td_edit *items;
    int64_t n, cap;
} td_edits;

typedef struct {
    const uint32_t *a, *b;
    int64_t *vf, *vb; /* indexed by diagonal + off */
    int64_t off;
    int refined, timed;
    uint32_t ticks;
    double timeout_ms, start;
    td_edits *out;
} td_ctx;

static int td_push(td_edits *e, int kind, int64_t oi, int64_t ni, int64_t len) {
    if (len <= 0) return TD_OK;
    if (e->n == e->cap) {
        int64_t c = e->cap ? e->cap * 2 : 16;
        td_edit *p = (td_edit *)realloc(e->items, (size_t)c * sizeof(td_edit));
        if (!p) return TD_NOMEM;
        e->items = p;
        e->cap = c;
    }
    e->items[e->n].kind = kind;
    e->items[e->n].old_index = oi;
    e->items[e->n].new_index = ni;
    e->items[e->n].len = len;
    e->n++;
    return TD_OK;
}

static void td_free(td_edits *e) {
    free(e->items);
    e->items = NULL;
    e->n = e->cap = 0;
}

/* ---------------------------------------------------------------- refined search */

enum { TD_FROM_NONE = 0, TD_FROM_DEL = 1, TD_FROM_INS = 2, TD_FROM_DIAG = 3 };
#define TD_RUN_START_COST 8
#define TD_REFINED_BUDGET 10000

typedef struct {
    uint32_t cost;
    uint16_t x, y;
    uint8_t from;
} td_qitem;

/* A binary heap popping the cheapest item, with the exact sift rules of Rust's
 * std::collections::BinaryHeap (push: sift up while strictly cheaper than the parent; pop:
 * move the last item to the root, sink the hole to the bottom along the cheaper child, the
 * right one on ties, then sift up). Loro's refined diff uses that heap, so among paths of
 * equal cost both pick the same one. */
static void td_q_sift_up(td_qitem *h, int64_t pos) {
    td_qitem it = h[pos];
    while (pos > 0) {
        int64_t parent = (pos - 1) / 2;
        if (it.cost >= h[parent].cost) break;
        h[pos] = h[parent];
        pos = parent;
    }
    h[pos] = it;
}

static void td_q_push(td_qitem *h, int64_t *n, td_qitem it) {
    h[*n] = it;
    (*n)++;
    td_q_sift_up(h, *n - 1);
}

static td_qitem td_q_pop(td_qitem *h, int64_t *n) {
    td_qitem top, last = h[--(*n)];
    int64_t end = *n, pos = 0, child = 1;
    if (end == 0) return last;
    top = h[0];
    while (end >= 2 && child <= end - 2) {
        if (h[child].cost >= h[child + 1].cost) child++;
        h[pos] = h[child];
        pos = child;
        child = 2 * pos + 1;
    }
    if (child == end - 1) {
        h[pos] = h[child];
        pos = child;
    }
    h[pos] = last;
    td_q_sift_up(h, pos);
    return top;
}

/* Solve old[ao, ao+n) -> new[bo, bo+m) (no common prefix or suffix, both non-empty).
 * Returns 1 when solved, 0 when the budget ran out (nothing emitted), TD_NOMEM on failure. */
static int td_refined(td_ctx *c, int64_t ao, int64_t n, int64_t bo, int64_t m) {
    const uint32_t *a = c->a + ao, *b = c->b + bo;
    int64_t w = m + 1, cells = (n + 1) * (m + 1), qn = 0, qcap = 64, visited = 0;
    uint8_t *from;
    td_qitem *q;
    int64_t x, y;
    int rc = 1;
    if (n >= 0xFFFF || m >= 0xFFFF) return 0;
    from = (uint8_t *)calloc((size_t)cells, 1);
    q = (td_qitem *)malloc((size_t)qcap * sizeof(td_qitem));
    if (!from || !q) {
        free(from);
        free(q);
        return TD_NOMEM;
    }
    {
        td_qitem s = {0, 0, 0, TD_FROM_DIAG};
        td_q_push(q, &qn, s);
    }
    while (qn > 0) {
        td_qitem it = td_q_pop(q, &qn), nx;
        int64_t cell = (int64_t)it.x * w + it.y;
        if (from[cell]) continue;
        from[cell] = it.from;
        visited++;
        if (it.x == n && it.y == m) break;
        if (visited + qn > TD_REFINED_BUDGET) {
            rc = 0;
            break;
        }
        if (qn + 3 > qcap) {
            td_qitem *p = (td_qitem *)realloc(q, (size_t)qcap * 2 * sizeof(td_qitem));
            if (!p) {
                rc = TD_NOMEM;
                break;
            }
            q = p;
            qcap *= 2;
        }
        if (it.x < n && !from[cell + w]) {
            nx.cost = it.cost + 1 + (it.from != TD_FROM_DEL ? TD_RUN_START_COST : 0);
            nx.x = (uint16_t)(it.x + 1);
            nx.y = it.y;
            nx.from = TD_FROM_DEL;
            td_q_push(q, &qn, nx);
        }
        if (it.y < m && !from[cell + 1]) {
            nx.cost = it.cost + 1 + (it.from != TD_FROM_INS ? TD_RUN_START_COST : 0);
            nx.x = it.x;
            nx.y = (uint16_t)(it.y + 1);
            nx.from = TD_FROM_INS;
            td_q_push(q, &qn, nx);
        }
        if (it.x < n && it.y < m && a[it.x] == b[it.y] && !from[cell + w + 1]) {
            nx.cost = it.cost + (it.from == TD_FROM_DIAG ? 0 : 1);
            nx.x = (uint16_t)(it.x + 1);
            nx.y = (uint16_t)(it.y + 1);
            nx.from = TD_FROM_DIAG;
            td_q_push(q, &qn, nx);
        }
    }
    free(q);
    if (rc != 1 || !from[n * w + m]) {
        free(from);
        return rc == 1 ? 0 : rc;
    }
    /* Walk back from the end through the recorded moves, then emit them forwards. */
    {
        uint8_t *path = (uint8_t *)malloc((size_t)(n + m + 1));
        int64_t len = 0, i;
        if (!path) {
            free(from);
            return TD_NOMEM;
        }
        x = n;
        y = m;
        while (x > 0 || y > 0) {
            uint8_t d = from[x * w + y];
            path[len++] = d;
            if (d == TD_FROM_DEL) x--;
            else if (d == TD_FROM_INS) y--;
            else { x--; y--; }
        }
        free(from);
        x = 0;
        y = 0;
        /* one edit per run of equal moves, as Loro reports them */
        for (i = len - 1; i >= 0;) {
            uint8_t d = path[i];
            int64_t run = 0;
            int r = TD_OK;
            while (i >= 0 && path[i] == d) {
                run++;
                i--;
            }
            if (d == TD_FROM_DEL) {
                r = td_push(c->out, TD_DELETE, ao + x, 0, run);
                x += run;
            } else if (d == TD_FROM_INS) {
                r = td_push(c->out, TD_INSERT, ao + x, bo + y, run);
                y += run;
            } else {
                x += run;
                y += run;
            }
            if (r != TD_OK) {
                free(path);
                return TD_NOMEM;
            }
        }
        free(path);
    }
    return 1;
}

/* ---------------------------------------------------------------- Myers */

/* Length of the common prefix of p[0,lim) and q[0,lim), two symbols per compare. */
static inline int64_t td_common_fwd(const uint32_t *p, const uint32_t *q, int64_t lim) {
    int64_t i = 0;
    while (i + 2 <= lim) {
        uint64_t u, v;
        memcpy(&u, p + i, 8);
        memcpy(&v, q + i, 8);
        if (u != v) break;
        i += 2;
    }
    while (i < lim && p[i] == q[i]) i++;
    return i;
}

/* Length of the common suffix of p[-lim,0) and q[-lim,0) (p, q point past the end). */
static inline int64_t td_common_back(const uint32_t *p, const uint32_t *q, int64_t lim) {
    int64_t i = 0;
    while (i + 2 <= lim) {
        uint64_t u, v;
        memcpy(&u, p - i - 2, 8);
        memcpy(&v, q - i - 2, 8);
        if (u != v) break;
        i += 2;
    }
    while (i < lim && p[-i - 1] == q[-i - 1]) i++;
    return i;
}

/* Find a split point of old[x0,x1) x new[y0,y1) on a shortest edit path (both ranges
 * non-empty, first and last items differ). */
static int td_middle(td_ctx *c, int64_t x0, int64_t x1, int64_t y0, int64_t y1,
                     int64_t *sx, int64_t *sy) {
    const uint32_t *a = c->a, *b = c->b;
    int64_t *vf = c->vf + c->off, *vb = c->vb + c->off;
    int64_t n = x1 - x0, m = y1 - y0, delta = n - m, dmax = (n + m + 1) / 2 + 1, d, k;
    int odd = (int)(delta & 1);
    vf[1] = 0;
    vb[1] = 0;
    for (d = 0; d < dmax; d++) {
        if (c->timed && td_now_ms() - c->start > c->timeout_ms) return TD_TIMEOUT;
        for (k = d; k >= -d; k -= 2) {
            int64_t x, y, xs, ys;
            if (k == -d || (k != d && vf[k - 1] < vf[k + 1])) x = vf[k + 1];
            else x = vf[k - 1] + 1;
            y = x - k;
            xs = x;
            ys = y;
            if (x < n && y < m) {
                int64_t adv = td_common_fwd(a + x0 + x, b + y0 + y,
                                            n - x < m - y ? n - x : m - y);
                x += adv;
                y += adv;
            }
            vf[k] = x;
            if (c->timed && (++c->ticks & 1023) == 0 && td_now_ms() - c->start > c->timeout_ms)
                return TD_TIMEOUT;
            if (odd && k - delta >= -(d - 1) && k - delta <= d - 1 && vf[k] + vb[delta - k] >= n) {
                *sx = x0 + xs;
                *sy = y0 + ys;
                return TD_OK;
            }
        }
        for (k = d; k >= -d; k -= 2) {
            int64_t x, y;
            if (k == -d || (k != d && vb[k - 1] < vb[k + 1])) x = vb[k + 1];
            else x = vb[k - 1] + 1;
            y = x - k;
            if (x < n && y < m) {
                int64_t adv = td_common_back(a + x1 - x, b + y1 - y,
                                             n - x < m - y ? n - x : m - y);
                x += adv;
                y += adv;
            }
            vb[k] = x;
            if (!odd && k - delta >= -d && k - delta <= d && vb[k] + vf[delta - k] >= n) {
                *sx = x0 + n - x;
                *sy = y0 + m - y;
                return TD_OK;
            }
        }
    }
    return 2; /* unreachable for valid input: the caller replaces the whole range */
}

static int td_conquer(td_ctx *c, int64_t x0, int64_t x1, int64_t y0, int64_t y1) {
    int64_t sx, sy;
    int r;
    {
        int64_t lim = x1 - x0 < y1 - y0 ? x1 - x0 : y1 - y0;
        int64_t k = td_common_fwd(c->a + x0, c->b + y0, lim);
        x0 += k;
        y0 += k;
        lim -= k;
        k = td_common_back(c->a + x1, c->b + y1, lim);
        x1 -= k;
        y1 -= k;
    }
    if (x0 == x1 && y0 == y1) return TD_OK;
    if (y0 == y1) return td_push(c->out, TD_DELETE, x0, 0, x1 - x0);
    if (x0 == x1) return td_push(c->out, TD_INSERT, x0, y0, y1 - y0);
    if (c->refined) {
        int64_t ln = x1 - x0, lm = y1 - y0;
        if (ln * lm < 128 * 128) {
            r = td_refined(c, x0, ln, y0, lm);
            if (r == 1) return TD_OK;
            if (r != 0) return r;
        }
    }
    r = td_middle(c, x0, x1, y0, y1, &sx, &sy);
    if (r == TD_OK) {
        r = td_conquer(c, x0, sx, y0, sy);
        if (r != TD_OK) return r;
        return td_conquer(c, sx, x1, sy, y1);
    }
    if (r != 2) return r;
    r = td_push(c->out, TD_DELETE, x0, 0, x1 - x0);
    if (r != TD_OK) return r;
    return td_push(c->out, TD_INSERT, x0, y0, y1 - y0);
}

/* Diff a[0,n) -> b[0,m) into `out` (which the caller frees with td_free, also on error). */
static int td_diff(const uint32_t *a, int64_t n, const uint32_t *b, int64_t m, int refined,
                   int timed, double timeout_ms, td_edits *out) {
    td_ctx c;
    int64_t dmax = (n + m + 1) / 2 + 2;
    int r;
    c.a = a;
    c.b = b;
    c.refined = refined;
    c.timed = timed;
    c.ticks = 0;
    c.timeout_ms = timeout_ms;
    c.start = timed ? td_now_ms() : 0.0;
    c.out = out;
    c.off = dmax;
    c.vf = (int64_t *)calloc((size_t)(2 * dmax + 2), sizeof(int64_t));
    c.vb = (int64_t *)calloc((size_t)(2 * dmax + 2), sizeof(int64_t));
    if (!c.vf || !c.vb) {
        free(c.vf);
        free(c.vb);
        return TD_NOMEM;
    }
    r = td_conquer(&c, 0, n, 0, m);
    free(c.vf);
    free(c.vb);
    return r;
}

/* ---------------------------------------------------------------- lines as symbols */

/* Cut a[0,n) into lines (each ending after its '\n'; a last piece without one) and record
 * where each starts: starts[0..count] (starts[count] == n). Returns the count, or -1. */
static int64_t td_cut_lines(const uint32_t *a, int64_t n, int64_t **starts) {
    int64_t count = 0, i, k = 0;
    int64_t *st;
    for (i = 0; i < n; i++)
        if (a[i] == 10) count++;
    if (n > 0 && a[n - 1] != 10) count++;
    st = (int64_t *)malloc((size_t)(count + 1) * sizeof(int64_t));
    if (!st) return -1;
    st[k++] = 0;
    for (i = 0; i < n; i++)
        if (a[i] == 10 && i + 1 < n) st[k++] = i + 1;
    st[count] = n;
    *starts = st;
    return count;
}

typedef struct {
    uint64_t hash;
    const uint32_t *p;
    int64_t len;
    uint32_t id;
    int used;
} td_slot;

static uint64_t td_hash(const uint32_t *p, int64_t len) {
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)len;
    int64_t i;
    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

/* Give every line of a (cut at sa) and b (cut at sb) an id, equal lines equal ids. */
static int td_line_ids(const uint32_t *a, const int64_t *sa, int64_t na, const uint32_t *b,
                       const int64_t *sb, int64_t nb, uint32_t *ida, uint32_t *idb) {
    uint64_t cap = 16, mask, h, j;
    uint32_t next = 0;
    int64_t i;
    int side;
    td_slot *t;
    while (cap < (uint64_t)(na + nb) * 2 + 16) cap <<= 1;
    mask = cap - 1;
    t = (td_slot *)calloc((size_t)cap, sizeof(td_slot));
    if (!t) return TD_NOMEM;
    for (side = 0; side < 2; side++) {
        const uint32_t *x = side ? b : a;
        const int64_t *st = side ? sb : sa;
        int64_t nl = side ? nb : na;
        uint32_t *out = side ? idb : ida;
        for (i = 0; i < nl; i++) {
            const uint32_t *p = x + st[i];
            int64_t len = st[i + 1] - st[i];
            h = td_hash(p, len);
            for (j = h & mask;; j = (j + 1) & mask) {
                td_slot *s = &t[j];
                if (!s->used) {
                    s->used = 1;
                    s->hash = h;
                    s->p = p;
                    s->len = len;
                    s->id = next++;
                    out[i] = s->id;
                    break;
                }
                if (s->hash == h && s->len == len && memcmp(s->p, p, (size_t)len * 4) == 0) {
                    out[i] = s->id;
                    break;
                }
            }
        }
    }
    free(t);
    return TD_OK;
}

#endif
