/* A fresh, empty database in the test cluster that tests/run.sh started
 * ($LK_PG_HOST socket folder, $LK_PG_PORT; user postgres, trust auth). */
#ifndef LAKEOP_TESTDB_H
#define LAKEOP_TESTDB_H

#include <libpq-fe.h>

/* Drops NAME if it exists, creates it, and returns its conninfo (caller
 * frees).  NULL, after saying why on stderr, when the cluster is not
 * there. */
char *testdb_create(const char *name);

/* testdb_create(name), opened with db_open (so migrated): the set-up of
 * most tests on the database.  NULL, after saying why on stderr, when the
 * database cannot be made or opened. */
PGconn *testdb_open(const char *name);

/* The conninfo of the cluster's maintenance database "postgres" (caller frees);
 * NULL when LK_PG_HOST / LK_PG_PORT are unset. */
char *testdb_admin_conninfo(void);

#endif
