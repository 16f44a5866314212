/* Ingest validation throughput (csvcheck: header against the schema, field
 * count of every record, UTF-8, quotes) on a generated CSV.
 *
 *   validate_bench gen PATH MB    write a ~MB megabyte CSV (a quoted field
 *                                 with a newline in every 50th record, some
 *                                 non-ASCII UTF-8 text)
 *   validate_bench run PATH       validate it 3 times; print the median MB/s */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csvcheck.h"

static const char *const COLS[] = { "Id", "AccountNumber", "Balance", "Notes", "UpdatedDate" };

static int gen(const char *path, long long mb)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    fputs("Id,AccountNumber,Balance,Notes,UpdatedDate\n", f);
    long long want = mb * 1024 * 1024, written = 0;
    for (long long i = 1; written < want; i++) {
        int n;
        if (i % 50 == 0)
            n = fprintf(f, "2c92a0f%025lld,A%08lld,%lld.%02lld,\"multi-line\nnote, \"\"quoted\"\"\",2024-01-%02lldT10:00:00Z\n",
                        i, i, i % 100000, i % 100, i % 28 + 1);
        else
            n = fprintf(f, "2c92a0f%025lld,A%08lld,%lld.%02lld,Café Zürich %lld,2024-01-%02lldT10:00:00Z\n", i, i,
                        i % 100000, i % 100, i % 1000, i % 28 + 1);
        written += n;
    }
    return fclose(f) == 0 ? 0 : 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run(const char *path)
{
    static char chunk[1 << 20];
    double rates[3];
    long long records = 0, bytes = 0;
    for (int r = 0; r < 3; r++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            perror(path);
            return 1;
        }
        struct csvcheck_opts opts = { path, CSVCHECK_CSV, COLS, 5, 1 };
        struct csvcheck *c = NULL;
        struct lk_error err;
        err_clear(&err);
        double t0 = now_s();
        if (csvcheck_open(&opts, &c, &err) != LK_OK) {
            fprintf(stderr, "%s\n", err.message);
            close(fd);
            return 1;
        }
        ssize_t n;
        while ((n = read(fd, chunk, sizeof chunk)) > 0)
            if (csvcheck_feed(c, chunk, (size_t)n, &err) != LK_OK)
                break;
        struct csvcheck_result res;
        enum lk_status st = csvcheck_finish(c, &res, &err);
        double dt = now_s() - t0;
        csvcheck_free(c);
        close(fd);
        if (st != LK_OK) {
            fprintf(stderr, "validation failed: %s\n", err.message);
            return 1;
        }
        records = res.records;
        bytes = res.bytes_in;
        rates[r] = (double)bytes / (1024.0 * 1024.0) / dt;
    }
    qsort(rates, 3, sizeof rates[0], cmp_double);
    printf("%.0f %lld %lld\n", rates[1], records, bytes);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], atoll(argv[3]));
    if (argc == 3 && strcmp(argv[1], "run") == 0)
        return run(argv[2]);
    fprintf(stderr, "usage: validate_bench gen PATH MB | run PATH\n");
    return 2;
}
