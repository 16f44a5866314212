/* The object store on a local file system: buckets and prefixes are folders.
 *
 * A write goes to ".NAME.lakeop-tmp.XXXXXX" in the destination folder, is
 * fsynced, renamed over the final name and the folder fsynced: readers see
 * either the previous object or the new one, never a part, even after a
 * crash.  Temporary files left by a crash are never listed.
 *
 * A writer holds an flock on its temporary file from creation until it is
 * renamed or removed; the kernel drops the lock when the process dies, even
 * by SIGKILL.  Opening a writer in a folder removes that folder's
 * temporaries that nobody holds and that have not changed for a minute (the
 * minute covers a writer between creating its file and locking it): what a
 * killed copy left behind, never a file another lakeop is still writing.
 * Where the file system cannot lock, only temporaries unchanged for an hour
 * go. */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"

#define TEMP_MARK ".lakeop-tmp."
#define TEMP_RAND 6              /* the XXXXXX of mkstemp */
#define IO_CHUNK ((size_t)1 << 20)
#define STALE_UNLOCKED_S 60        /* nobody holds it: a dead writer's, past the creation window */
#define STALE_UNLOCKABLE_S 3600    /* no locks on this file system: age alone decides */

struct storef_writer {
    int fd;
    int lock_fd;        /* a duplicate of fd that keeps the flock past close(fd), until the rename */
    char *tmp_path;
    char *final_path;
    char *dir;
    long long written;
};

bool storef_is_temp_name(const char *name)
{
    if (!name || name[0] != '.')
        return false;
    const char *mark = strstr(name, TEMP_MARK);
    return mark && strlen(mark + strlen(TEMP_MARK)) == TEMP_RAND;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* mkdir -p */
static enum lk_status make_dirs(const char *dir, struct lk_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return LK_OK;
        return err_set(err, LK_FAIL, "'%s' is a file where a folder is needed", dir);
    }
    char *copy = xstrdup(dir);
    for (char *p = copy + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            char saved = *p;
            *p = '\0';
            if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                err_set(err, LK_FAIL, "cannot create folder '%s': %s", copy, strerror(e));
                free(copy);
                return LK_FAIL;
            }
            *p = saved;
        }
        if (end)
            break;
    }
    free(copy);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(err, LK_FAIL, "'%s' is a file where a folder is needed", dir);
    return LK_OK;
}

static enum lk_status sync_dir(const char *dir, struct lk_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, LK_FAIL, "cannot open folder '%s': %s", dir, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    /* Some file systems cannot fsync a folder; the rename is then as durable as they allow. */
    if (rc != 0 && e != EINVAL && e != EROFS)
        return err_set(err, LK_FAIL, "cannot sync folder '%s': %s", dir, strerror(e));
    return LK_OK;
}

static void fill_info(const struct stat *st, struct store_object_info *info)
{
    info->exists = true;
    info->size = (long long)st->st_size;
    info->mtime = (long long)st->st_mtim.tv_sec;
    long long ns = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    free(info->etag);
    info->etag = xasprintf("%lld-%lld", info->size, ns);
}

enum lk_status storef_ping(const char *dir, struct lk_error *err)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return err_set(err, errno == ENOENT ? LK_NOTFOUND : LK_FAIL, "folder '%s' %s", dir,
                       errno == ENOENT ? "does not exist" : strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(err, LK_FAIL, "'%s' is not a folder", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return err_set(err, LK_FAIL, "folder '%s' is not writable: %s", dir, strerror(errno));
    return LK_OK;
}

enum lk_status storef_head(const char *path, struct store_object_info *info, struct lk_error *err)
{
    memset(info, 0, sizeof *info);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return LK_OK;
        return err_set(err, LK_FAIL, "cannot read '%s': %s", path, strerror(errno));
    }
    /* A folder is where keys share a prefix, not an object. */
    if (!S_ISREG(st.st_mode))
        return LK_OK;
    fill_info(&st, info);
    return LK_OK;
}

