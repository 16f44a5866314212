/* The console toolkit's frame: terminal set-up and restore, the main loop,
 * the screen stack, key dispatch, status line, scripts (see tui.h).
 *
 * Global state: the signal handlers need the self-pipe's write end and the
 * terminal modes to restore; nothing else here is global. */
#include "tui.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "buf.h"
#include "cmdline.h"
#include "detail.h"
#include "dlg.h"
#include "mem.h"
#include "msglog.h"
#include "tbl.h"
#include "text.h"

static int sig_fd = -1;
static struct termios saved_tio;
static volatile sig_atomic_t saved_tio_ok;
static volatile sig_atomic_t restore_on_crash;

static void on_quit_signal(int sig)
{
    int e = errno;
    unsigned char b = (unsigned char)sig;
    if (sig_fd >= 0)
        (void)!write(sig_fd, &b, 1);
    errno = e;
}

/* Async-signal-safe: put the terminal back as we found it, then die of the
 * same signal so that the exit status and core dump stay honest. */
static void on_crash_signal(int sig)
{
    if (restore_on_crash) {
        static const char reset[] = "\033[?1000l\033[?1002l\033[?1006l\033[0m\033[?25h\033[?1049l\r\n";
        (void)!write(STDOUT_FILENO, reset, sizeof reset - 1);
        if (saved_tio_ok)
            tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signals(struct tui *t)
{
    if (pipe(t->sig_pipe) == 0) {
        for (int i = 0; i < 2; i++) {
            fcntl(t->sig_pipe[i], F_SETFL, fcntl(t->sig_pipe[i], F_GETFL) | O_NONBLOCK);
            fcntl(t->sig_pipe[i], F_SETFD, FD_CLOEXEC);
        }
        sig_fd = t->sig_pipe[1];
    } else {
        t->sig_pipe[0] = t->sig_pipe[1] = -1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_quit_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_crash_signal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void uninstall_signals(struct tui *t)
{
    restore_on_crash = 0;
    sig_fd = -1;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    if (t->sig_pipe[0] >= 0) {
        close(t->sig_pipe[0]);
        close(t->sig_pipe[1]);
    }
}

static void make_windows(struct tui *t)
{
    if (t->hdr)
        delwin(t->hdr);
    if (t->body)
        delwin(t->body);
    if (t->stl)
        delwin(t->stl);
    t->hdr = t->body = t->stl = NULL;
    t->rows = LINES;
    t->cols = COLS;
    t->too_small = t->rows < 5 || t->cols < 20;
    if (t->too_small)
        return;
    t->hdr = newwin(1, t->cols, 0, 0);
    t->body = newwin(t->rows - 2, t->cols, 1, 0);
    t->stl = newwin(1, t->cols, t->rows - 1, 0);
    keypad(t->body, TRUE);
    nodelay(t->body, TRUE);
    t->hdr_dirty = t->stl_dirty = true;
    for (int i = 0; i < t->depth; i++)
        t->stack[i]->full = t->stack[i]->dirty = true;
}

static WINDOW *input_win(struct tui *t)
{
    return t->body ? t->body : stdscr;
}

static void on_tick(struct loop *loop, void *ud)
{
    struct tui *t = ud;
    t->stl_dirty = true;                 /* "updated N s ago", "loading Ns" */
    dlg_tick(t);
}

static void handle_key(struct tui *t, int ch);
static void begin_quit(struct tui *t);

static void read_keys(struct tui *t)
{
    int ch;
    while (!t->quit && (ch = wgetch(input_win(t))) != ERR)
        handle_key(t, ch);
}

static void on_terminal(struct loop *loop, int fd, short revents, void *ud)
{
    read_keys(ud);
}

static void on_signal_pipe(struct loop *loop, int fd, short revents, void *ud)
{
    struct tui *t = ud;
    unsigned char b;
    while (read(fd, &b, 1) == 1) {
        t->signalled = true;
        t->msg_level = TUI_WARN;
        snprintf(t->msg, sizeof t->msg, "signal %d", b);
        /* The first signal stops as a confirmed quit does; a second one
         * does not wait for the cancelled work. */
        if (t->stopping_since)
            t->quit = true;
        else
            begin_quit(t);
    }
}

static void ensure_utf8_locale(void)
{
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    if (!cs || strcmp(cs, "UTF-8") != 0) {
        if (!setlocale(LC_CTYPE, "C.UTF-8"))
            setlocale(LC_CTYPE, "en_US.UTF-8");
    }
}

struct tui *tui_new(const struct tui_options *opt, loop_ctx_new_fn ctx_new,
                    loop_ctx_free_fn ctx_free, void *factory_ud, char *err, size_t err_size)
{
    ensure_utf8_locale();
    struct tui *t = xcalloc(1, sizeof *t);
    t->started_ms = loop_now_ms();
    t->headless = opt->headless;
    t->mouse = opt->mouse && !opt->headless;
    t->read_only = opt->read_only;
    t->sig_pipe[0] = t->sig_pipe[1] = -1;
    if (opt->script) {
        t->script = fopen(opt->script, "r");
        if (!t->script) {
            snprintf(err, err_size, "cannot read the script %s: %s", opt->script, strerror(errno));
            free(t);
            return NULL;
        }
        char skip[1024];
        while (t->script_line < opt->script_skip && fgets(skip, sizeof skip, t->script))
            t->script_line++;
    }
    if (opt->timings && *opt->timings)
        t->timings = fopen(opt->timings, "a");
    if (t->headless) {
        const char *term = getenv("TERM");
        if (!term || !*term || strcmp(term, "dumb") == 0)
            term = "xterm-256color";
        t->term_out = fopen("/dev/null", "w");
        t->term_in = fopen("/dev/null", "r");
        t->term = t->term_out && t->term_in ? newterm(term, t->term_out, t->term_in) : NULL;
    } else {
        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
            snprintf(err, err_size, "the console needs a terminal; run a command instead "
                                    "(lakeop --help), or set LAKEOP_HEADLESS=1 for tests");
            if (t->script)
                fclose(t->script);
            if (t->timings)
                fclose(t->timings);
            free(t);
            return NULL;
        }
        if (tcgetattr(STDIN_FILENO, &saved_tio) == 0)
            saved_tio_ok = 1;
        t->term = newterm(NULL, stdout, stdin);
    }
    if (!t->term) {
        snprintf(err, err_size, "cannot set up the terminal (TERM=%s)",
                 getenv("TERM") ? getenv("TERM") : "");
        if (t->term_out)
            fclose(t->term_out);
        if (t->term_in)
            fclose(t->term_in);
        if (t->script)
            fclose(t->script);
        if (t->timings)
            fclose(t->timings);
        free(t);
        return NULL;
    }
    set_term(t->term);
    restore_on_crash = !t->headless;
    raw();
    noecho();
    nonl();
    set_escdelay(25);
    curs_set(0);
    keypad(stdscr, TRUE);
    if (t->mouse) {
        mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
        mouseinterval(0);
    }
    theme_init(&t->th, true);
    t->km = keymap_new();
    t->log = msglog_new(500);
    t->cmd = cmdline_new(NULL);
    t->loop = loop_new(opt->workers > 0 ? opt->workers : 3, ctx_new, ctx_free, factory_ud);
    install_signals(t);
    if (t->sig_pipe[0] >= 0)
        loop_fd_watch(t->loop, t->sig_pipe[0], POLLIN, on_signal_pipe, t);
    if (!t->headless)
        loop_fd_watch(t->loop, STDIN_FILENO, POLLIN, on_terminal, t);
    t->tick_timer = loop_timer_add(t->loop, 1000, true, on_tick, t);
    make_windows(t);
    return t;
}

void tui_free(struct tui *t)
{
    if (!t)
        return;
    dlg_close_all(t);
    tui_close_all(t);
    loop_free(t->loop);              /* joins workers: their done() may free screens' jobs */
    keymap_free(t->km);
    msglog_free(t->log);
    cmdline_free(t->cmd);
    if (t->hdr)
        delwin(t->hdr);
    if (t->body)
        delwin(t->body);
    if (t->stl)
        delwin(t->stl);
    if (t->mouse)
        mousemask(0, NULL);
    endwin();
    delscreen(t->term);
    if (t->term_out)
        fclose(t->term_out);
    if (t->term_in)
        fclose(t->term_in);
    uninstall_signals(t);
    if (t->script)
        fclose(t->script);
    if (t->timings)
        fclose(t->timings);
    free(t->paint_mark);
    free(t);
}

/* Screens. */

struct screen *tui_top(const struct tui *t)
{
    return t->depth ? t->stack[t->depth - 1] : NULL;
}

void tui_dirty(struct screen *s, bool full)
{
    s->dirty = true;
    if (full)
        s->full = true;
    s->tui->stl_dirty = true;
}

void tui_header_dirty(struct tui *t)
{
    t->hdr_dirty = true;
}

static void screen_close(struct tui *t, struct screen *s)
{
    t->stack_changes++;
    loop_orphan(t->loop, s);
    if (s->ops->close)
        s->ops->close(s);
    free(s);
}

void tui_pop(struct tui *t)
{
    if (!t->depth)
        return;
    screen_close(t, t->stack[--t->depth]);
    struct screen *top = tui_top(t);
    if (top)
        tui_dirty(top, true);
    t->hdr_dirty = true;
}

void tui_close_all(struct tui *t)
{
    while (t->depth)
        tui_pop(t);
}

struct screen *tui_push(struct tui *t, const struct screen_ops *ops, const char *arg, void *data)
{
    if (t->depth == TUI_MAX_DEPTH)
        tui_pop(t);
    struct screen *s = xcalloc(1, sizeof *s);
    s->ops = ops;
    s->tui = t;
    t->stack[t->depth++] = s;       /* on the stack first: open() may submit work */
    t->stack_changes++;
    s->st = ops->open ? ops->open(s, arg, data) : NULL;
    if (ops->open && !s->st) {
        t->depth--;
        loop_orphan(t->loop, s);
        free(s);
        return NULL;
    }
    tui_dirty(s, true);
    t->hdr_dirty = true;
    return s;
}

void tui_switch(struct tui *t, const struct screen_ops *ops, const char *arg)
{
    /* arg often points into the screen being closed (the selected row's
     * text): keep a copy past tui_close_all(). */
    char *arg_copy = xstrdup(arg);
    tui_close_all(t);
    tui_push(t, ops, arg_copy, NULL);
    free(arg_copy);
}

bool tui_open(struct tui *t, const char *name, const char *arg)
{
    const struct screen_ops *ops = screen_find(name);
    if (!ops) {
        tui_message(t, TUI_WARN, "the %s screen is not part of this build", name);
        return false;
    }
    if (ops->flags & SCREEN_TOP)
        tui_switch(t, ops, arg);
    else
        tui_push(t, ops, arg, NULL);
    return true;
}

void tui_submit(struct screen *s, loop_work_fn work, loop_done_fn done, void *job)
{
    loop_submit(s->tui->loop, s, work, done, job);
    s->tui->stl_dirty = true;
}

bool tui_loading(const struct screen *s)
{
    return loop_pending_for(s->tui->loop, s) > 0;
}

/* Messages. */

void tui_message(struct tui *t, enum tui_level level, const char *fmt, ...)
{
    char raw[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    char *in = text_inert(raw);
    snprintf(t->msg, sizeof t->msg, "%s", in);
    free(in);
    t->msg_level = level;
    msglog_add(t->log, (int)level, raw);
    t->stl_dirty = true;
}

bool tui_refuse_read_only(struct tui *t, enum action a)
{
    if (!t->read_only || !action_changes(a))
        return false;
    tui_message(t, TUI_WARN, "read-only: '%s' changes something and is refused (started with "
                             "--read-only or read_only = true)", action_name(a));
    return true;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void tui_clipboard(struct tui *t, const char *text)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "\033]52;c;");
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        buf_putc(&b, B64[v >> 18 & 63]);
        buf_putc(&b, B64[v >> 12 & 63]);
        buf_putc(&b, i + 1 < n ? B64[v >> 6 & 63] : '=');
        buf_putc(&b, i + 2 < n ? B64[v & 63] : '=');
    }
    buf_puts(&b, "\a");
    if (!t->headless) {
        fflush(stdout);
        (void)!write(STDOUT_FILENO, b.data, b.len);
    }
    buf_free(&b);
    tui_message(t, TUI_INFO, "copied to the clipboard: %s", text);
}

/* Timings. */

void tui_timing(struct tui *t, const char *label)
{
    if (!t->timings)
        return;
    fprintf(t->timings, "%s %.3f\n", label, (double)(loop_now_ms() - t->started_ms));
    fflush(t->timings);
}

void tui_mark_paint(struct tui *t, const char *label)
{
    if (!t->timings)
        return;
    free(t->paint_mark);
    t->paint_mark = xstrdup(label);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Help and log. */

static void add_commands(struct tui *t, struct detail *d)
{
    size_t n;
    const struct screen_ops **reg = screen_registry(&n);
    for (size_t i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, ":%s", reg[i]->name);
        if (strcmp(reg[i]->name, "detail") != 0)
            detail_kv(d, key, reg[i]->title);
    }
    free(reg);
    detail_kv(d, ":q", "quit (:q! does not ask)");
    detail_kv(d, ":save-display FILE", "write the screen as text");
    detail_kv(d, ":help  :log", "this help, the message log");
    if (t->hooks.commands)
        for (const char *const *c = t->hooks.commands; *c; c++) {
            char key[64];
            snprintf(key, sizeof key, ":%s", *c);
            detail_kv(d, key, "");
        }
}

void tui_show_help(struct tui *t)
{
    struct screen *s = tui_top(t);
    const char *name = s ? s->ops->name : "generic";
    char title[128];
    snprintf(title, sizeof title, "Help: keys on the %s screen%s", s ? s->ops->title : "",
             t->read_only ? " (read-only: greyed actions are refused)" : "");
    struct detail *d = detail_new(title);
    for (int a = 1; a < ACT_COUNT; a++) {
        char keys[128];
        keymap_keys_for(t->km, name, (enum action)a, keys, sizeof keys);
        if (!keys[0])
            continue;
        char text[256];
        bool refused = t->read_only && action_changes((enum action)a);
        snprintf(text, sizeof text, "%-13s %s%s", action_name((enum action)a), action_help((enum action)a),
                 refused ? " (refused: read-only)" : "");
        detail_kv_el(d, keys, text, refused ? TH_DIM : TH_NORMAL);
    }
    detail_heading(d, "Commands (:, Tab completes, Up/Down history)");
    add_commands(t, d);
    detail_heading(d, "Rebind keys in the config file: bind SCREEN KEY ACTION");
    tui_push(t, &detail_screen_ops, NULL, d);
}

void tui_show_log(struct tui *t)
{
    struct detail *d = detail_new("Message log (newest last)");
    size_t n = msglog_count(t->log);
    for (size_t i = 0; i < n; i++) {
        struct msglog_entry e = msglog_get(t->log, i);
        struct tm tm;
        char when[32];
        localtime_r(&e.at, &tm);
        strftime(when, sizeof when, "%H:%M:%S", &tm);
        detail_kv_el(d, when, e.text,
                     e.level == TUI_ERROR ? TH_STATUS_ERROR : e.level == TUI_WARN ? TH_STATUS_WARN : TH_NORMAL);
    }
    if (!n)
        detail_text(d, "no messages yet", TH_DIM);
    struct screen *s = tui_push(t, &detail_screen_ops, NULL, d);
    if (s && n)
        s->ops->key(s, ACT_LAST, 0);
}

/* Quitting. */

/* How long quitting waits for cancelled operations to stop. */
#define TUI_STOP_WAIT_MS 10000

/* Quitting never waits for long work to finish: every operation behind a
 * progress dialog (shown or in the background, its screen open or closed)
 * is cancelled, which leaves nothing partial, and the loop runs on until
 * their workers are done, so that their done() reports, audits and closes
 * the dialog before the screens go; at most TUI_STOP_WAIT_MS. */
static void begin_quit(struct tui *t)
{
    size_t n = dlg_progress_cancel_all(t);
    if (n == 0) {
        t->quit = true;
        return;
    }
    t->stopping_since = loop_now_ms();
    dlg_close_all(t);              /* nothing is asked or shown any more */
    tui_message(t, TUI_WARN, "stopping %zu operation%s… (cancelled; nothing partial is kept)", n,
                n == 1 ? "" : "s");
}

/* While quitting: over when every cancelled operation has ended. */
static void check_stopping(struct tui *t)
{
    size_t n = dlg_progress_count(t);
    if (n == 0) {
        t->quit = true;
        return;
    }
    if (loop_now_ms() - t->stopping_since >= TUI_STOP_WAIT_MS) {
        tui_message(t, TUI_ERROR, "%zu operation%s did not stop within %d s of being cancelled", n,
                    n == 1 ? "" : "s", TUI_STOP_WAIT_MS / 1000);
        t->quit = true;
        return;
    }
    char m[128];
    snprintf(m, sizeof m, "stopping %zu operation%s… (cancelled; nothing partial is kept)", n, n == 1 ? "" : "s");
    if (strcmp(m, t->msg) != 0)
        tui_message(t, TUI_WARN, "%s", m);
}

static void quit_answer(struct tui *t, bool ok, const char *input, void *ud)
{
    void (*declined)(struct tui *, void *) = t->quit_declined;
    void *declined_ud = t->quit_declined_ud;
    t->quit_declined = NULL;
    t->quit_declined_ud = NULL;
    if (ok)
        begin_quit(t);
    else if (declined)
        declined(t, declined_ud);
}

static void ask_quit(struct tui *t, bool force, const char *verb, void (*declined)(struct tui *t, void *ud),
                     void *ud)
{
    if (t->stopping_since || t->quit_declined)
        return;
    char what[256] = "";
    if (!force && t->hooks.busy && t->hooks.busy(t, what, sizeof what, t->app)) {
        char q[400];
        snprintf(q, sizeof q, "Work is running (%s). %s anyway? It is cancelled; nothing partial is kept.",
                 what, verb);
        t->quit_declined = declined;
        t->quit_declined_ud = ud;
        dlg_yesno(t, q, quit_answer, NULL);
        return;
    }
    begin_quit(t);
}

static void request_quit(struct tui *t, bool force)
{
    ask_quit(t, force, "Quit", NULL, NULL);
}

void tui_quit(struct tui *t, const char *verb, void (*declined)(struct tui *t, void *ud), void *ud)
{
    ask_quit(t, false, verb, declined, ud);
}

/* Commands. */

static const char *const BUILTINS[] = { "q", "quit", "q!", "save-display", "help", "log",
                                        "refresh", "back", "progress" };

static size_t command_names(struct tui *t, const char ***out)
{
    size_t n;
    const struct screen_ops **reg = screen_registry(&n);
    size_t extra = 0;
    if (t->hooks.commands)
        while (t->hooks.commands[extra])
            extra++;
    size_t nb = sizeof BUILTINS / sizeof BUILTINS[0];
    const char **names = xcalloc(n + extra + nb + 1, sizeof *names);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        names[k++] = reg[i]->name;
    for (size_t i = 0; i < extra; i++)
        names[k++] = t->hooks.commands[i];
    for (size_t i = 0; i < nb; i++)
        names[k++] = BUILTINS[i];
    free(reg);
    *out = names;
    return k;
}

void tui_command(struct tui *t, const char *line)
{
    while (*line == ' ' || *line == ':')
        line++;
    char name[64];
    size_t len = strcspn(line, " ");
    if (len == 0)
        return;
    if (len >= sizeof name)
        len = sizeof name - 1;
    memcpy(name, line, len);
    name[len] = '\0';
    const char *arg = line + strcspn(line, " ");
    while (*arg == ' ')
        arg++;
    char argbuf[512];
    snprintf(argbuf, sizeof argbuf, "%s", arg);
    size_t al = strlen(argbuf);
    while (al && argbuf[al - 1] == ' ')
        argbuf[--al] = '\0';
    const char *a = al ? argbuf : NULL;

    if (!strcmp(name, "q") || !strcmp(name, "quit")) {
        request_quit(t, false);
    } else if (!strcmp(name, "q!")) {
        request_quit(t, true);
    } else if (!strcmp(name, "save-display")) {
        char err[256];
        if (!a)
            tui_message(t, TUI_WARN, "usage: :save-display FILE");
        else if (!tui_save_display(t, a, err, sizeof err))
            tui_message(t, TUI_ERROR, "%s", err);
    } else if (!strcmp(name, "help")) {
        tui_show_help(t);
    } else if (!strcmp(name, "log")) {
        tui_show_log(t);
    } else if (!strcmp(name, "back")) {
        if (t->depth > 1)
            tui_pop(t);
    } else if (!strcmp(name, "refresh")) {
        struct screen *s = tui_top(t);
        if (s && s->ops->reload)
            s->ops->reload(s);
    } else if (!strcmp(name, "progress")) {
        if (t->bg_progress)
            dlg_progress_show(t->bg_progress);
        else
            tui_message(t, TUI_INFO, "nothing runs in the background");
    } else if (screen_find(name)) {
        tui_open(t, name, a);
    } else if (!t->hooks.command || !t->hooks.command(t, name, a, t->app)) {
        tui_message(t, TUI_WARN, "unknown command :%s (Tab completes, ? lists them)", name);
    }
}

/* Keys. */

static struct tbl *screen_table(struct screen *s)
{
    return s && s->ops->table ? s->ops->table(s) : NULL;
}

static size_t top_screens(const struct screen_ops ***out)
{
    size_t n;
    const struct screen_ops **reg = screen_registry(&n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (reg[i]->flags & SCREEN_TOP)
            reg[k++] = reg[i];
    *out = reg;
    return k;
}

static void switch_top(struct tui *t, int index, int step)
{
    const struct screen_ops **tops;
    size_t n = top_screens(&tops);
    if (n == 0) {
        free(tops);
        return;
    }
    if (step) {
        const struct screen_ops *cur = t->depth ? t->stack[0]->ops : NULL;
        int at = 0;
        for (size_t i = 0; i < n; i++)
            if (tops[i] == cur)
                at = (int)i;
        index = (at + step + (int)n) % (int)n;
    }
    if (index >= 0 && (size_t)index < n)
        tui_switch(t, tops[index], NULL);
    else
        tui_message(t, TUI_INFO, "no screen %d in this build (%zu screens)", index + 1, n);
    free(tops);
}

/* Hands a key to a screen.  A handler may push, pop or replace screens
 * (Enter on an Overview line opens another top screen, which closes this
 * one): then `s` may be freed and must not be touched again. */
static bool screen_key(struct tui *t, struct screen *s, enum action a, int ch)
{
    unsigned long before = t->stack_changes;
    bool handled = s->ops->key(s, a, ch);
    if (t->stack_changes != before)
        return true;
    if (handled)
        tui_dirty(s, false);
    return handled;
}

static void handle_mouse(struct tui *t)
{
    MEVENT ev;
    if (getmouse(&ev) != OK || !t->body)
        return;
    struct screen *s = tui_top(t);
    if (!s || t->dlg)
        return;
    struct tbl *tb = screen_table(s);
    int by = ev.y - 1;                   /* body starts on line 1 */
    if (ev.bstate & BUTTON4_PRESSED) {
        if (tb)
            tbl_wheel(tb, -3);
        else if (s->ops->key) {
            for (int i = 0; i < 3; i++)
                screen_key(t, s, ACT_MOVE_UP, 0);
            return;
        }
    } else if (ev.bstate & BUTTON5_PRESSED) {
        if (tb)
            tbl_wheel(tb, 3);
        else if (s->ops->key) {
            for (int i = 0; i < 3; i++)
                screen_key(t, s, ACT_MOVE_DOWN, 0);
            return;
        }
    } else if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) {
        if (tb && by >= 0 && by < getmaxy(t->body))
            tbl_click(tb, by);
    }
    tui_dirty(s, false);
}

/* The / filter: the loaded rows are filtered at each key, the server only
 * once typing pauses (whichever table is on top then). */
static void on_filter_timer(struct loop *loop, void *ud)
{
    struct tui *t = ud;
    t->filter_timer = 0;
    struct tbl *tb = screen_table(tui_top(t));
    if (tb)
        tbl_filter_flush(tb);
}

static void filter_later(struct tui *t, struct tbl *tb)
{
    if (t->filter_timer) {
        loop_timer_cancel(t->loop, t->filter_timer);
        t->filter_timer = 0;
    }
    if (tbl_filter_due(tb))
        t->filter_timer = loop_timer_add(t->loop, TBL_FILTER_DEBOUNCE_MS, false, on_filter_timer, t);
}

static void handle_key(struct tui *t, int ch)
{
    if (t->timings)
        t->key_at = (long long)now_us();
    if (ch == KEY_RESIZE) {
        make_windows(t);
        clearok(curscr, TRUE);
        return;
    }
    if (t->stopping_since)
        return;                      /* quitting: nothing new starts while the old work stops */
    if (ch == KEY_MOUSE) {
        handle_mouse(t);
        return;
    }
    if (t->dlg) {
        dlg_key(t, ch);
        t->stl_dirty = true;
        return;
    }
    if (t->cmd_open) {
        const char **names;
        size_t n = command_names(t, &names);
        char hint[256];
        enum cmdline_result r = cmdline_key(t->cmd, ch, names, n, hint, sizeof hint);
        free(names);
        if (hint[0])
            tui_message(t, TUI_INFO, "%s", hint);
        snprintf(t->cmd_hint, sizeof t->cmd_hint, "%s", hint);
        if (r != CMDLINE_EDITING) {
            t->cmd_open = false;
            if (r == CMDLINE_RUN) {
                char line[512];
                snprintf(line, sizeof line, "%s", cmdline_text(t->cmd));
                cmdline_remember(t->cmd, line);
                t->msg[0] = '\0';
                tui_command(t, line);
            }
        }
        t->stl_dirty = true;
        return;
    }
    struct screen *s = tui_top(t);
    struct tbl *tb = screen_table(s);
    if (s && s->text_entry) {
        if (!screen_key(t, s, ACT_NONE, ch))
            tui_dirty(s, false);
        return;
    }
    if (tb && tbl_filtering(tb)) {
        tbl_key(tb, ACT_NONE, ch);
        tui_dirty(s, false);
        filter_later(t, tb);
        return;
    }
    enum action a = keymap_lookup(t->km, s ? s->ops->name : NULL, ch);
    if (a != ACT_NONE && tui_refuse_read_only(t, a))
        return;
    if (s && s->ops->key && screen_key(t, s, a, ch))
        return;
    bool sort_action = a == ACT_SORT_NEXT || a == ACT_SORT_PREV || a == ACT_SORT_REVERSE;
    if (tb && ((sort_action && !(s->ops->flags & SCREEN_SORTABLE)) ||
               (a == ACT_FILTER && !(s->ops->flags & SCREEN_FILTERABLE)))) {
        tui_message(t, TUI_INFO, "the %s screen cannot be %s", s->ops->title,
                    sort_action ? "sorted" : "filtered");
        return;
    }
    if (tb && a != ACT_NONE && tbl_key(tb, a, ch)) {
        tui_dirty(s, false);
        return;
    }
    switch (a) {
    case ACT_QUIT: request_quit(t, false); break;
    case ACT_BACK:
        if (t->depth > 1)
            tui_pop(t);
        break;
    case ACT_HELP: tui_show_help(t); break;
    case ACT_LOG: tui_show_log(t); break;
    case ACT_REFRESH:
        if (s && s->ops->reload)
            s->ops->reload(s);
        break;
    case ACT_COMMAND:
        cmdline_start(t->cmd);
        t->cmd_hint[0] = '\0';
        t->cmd_open = true;
        t->stl_dirty = true;
        break;
    case ACT_NEXT_SCREEN: switch_top(t, 0, 1); break;
    case ACT_PREV_SCREEN: switch_top(t, 0, -1); break;
    case ACT_SCREEN_1: case ACT_SCREEN_2: case ACT_SCREEN_3:
    case ACT_SCREEN_4: case ACT_SCREEN_5: case ACT_SCREEN_6:
    case ACT_SCREEN_7: case ACT_SCREEN_8: case ACT_SCREEN_9:
        switch_top(t, (int)(a - ACT_SCREEN_1), 0);
        break;
    case ACT_YANK:
        if (tb && tbl_cursor_id(tb))
            tui_clipboard(t, tbl_cursor_id(tb));
        break;
    case ACT_NONE:
        break;
    default:
        if (s && a != ACT_NONE)
            tui_message(t, TUI_INFO, "'%s' does nothing on the %s screen", action_name(a),
                        s->ops->title);
        break;
    }
}

/* Drawing. */

static void draw_status(struct tui *t)
{
    WINDOW *w = t->stl;
    werase(w);
    wattrset(w, theme_attr(&t->th, TH_STATUS_LINE));
    if (t->cmd_open) {
        cmdline_draw(t->cmd, w, &t->th);
        int y, x;
        getyx(w, y, x);
        int room = t->cols - x - 2;
        if (t->cmd_hint[0] && room > 0) {
            char fit[300];
            text_fit(t->cmd_hint, room, 1, fit, sizeof fit);
            wattrset(w, theme_attr(&t->th, TH_DIM));
            mvwaddstr(w, y, t->cols - text_width(fit), fit);
        }
        return;
    }
    struct screen *s = tui_top(t);
    struct tbl *tb = screen_table(s);
    char right[512] = "";
    /* A screen that says something of its own (it may include its
     * table's tbl_status) is heard before its table. */
    if (s && s->ops->status)
        s->ops->status(s, right, sizeof right);
    else if (tb)
        tbl_status(tb, right, sizeof right);
    if (t->bg_progress) {
        char p[200];
        dlg_progress_summary(t->bg_progress, p, sizeof p);
        size_t l = strlen(right);
        snprintf(right + l, sizeof right - l, "%s%s", l ? " | " : "", p);
    }
    char buf[1024];
    if (tb && tbl_filtering(tb)) {
        char *in = text_inert(tbl_filter(tb));
        char line[600];
        snprintf(line, sizeof line, "/%s_", in);
        free(in);
        text_fit(line, t->cols, 0, buf, sizeof buf);
        mvwaddstr(w, 0, 0, buf);
        return;
    }
    int rw = text_width(right);
    if (rw > t->cols / 2)
        rw = t->cols / 2;
    int lw = t->cols - rw - 1;
    if (t->msg[0] && lw > 0) {
        enum theme_el el = t->msg_level == TUI_ERROR ? TH_STATUS_ERROR
                         : t->msg_level == TUI_WARN ? TH_STATUS_WARN : TH_STATUS_OK;
        wattrset(w, theme_attr(&t->th, el));
        text_fit(t->msg, lw, 1, buf, sizeof buf);
        mvwaddstr(w, 0, 0, buf);
    }
    if (rw > 0) {
        wattrset(w, theme_attr(&t->th, TH_DIM));
        int used = text_fit(right, rw, 1, buf, sizeof buf);
        mvwaddstr(w, 0, t->cols - used, buf);
    }
}

static void render(struct tui *t)
{
    bool painted = false;
    if (t->too_small) {
        if (t->hdr_dirty || t->stl_dirty) {
            werase(stdscr);
            char buf[256];
            text_fit("terminal too small (20x5 at least)", COLS, 1, buf, sizeof buf);
            mvwaddstr(stdscr, 0, 0, buf);
            wnoutrefresh(stdscr);
            doupdate();
            t->hdr_dirty = t->stl_dirty = false;
        }
        return;
    }
    bool body_changed = false;
    if (t->hdr_dirty) {
        werase(t->hdr);
        if (t->hooks.draw_header)
            t->hooks.draw_header(t, t->hdr, t->app);
        wnoutrefresh(t->hdr);
        t->hdr_dirty = false;
        painted = true;
    }
    struct screen *s = tui_top(t);
    if (s) {
        struct tbl *tb = screen_table(s);
        if (s->dirty || s->full || (tb && tbl_needs_draw(tb))) {
            if (s->full)
                werase(t->body);
            if (s->ops->draw)
                s->ops->draw(s, t->body, s->full);
            wnoutrefresh(t->body);
            s->dirty = s->full = false;
            body_changed = true;
            t->stl_dirty = true;
            painted = true;
        }
    }
    if (t->stl_dirty) {
        draw_status(t);
        wnoutrefresh(t->stl);
        t->stl_dirty = false;
        painted = true;
    }
    if (t->dlg) {
        dlg_draw(t, body_changed);
        painted = true;
    }
    if (!painted)
        return;
    doupdate();
    if (t->timings) {
        if (t->key_at) {
            fprintf(t->timings, "key %.3f\n", (now_us() - (double)t->key_at) / 1000.0);
            t->key_at = 0;
        }
        if (t->paint_mark) {
            tui_timing(t, t->paint_mark);
            xfree(&t->paint_mark);
        }
        fflush(t->timings);
    }
}

bool tui_save_display(struct tui *t, const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_size, "cannot write %s: %s", path, strerror(errno));
        return false;
    }
    for (int y = 0; y < LINES; y++) {
        struct buf line = BUF_INIT;
        for (int x = 0; x < COLS; x++) {
            cchar_t cc;
            wchar_t wch[CCHARW_MAX + 1];
            attr_t at;
            short pair;
            if (mvwin_wch(curscr, y, x, &cc) == ERR)
                break;
            if (getcchar(&cc, wch, &at, &pair, NULL) == ERR || !wch[0]) {
                buf_putc(&line, ' ');
                continue;
            }
            for (int k = 0; wch[k]; k++) {
                char mb[MB_LEN_MAX + 1];
                mbstate_t st;
                memset(&st, 0, sizeof st);
                size_t n = wcrtomb(mb, wch[k], &st);
                if (n != (size_t)-1)
                    buf_append(&line, mb, n);
            }
            int w = wcwidth(wch[0]);
            if (w > 1)
                x += w - 1;
        }
        size_t len = line.len;
        while (len && line.data[len - 1] == ' ')
            len--;
        fprintf(f, "%.*s\n", (int)len, line.data ? line.data : "");
        buf_free(&line);
    }
    if (fclose(f) != 0) {
        snprintf(err, err_size, "cannot write %s: %s", path, strerror(errno));
        return false;
    }
    return true;
}

