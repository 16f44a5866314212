/* Record counting throughput: csvcount beside `wc -l` (fast, not exact on
 * quoted newlines), libcsv's byte loop (exact) and a plain read of the same
 * file (the floor), on a generated Zuora-style CSV with a quoted newline in
 * every 50th record.  Medians of several runs, as TARGETS.md asks.
 *
 *   csvcount_bench [MB]        default 1024; the file lives in $TMPDIR */
#include <csv.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csvcount.h"

#define CHUNK (1 << 20)
#define RUNS 5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Writes about mb megabytes of records; returns the record count. */
static long long generate(const char *path, long long mb)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    static char line[512];
    fputs("InvoiceItem.IsDeleted,InvoiceItem.Id,InvoiceItem.ChargeName,InvoiceItem.ChargeAmount,"
          "InvoiceItem.ServiceStartDate,Account.Id\n", f);
    long long target = mb * 1024 * 1024, written = 0, n = 0;
    while (written < target) {
        int len;
        if (n % 50 == 0)
            len = snprintf(line, sizeof line,
                           "false,2c92a0fd%024lld,\"Guardian Weekly \"\"Domestic\"\"\nquarterly\",%lld.%02lld,"
                           "2024-03-%02lld,8a128e2c%024lld\n",
                           n, n % 997, n % 100, n % 28 + 1, n / 3);
        else
            len = snprintf(line, sizeof line,
                           "false,2c92a0fd%024lld,Supporter Plus Monthly,%lld.%02lld,2024-03-%02lld,"
                           "8a128e2c%024lld\n",
                           n, n % 997, n % 100, n % 28 + 1, n / 3);
        fwrite(line, 1, (size_t)len, f);
        written += len;
        n++;
    }
    if (fclose(f) != 0)
        return -1;
    return n;
}

struct libcsv_count {
    long long rows;
};

static void on_row(int c, void *ud)
{
    (void)c;
    ((struct libcsv_count *)ud)->rows++;
}

/* One pass over the file; kind 0 = read only, 1 = csvcount, 2 = libcsv. */
static double pass(const char *path, int kind, long long *records)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    char *chunk = malloc(CHUNK);
    struct csvcount c;
    csvcount_init(&c, false);
    struct csv_parser p;
    struct libcsv_count lc = { 0 };
    csv_init(&p, 0);
    double t0 = now_s();
    ssize_t n;
    unsigned long sum = 0;
    while ((n = read(fd, chunk, CHUNK)) > 0) {
        if (kind == 0)
            sum += (unsigned char)chunk[n - 1];
        else if (kind == 1)
            csvcount_feed(&c, chunk, (size_t)n);
        else
            csv_parse(&p, chunk, (size_t)n, NULL, on_row, &lc);
    }
    *records = (long long)(sum & 0);
    if (kind == 1 && csvcount_finish(&c, records, NULL) != LK_OK)
        *records = -1;
    if (kind == 2) {
        csv_fini(&p, NULL, on_row, &lc);
        *records = lc.rows - 1;
    }
    double t = now_s() - t0;
    csv_free(&p);
    csvcount_free(&c);
    free(chunk);
    close(fd);
    return t;
}

static double shell_time(const char *cmd)
{
    double t0 = now_s();
    if (system(cmd) != 0)
        return -1;
    return now_s() - t0;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    long long mb = argc > 1 ? atoll(argv[1]) : 1024;
    if (mb <= 0) {
        fprintf(stderr, "usage: csvcount_bench [MB]\n");
        return 2;
    }
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/csvcount-bench-%ld.csv", tmp, (long)getpid());
    long long want = generate(path, mb);
    if (want < 0) {
        fprintf(stderr, "csvcount_bench: cannot write %s\n", path);
        return 1;
    }
    double size_mb = (double)mb * 1024 * 1024 / 1e6;
    double t_read[RUNS], t_count[RUNS], t_wc[RUNS];
    long long got = -1, dummy;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "wc -l < '%s' > /dev/null", path);
    for (int i = 0; i < RUNS; i++) {
        t_read[i] = pass(path, 0, &dummy);
        t_count[i] = pass(path, 1, &got);
        t_wc[i] = shell_time(cmd);
    }
    long long libcsv_records = -1;
    double t_libcsv = pass(path, 2, &libcsv_records);
    unlink(path);

    double read_s = median(t_read, RUNS), count_s = median(t_count, RUNS), wc_s = median(t_wc, RUNS);
    printf("record counting, %.0f MB Zuora-style CSV, %lld records (quoted newline in every 50th)\n",
           size_mb, want);
    printf("  %-34s %10s  %s\n", "what", "MB/s", "records");
    printf("  %-34s %10.0f  %lld%s\n", "lakeop csvcount (exact)", size_mb / count_s, got,
           got == want ? "" : "  WRONG");
    printf("  %-34s %10.0f  %lld%s\n", "libcsv byte loop (exact)", size_mb / t_libcsv, libcsv_records,
           libcsv_records == want ? "" : "  WRONG");
    printf("  %-34s %10.0f  (lines, not records)\n", "wc -l", size_mb / wc_s);
    printf("  %-34s %10.0f\n", "read(2) alone, same buffers", size_mb / read_s);
    double cost = count_s > read_s ? (count_s - read_s) / read_s * 100 : 0;
    printf("  target: >= 1000 MB/s: %s; counting adds %.0f%% to a bare read of the page cache\n",
           size_mb / count_s >= 1000 ? "met" : "NOT met", cost);
    /* One line per figure for make bench's closing table (tests/bench/run.sh). */
    const char *summary = getenv("LK_BENCH_SUMMARY");
    FILE *sf = summary && *summary ? fopen(summary, "a") : NULL;
    if (sf) {
        fprintf(sf, "exact record count, %.0f MB (MB/s vs libcsv)\t%.0f\t%.0f\t%.1fx\t>= 1000 MB/s, one core\t%s\n",
                size_mb, size_mb / count_s, size_mb / t_libcsv, t_libcsv / count_s,
                got == want && size_mb / count_s >= 1000 ? "met" : "NOT met");
        fprintf(sf, "record count vs wc -l (lines, inexact) (MB/s)\t%.0f\t%.0f\t%.2fx\tprinted beside\tinfo\n",
                size_mb / count_s, size_mb / wc_s, wc_s / count_s);
        fclose(sf);
    }
    return got == want ? 0 : 1;
}