static enum lk_status open_object(const char *path, int *fd_out, struct stat *st, struct lk_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return err_set(err, LK_NOTFOUND, "'%s' does not exist", path);
        return err_set(err, LK_FAIL, "cannot open '%s': %s", path, strerror(errno));
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return err_set(err, LK_NOTFOUND, "'%s' is not a file", path);
    }
    *fd_out = fd;
    return LK_OK;
}

enum lk_status storef_get(const char *path, long long offset, long long length, http_sink_fn sink,
                          void *ud, const volatile int *cancel, struct lk_error *err)
{
    int fd;
    struct stat st;
    enum lk_status rc = open_object(path, &fd, &st, err);
    if (rc != LK_OK)
        return rc;
    if (offset < 0 || offset > (long long)st.st_size) {
        close(fd);
        return err_set(err, LK_FAIL, "cannot read '%s' from byte %lld: it has %lld bytes", path,
                       offset, (long long)st.st_size);
    }
    long long left = (long long)st.st_size - offset;
    if (length >= 0 && length < left)
        left = length;
    char *chunk = xmalloc(IO_CHUNK);
    long long pos = offset;
    rc = LK_OK;
    while (left > 0) {
        if (cancel && *cancel) {
            rc = err_set(err, LK_FAIL, "reading '%s': cancelled", path);
            break;
        }
        size_t want = left < (long long)IO_CHUNK ? (size_t)left : IO_CHUNK;
        ssize_t n = pread(fd, chunk, want, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(err, LK_FAIL, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (n == 0) {
            rc = err_set(err, LK_FAIL, "'%s' became shorter while it was read", path);
            break;
        }
        if (sink(chunk, (size_t)n, ud) != (size_t)n) {
            rc = err_set(err, LK_FAIL, "reading '%s': the receiver stopped after %lld bytes", path,
                         pos - offset);
            break;
        }
        pos += n;
        left -= n;
    }
    free(chunk);
    close(fd);
    return rc;
}

/* ---- listing ------------------------------------------------------------ */

struct dir_entry {
    char *name;
    char *sort_key;     /* a folder sorts as "name/": the keys it holds all start so */
    bool is_dir;
    struct stat st;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct dir_entry *x = a, *y = b;
    return strcmp(x->sort_key, y->sort_key);
}

/* Whether keys starting with `have` can also start with `prefix`. */
static bool prefix_compatible(const char *have, const char *prefix)
{
    size_t a = strlen(have), b = strlen(prefix);
    return strncmp(have, prefix, a < b ? a : b) == 0;
}

struct walk {
    const char *prefix;
    store_list_fn fn;
    void *ud;
    bool stopped;
    struct lk_error *err;
};

static enum lk_status walk_dir(struct walk *w, const char *path, const char *rel)
{
    DIR *d = opendir(path);
    if (!d)
        return err_set(w->err, errno == ENOENT ? LK_NOTFOUND : LK_FAIL, "cannot list folder '%s': %s",
                       path, strerror(errno));
    struct dir_entry *entries = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || storef_is_temp_name(name))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;       /* gone meanwhile */
        bool is_dir = S_ISDIR(st.st_mode);
        if (S_ISLNK(st.st_mode)) {
            /* Linked files are objects; linked folders are not walked (no loops). */
            if (fstatat(dirfd(d), name, &st, 0) != 0 || !S_ISREG(st.st_mode))
                continue;
        } else if (!is_dir && !S_ISREG(st.st_mode)) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            entries = xrealloc(entries, cap * sizeof *entries);
        }
        entries[n].name = xstrdup(name);
        entries[n].sort_key = is_dir ? xasprintf("%s/", name) : xstrdup(name);
        entries[n].is_dir = is_dir;
        entries[n].st = st;
        n++;
    }
    closedir(d);
    if (n)
        qsort(entries, n, sizeof *entries, entry_cmp);

    enum lk_status rc = LK_OK;
    for (size_t i = 0; i < n && rc == LK_OK && !w->stopped; i++) {
        char *key = xasprintf("%s%s", rel, entries[i].sort_key);
        if (entries[i].is_dir) {
            if (prefix_compatible(key, w->prefix)) {
                char *sub = xasprintf("%s/%s", path, entries[i].name);
                rc = walk_dir(w, sub, key);
                /* A folder removed while we walk simply has no keys. */
                if (rc == LK_NOTFOUND)
                    rc = LK_OK;
                free(sub);
            }
        } else if (strncmp(key, w->prefix, strlen(w->prefix)) == 0) {
            struct store_object_info info = { 0 };
            fill_info(&entries[i].st, &info);
            struct store_list_entry e = { .key = key, .size = info.size, .mtime = info.mtime,
                                          .etag = info.etag };
            if (!w->fn(&e, w->ud))
                w->stopped = true;
            free(info.etag);
        }
        free(key);
    }
    for (size_t i = 0; i < n; i++) {
        free(entries[i].name);
        free(entries[i].sort_key);
    }
    free(entries);
    return rc;
}

