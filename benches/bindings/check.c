/*
 * Issue 23 benchmark, the C side: tepat_check per call through the C ABI,
 * over the first ROWS rows of DIR/payees.csv, in blocks of 100 calls (the
 * per-call mean of each block; p50 and p99 of the blocks), the method of
 * the Rust and Python sides.
 *
 *   check DIR ROWS REPS
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tepat.h"

#define BLOCK 100

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct row {
    char nik[24], program[16], period[16];
    size_t nik_len, program_len, period_len;
};

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s DIR ROWS REPS\n", argv[0]);
        return 2;
    }
    size_t want = strtoul(argv[2], NULL, 10), reps = strtoul(argv[3], NULL, 10);
    char path[4096];
    snprintf(path, sizeof path, "%s/payees.csv", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    struct row *rows = calloc(want, sizeof *rows);
    char line[256];
    size_t n = 0;
    if (!fgets(line, sizeof line, f)) return 1; /* header */
    while (n < want && fgets(line, sizeof line, f)) {
        char *a = strtok(line, ",\n"), *b = strtok(NULL, ",\n"), *c = strtok(NULL, ",\n");
        if (!a || !b || !c) continue;
        struct row *r = &rows[n++];
        snprintf(r->nik, sizeof r->nik, "%s", a);
        snprintf(r->program, sizeof r->program, "%s", b);
        snprintf(r->period, sizeof r->period, "%s", c);
        r->nik_len = strlen(r->nik);
        r->program_len = strlen(r->program);
        r->period_len = strlen(r->period);
    }
    fclose(f);

    snprintf(path, sizeof path, "%s/store", argv[1]);
    tepat_open_options o;
    memset(&o, 0, sizeof o);
    o.today = "2026-11-15";
    o.today_len = 10;
    tepat_store *store = NULL;
    if (tepat_open(path, strlen(path), &o, &store) != TEPAT_OK) {
        fprintf(stderr, "open: %s\n", tepat_last_error_message());
        return 1;
    }
    tepat_verdict v;
    size_t payable = 0;
    for (size_t i = 0; i < n; i++) { /* warm */
        if (tepat_check(store, rows[i].nik, rows[i].nik_len, rows[i].program, rows[i].program_len,
                        rows[i].period, rows[i].period_len, &v) != TEPAT_OK) {
            fprintf(stderr, "check: %s\n", tepat_last_error_message());
            return 1;
        }
        payable += v.payable;
    }
    size_t blocks = n / BLOCK;
    double *t = malloc(blocks * sizeof *t);
    for (size_t rep = 0; rep < reps; rep++) {
        for (size_t b = 0; b < blocks; b++) {
            double t0 = now_ns();
            for (size_t i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
                tepat_check(store, rows[i].nik, rows[i].nik_len, rows[i].program,
                            rows[i].program_len, rows[i].period, rows[i].period_len, &v);
                payable += v.payable;
            }
            t[b] = (now_ns() - t0) / BLOCK;
        }
        qsort(t, blocks, sizeof *t, cmp);
        printf("RESULT c check rep=%zu rows=%zu p50_ns=%.0f p99_ns=%.0f\n", rep, n,
               t[blocks / 2], t[(size_t)((blocks - 1) * 0.99)]);
    }
    fprintf(stderr, "(%zu payable)\n", payable);
    free(t);
    free(rows);
    tepat_close(store);
    return 0;
}
