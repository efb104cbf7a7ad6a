#ifndef HERALD_CMALLOCARENAS_H
#define HERALD_CMALLOCARENAS_H

/// The most malloc arenas this process uses: the value set before main (see arenas.c), or 0
/// when MALLOC_ARENA_MAX in the environment decided it instead.
int herald_malloc_arenas(void);

#endif