enum lk_status storef_list(const char *dir, const char *prefix, store_list_fn fn, void *ud,
                           struct lk_error *err)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(err, LK_NOTFOUND, "folder '%s' does not exist", dir);
    struct walk w = { .prefix = prefix ? prefix : "", .fn = fn, .ud = ud, .err = err };
    return walk_dir(&w, dir, "");
}

/* ---- writing ------------------------------------------------------------ */

/* Whether an open temporary file is a dead writer's.  Leaves it locked by
 * us when it is, so no writer can take it up meanwhile. */
static bool temp_is_stale(int fd, const struct stat *st, time_t now)
{
    long long age = (long long)now - (long long)st->st_mtim.tv_sec;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return age >= STALE_UNLOCKED_S;
    if (errno == EWOULDBLOCK)
        return false;       /* a live writer holds it */
    return age >= STALE_UNLOCKABLE_S;
}

/* Best effort: removes the temporaries dead writers left in dir (see the
 * top of this file).  Failing to tidy up must not fail the write. */
static void sweep_stale_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (!storef_is_temp_name(name))
            continue;
        int fd = openat(dirfd(d), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st, again;
        /* Removed by name: the name must still be the file judged (not a
         * link, not replaced meanwhile). */
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && temp_is_stale(fd, &st, now) &&
            fstatat(dirfd(d), name, &again, AT_SYMLINK_NOFOLLOW) == 0 &&
            again.st_dev == st.st_dev && again.st_ino == st.st_ino)
            unlinkat(dirfd(d), name, 0);
        close(fd);
    }
    closedir(d);
}

enum lk_status storef_writer_open(const char *path, struct storef_writer **out, struct lk_error *err)
{
    *out = NULL;
    const char *base = base_of(path);
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return err_set(err, LK_USAGE, "'%s' names a folder, not a file", path);
    char *dir = dir_of(path);
    enum lk_status rc = make_dirs(dir, err);
    if (rc != LK_OK) {
        free(dir);
        return rc;
    }
    sweep_stale_temps(dir);
    char *tmp = xasprintf("%s/.%s" TEMP_MARK "XXXXXX", dir, base);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        err_set(err, LK_FAIL, "cannot create a temporary file in '%s': %s", dir, strerror(errno));
        free(tmp);
        free(dir);
        return LK_FAIL;
    }
    /* Marks the file as being written (see the top); a file system
     * without locks leaves it to the hour-long rule. */
    (void)flock(fd, LOCK_EX | LOCK_NB);
    int lock_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    /* mkstemp makes 0600; objects are meant to be read by the lake's other tools. */
    if (fchmod(fd, 0644) != 0) {
        err_set(err, LK_FAIL, "cannot set the mode of '%s': %s", tmp, strerror(errno));
        unlink(tmp);
        close(fd);
        if (lock_fd >= 0)
            close(lock_fd);
        free(tmp);
        free(dir);
        return LK_FAIL;
    }
    struct storef_writer *w = xcalloc(1, sizeof *w);
    w->fd = fd;
    w->lock_fd = lock_fd;
    w->tmp_path = tmp;
    w->final_path = xstrdup(path);
    w->dir = dir;
    *out = w;
    return LK_OK;
}

