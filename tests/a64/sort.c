/* Sorting: qsort, merge sort, heap sort, insertion sort on integers and strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint32_t seed = 12345;
static uint32_t rnd(void) { seed = seed * 1103515245u + 12345u; return (seed >> 1) ^ (seed << 7); }

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void merge_sort(long *a, long *tmp, size_t n) {
    if (n < 2) return;
    size_t m = n / 2;
    merge_sort(a, tmp, m);
    merge_sort(a + m, tmp, n - m);
    size_t i = 0, j = m, k = 0;
    while (i < m && j < n) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < m) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static void sift(unsigned *a, size_t i, size_t n) {
    for (;;) {
        size_t l = 2 * i + 1, big = i;
        if (l < n && a[l] > a[big]) big = l;
        if (l + 1 < n && a[l + 1] > a[big]) big = l + 1;
        if (big == i) return;
        unsigned t = a[i]; a[i] = a[big]; a[big] = t; i = big;
    }
}
static void heap_sort(unsigned *a, size_t n) {
    for (size_t i = n / 2; i-- > 0;) sift(a, i, n);
    for (size_t e = n; e-- > 1;) { unsigned t = a[0]; a[0] = a[e]; a[e] = t; sift(a, 0, e); }
}

int main(void) {
    enum { N = 50000 };
    int *a = malloc(N * sizeof *a);
    long *b = malloc(N * sizeof *b), *tmp = malloc(N * sizeof *tmp);
    unsigned *c = malloc(N * sizeof *c);
    for (int i = 0; i < N; i++) { a[i] = (int)rnd() - (int)(rnd() >> 1); b[i] = (long)rnd() * (long)(int)rnd(); c[i] = rnd(); }
    qsort(a, N, sizeof *a, cmp_int);
    merge_sort(b, tmp, N);
    heap_sort(c, N);
    long long ck = 0;
    for (int i = 0; i < N; i++) {
        if (i && (a[i - 1] > a[i] || b[i - 1] > b[i] || c[i - 1] > c[i])) { printf("not sorted at %d\n", i); return 1; }
        ck = ck * 31 + a[i] + (b[i] >> 13) + c[i];
    }
    printf("ints: min %d max %d median %d ck %lld\n", a[0], a[N - 1], a[N / 2], ck);
    printf("longs: %ld %ld %ld\n", b[0], b[N / 3], b[N - 1]);
    enum { S = 3000 };
    char **strs = malloc(S * sizeof *strs);
    for (int i = 0; i < S; i++) {
        int len = 1 + rnd() % 12;
        strs[i] = malloc(len + 1);
        for (int k = 0; k < len; k++) strs[i][k] = 'a' + rnd() % 26;
        strs[i][len] = 0;
    }
    qsort(strs, S, sizeof *strs, cmp_str);
    for (int i = 0; i < S; i += 250) printf("%s ", strs[i]);
    printf("\n");
    /* insertion sort of a small array with many duplicates */
    short d[300];
    for (int i = 0; i < 300; i++) d[i] = (short)(rnd() % 17) - 8;
    for (int i = 1; i < 300; i++) { short v = d[i]; int j = i - 1; while (j >= 0 && d[j] > v) { d[j + 1] = d[j]; j--; } d[j + 1] = v; }
    for (int i = 0; i < 300; i += 20) printf("%d,", d[i]);
    printf("\n");
    return 0;
}
