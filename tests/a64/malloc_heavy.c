/* malloc-heavy: linked lists, trees, realloc growth, big (mmap) blocks, string handling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

struct node { struct node *l, *r; long key; char *name; };

static uint64_t st = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { st ^= st >> 12; st ^= st << 25; st ^= st >> 27; return st * 2685821657736338717ull; }

static struct node *insert(struct node *t, long k) {
    if (!t) {
        t = calloc(1, sizeof *t);
        t->key = k;
        char tmp[32];
        snprintf(tmp, sizeof tmp, "n%ld", k % 100000);
        t->name = strdup(tmp);
        return t;
    }
    if (k < t->key) t->l = insert(t->l, k); else if (k > t->key) t->r = insert(t->r, k);
    return t;
}
static long walk(struct node *t, long *cnt) {
    if (!t) return 0;
    long s = walk(t->l, cnt);
    (*cnt)++;
    s = s * 7 + t->key + (long)strlen(t->name);
    return s + walk(t->r, cnt);
}
static void freet(struct node *t) { if (t) { freet(t->l); freet(t->r); free(t->name); free(t); } }

int main(void) {
    struct node *root = NULL;
    for (int i = 0; i < 20000; i++) root = insert(root, (long)(rnd() % 1000000));
    long cnt = 0;
    long s = walk(root, &cnt);
    printf("tree: %ld nodes, sum %ld\n", cnt, s);
    freet(root);

    size_t cap = 1, len = 0;
    char *buf = malloc(cap);
    for (int i = 0; i < 100000; i++) {
        char piece[24];
        int n = snprintf(piece, sizeof piece, "%d,", i * 7 % 1013);
        if (len + n + 1 > cap) { cap = cap * 2 + n; buf = realloc(buf, cap); }
        memcpy(buf + len, piece, n);
        len += n;
    }
    buf[len] = 0;
    uint32_t h = 0;
    for (size_t i = 0; i < len; i++) h = h * 33 + (unsigned char)buf[i];
    printf("string: len %zu hash %08x\n", len, h);
    free(buf);

    void *ptrs[512];
    size_t total = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 512; i++) {
            size_t sz = (rnd() % 7 == 0) ? (size_t)(rnd() % (1 << 20)) + 200000 : (size_t)(rnd() % 2000) + 1;
            ptrs[i] = malloc(sz);
            memset(ptrs[i], i & 0xff, sz < 4096 ? sz : 4096);
            total += sz;
        }
        for (int i = 0; i < 512; i += 1 + round % 3) { free(ptrs[i]); ptrs[i] = NULL; }
        for (int i = 0; i < 512; i++) if (ptrs[i]) { ptrs[i] = realloc(ptrs[i], 100); free(ptrs[i]); }
    }
    printf("allocated %zu bytes total\n", total);
    char *big = calloc(8 << 20, 1);
    long nz = 0;
    for (size_t i = 0; i < (8u << 20); i += 4093) nz += big[i] != 0;
    memset(big, 0x5a, 8 << 20);
    printf("calloc nonzero %ld, last %d\n", nz, big[(8 << 20) - 1]);
    free(big);
    return 0;
}