/* Scripts: one step per line, each run when nothing is loading. */

static bool idle(struct tui *t)
{
    if (loop_pending(t->loop) || t->filter_timer)
        return false;
    if (t->hooks.loading && t->hooks.loading(t, t->app))
        return false;
    return true;
}

static void script_step(struct tui *t)
{
    char line[1024];
    for (;;) {
        if (!fgets(line, sizeof line, t->script)) {
            t->quit = true;          /* the end of the script ends the run */
            return;
        }
        t->script_line++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && line[0] != '#')
            break;
    }
    if (line[0] == ':' && line[1] && line[1] != '<') {
        tui_command(t, line + 1);
        return;
    }
    for (const char *p = line; *p && !t->quit;) {
        int key;
        size_t used = keymap_key_parse(p, &key);
        if (!used)
            break;
        handle_key(t, key);
        p += used;
    }
}

int tui_run(struct tui *t)
{
    int waited = 0;
    while (!t->quit) {
        render(t);
        if (t->script && !t->stopping_since && idle(t)) {
            waited = 0;
            script_step(t);
            continue;
        }
        /* A script never hangs forever on work that does not finish;
         * quitting checks on the cancelled work at least as often. */
        long wait = t->script || t->stopping_since ? 100 : -1;
        int rc = loop_run_once(t->loop, wait);
        if (rc < 0 && errno == EINTR && !t->headless)
            read_keys(t);            /* SIGWINCH: ncurses turns it into KEY_RESIZE */
        if (t->stopping_since) {
            if (!t->quit)
                check_stopping(t);
        } else if (t->script && rc == 0 && ++waited > 600) {
            tui_message(t, TUI_ERROR, "script: step %d waited 60 s for work to finish", t->script_line);
            waited = 0;
            script_step(t);
        }
    }
    render(t);
    return t->signalled ? 130 : 0;
}
