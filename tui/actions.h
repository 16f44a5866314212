/* Every action of the console, defined once (tig's REQ_INFO).  This table
 * generates the action enum, the names `bind SCREEN KEY ACTION` accepts and
 * the `?` help screen, so help never drifts from the bindings.  Default keys
 * live in keymap.c as config text in the same syntax users write.
 *
 * X(ID, "config-name", changes_something, "help text")
 * changes_something: refused (and greyed in help) in read-only mode.
 * A feature screen that needs a new verb adds one line here and one
 * default bind in keymap.c. */
#ifndef LAKEOP_TUI_ACTIONS_H
#define LAKEOP_TUI_ACTIONS_H

#define TUI_ACTIONS(X) \
    X(NONE,         "none",          0, "does nothing (unbinds a key)") \
    X(QUIT,         "quit",          0, "quit (asks when work is running)") \
    X(BACK,         "back",          0, "go back to the previous screen") \
    X(HELP,         "help",          0, "this help") \
    X(REFRESH,      "refresh",       0, "reload the screen's data now") \
    X(COMMAND,      "command",       0, "command mode (:jobs, :loads errored, :env NAME, :q)") \
    X(FILTER,       "filter",        0, "filter rows as you type (search in a detail view)") \
    X(SEARCH_NEXT,  "search-next",   0, "next search match") \
    X(SEARCH_PREV,  "search-prev",   0, "previous search match") \
    X(SORT_NEXT,    "sort-next",     0, "sort by the next column") \
    X(SORT_PREV,    "sort-prev",     0, "sort by the previous column") \
    X(SORT_REVERSE, "sort-reverse",  0, "reverse the sort order") \
    X(MOVE_UP,      "move-up",       0, "move up") \
    X(MOVE_DOWN,    "move-down",     0, "move down") \
    X(PAGE_UP,      "page-up",       0, "one page up") \
    X(PAGE_DOWN,    "page-down",     0, "one page down") \
    X(FIRST,        "first",         0, "first row") \
    X(LAST,         "last",          0, "last row") \
    X(ENTER,        "enter",         0, "open the selected item") \
    X(MARK,         "mark",          0, "mark or unmark the row (multi-select)") \
    X(YANK,         "yank",          0, "copy the selected id to the clipboard (OSC 52)") \
    X(LOG,          "log",           0, "message log") \
    X(NEXT_SCREEN,  "next-screen",   0, "next top-level screen") \
    X(PREV_SCREEN,  "prev-screen",   0, "previous top-level screen") \
    X(SCREEN_1,     "screen-1",      0, "top-level screen 1") \
    X(SCREEN_2,     "screen-2",      0, "top-level screen 2") \
    X(SCREEN_3,     "screen-3",      0, "top-level screen 3") \
    X(SCREEN_4,     "screen-4",      0, "top-level screen 4") \
    X(SCREEN_5,     "screen-5",      0, "top-level screen 5") \
    X(SCREEN_6,     "screen-6",      0, "top-level screen 6") \
    X(SCREEN_7,     "screen-7",      0, "top-level screen 7") \
    X(SCREEN_8,     "screen-8",      0, "top-level screen 8") \
    X(SCREEN_9,     "screen-9",      0, "top-level screen 9") \
    X(RETRY,        "retry",         1, "put the selected errored loads back to ready") \
    X(COPY,         "copy",          1, "copy the selected files to their raw buckets") \
    X(EXPORT,       "export",        1, "submit an export") \
    X(CANCEL,       "cancel",        1, "cancel the running job (asks first)") \
    X(CLEAR,        "clear",         1, "clear (re-run) the selected task") \
    X(INGEST,       "ingest",        1, "register and process new files") \
    X(INGEST_ALL,   "ingest-all",    1, "register and process new files of every dataset") \
    X(SYNC,         "sync",          1, "read the selected item again from its source") \
    X(IMPORT,       "import",        1, "load a file into the selected item") \
    X(RUNS,         "runs",          0, "choose the run to show (newest first)") \
    X(TRIGGER,      "trigger",       1, "start a new run of the DAG") \
    X(PAUSE,        "pause",         1, "pause or unpause the DAG") \
    X(WATCH,        "watch",         0, "follow the selected item until it finishes")

enum action {
#define TUI_ACTION_ENUM(id, name, changes, help) ACT_##id,
    TUI_ACTIONS(TUI_ACTION_ENUM)
#undef TUI_ACTION_ENUM
    ACT_COUNT
};

const char *action_name(enum action a);
const char *action_help(enum action a);
int action_changes(enum action a);            /* 1 when refused in read-only mode */
enum action action_by_name(const char *name); /* ACT_COUNT when unknown */

#endif
