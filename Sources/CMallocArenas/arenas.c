// glibc's malloc gives each thread an arena of its own, up to eight per core. Herald renders
// a message on one thread and frees it on another (an event loop), so each arena ends up
// holding free memory of its own that no other thread reuses. Measured with
// `herald bench-mass-email` (100,000 messages, SQLite): the sending process peaked at 62-63 MB
// with glibc's default and at 53 MB with two arenas, at the same rate within the noise; one
// arena cost about a tenth of the rate.
//
// glibc fixes the number of arenas the first time a second thread allocates, so it has to be
// set before main: Swift's runtime starts threads before any Swift code of ours runs.
// MALLOC_ARENA_MAX (or GLIBC_TUNABLES) in the environment still wins.
#include "CMallocArenas.h"
#include <stdlib.h>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>

static int arenas = 0;

__attribute__((constructor)) static void herald_limit_malloc_arenas(void) {
    if (getenv("MALLOC_ARENA_MAX") != NULL || getenv("GLIBC_TUNABLES") != NULL) return;
    if (mallopt(M_ARENA_MAX, 2) == 1) arenas = 2;
}

int herald_malloc_arenas(void) { return arenas; }
#else
int herald_malloc_arenas(void) { return 0; }
#endif
