// The system's DNS resolver (glibc's libresolv): res_nquery and the ns_* message parser.
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <string.h>

// `struct __res_state` shares its name with glibc's function `__res_state()`, and res_ninit
// and friends are macros: Swift sees neither. These wrappers give them plain names.
typedef struct __res_state herald_res_state;

static inline int herald_res_ninit(herald_res_state *state) {
    memset(state, 0, sizeof *state);
    return res_ninit(state);
}

static inline void herald_res_nclose(herald_res_state *state) { res_nclose(state); }

/// Asks one IPv4 server at `port` instead of those of /etc/resolv.conf.
static inline int herald_res_use_server(herald_res_state *state, const char *address, unsigned short port) {
    struct sockaddr_in server;
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    if (inet_pton(AF_INET, address, &server.sin_addr) != 1) return -1;
    state->nsaddr_list[0] = server;
    state->nscount = 1;
    return 0;
}

static inline void herald_res_timeouts(herald_res_state *state, int seconds, int tries) {
    state->retrans = seconds;
    state->retry = tries;
}

static inline int herald_res_nquery(herald_res_state *state, const char *name, int type, unsigned char *answer, int length) {
    return res_nquery(state, name, ns_c_in, type, answer, length);
}

static inline int herald_res_h_errno(const herald_res_state *state) { return state->res_h_errno; }