enum lk_status storef_writer_write(struct storef_writer *w, const void *data, size_t len,
                                   struct lk_error *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(err, LK_FAIL, "cannot write '%s': %s", w->final_path, strerror(errno));
        p += n;
        len -= (size_t)n;
        w->written += n;
    }
    return LK_OK;
}

static void writer_free(struct storef_writer *w)
{
    free(w->tmp_path);
    free(w->final_path);
    free(w->dir);
    free(w);
}

void storef_writer_abort(struct storef_writer *w)
{
    if (!w)
        return;
    /* Removed while still locked: nobody else judges it meanwhile. */
    unlink(w->tmp_path);
    if (w->fd >= 0)
        close(w->fd);
    if (w->lock_fd >= 0)
        close(w->lock_fd);
    writer_free(w);
}

enum lk_status storef_writer_commit(struct storef_writer *w, struct store_object_info *info,
                                    struct lk_error *err)
{
    if (fsync(w->fd) != 0) {
        err_set(err, LK_FAIL, "cannot sync '%s': %s", w->final_path, strerror(errno));
        storef_writer_abort(w);
        return LK_FAIL;
    }
    int rc_close = close(w->fd);
    w->fd = -1;
    if (rc_close != 0) {
        err_set(err, LK_FAIL, "cannot write '%s': %s", w->final_path, strerror(errno));
        storef_writer_abort(w);
        return LK_FAIL;
    }
    if (rename(w->tmp_path, w->final_path) != 0) {
        err_set(err, LK_FAIL, "cannot put '%s' in place: %s", w->final_path, strerror(errno));
        storef_writer_abort(w);
        return LK_FAIL;
    }
    /* Only now: the lock kept sweeps away until the temporary name was gone. */
    if (w->lock_fd >= 0)
        close(w->lock_fd);
    w->lock_fd = -1;
    enum lk_status rc = sync_dir(w->dir, err);
    if (rc == LK_OK && info) {
        memset(info, 0, sizeof *info);
        struct stat st;
        if (stat(w->final_path, &st) != 0)
            rc = err_set(err, LK_FAIL, "'%s' vanished right after it was written", w->final_path);
        else
            fill_info(&st, info);
    }
    writer_free(w);
    return rc;
}

/* ---- whole objects ------------------------------------------------------ */

enum lk_status storef_copy(const char *from, const char *to, const volatile int *cancel,
                           struct lk_error *err)
{
    int fd;
    struct stat st;
    enum lk_status rc = open_object(from, &fd, &st, err);
    if (rc != LK_OK)
        return rc;
    struct stat dst;
    if (stat(to, &dst) == 0 && dst.st_dev == st.st_dev && dst.st_ino == st.st_ino) {
        close(fd);
        return LK_OK;       /* copying onto itself: already there */
    }
    struct storef_writer *w;
    rc = storef_writer_open(to, &w, err);
    if (rc != LK_OK) {
        close(fd);
        return rc;
    }
    char *chunk = xmalloc(IO_CHUNK);
    for (;;) {
        if (cancel && *cancel) {
            rc = err_set(err, LK_FAIL, "copying '%s': cancelled", from);
            break;
        }
        ssize_t n = read(fd, chunk, IO_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(err, LK_FAIL, "cannot read '%s': %s", from, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        rc = storef_writer_write(w, chunk, (size_t)n, err);
        if (rc != LK_OK)
            break;
    }
    free(chunk);
    close(fd);
    if (rc != LK_OK) {
        storef_writer_abort(w);
        return rc;
    }
    return storef_writer_commit(w, NULL, err);
}

enum lk_status storef_delete(const char *path, struct lk_error *err)
{
    if (unlink(path) == 0 || errno == ENOENT || errno == ENOTDIR)
        return LK_OK;
    if (errno == EISDIR)
        return err_set(err, LK_FAIL, "'%s' is a folder, not an object", path);
    return err_set(err, LK_FAIL, "cannot delete '%s': %s", path, strerror(errno));
}
