/* tsock.h - plain TCP for the built-in HTTP/1.1 client (worker.c's native
 * transport): the target's address, resolved once; non-blocking connects;
 * and reads that carry the kernel's receive time of the bytes read.
 *
 * The receive time is the kernel's software timestamp (SO_TIMESTAMPNS),
 * taken when the segment reached the socket layer: on loopback, within a
 * few microseconds of the sender's write, whatever this process was doing
 * at the time. The kernel stamps in CLOCK_REALTIME; tsock converts to the
 * harness clock (CLOCK_MONOTONIC, clock.h) with an offset sampled at the
 * read (docs/METRICS.md, "Timestamps"). */
#ifndef BENCH_TSOCK_H
#define BENCH_TSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "status.h"

#define TSOCK_MAX_ADDRS 8

/* Where requests go: parsed from an http:// URL, its host resolved. */
typedef struct {
    char host[256];     /* as in the URL, brackets of an IPv6 literal removed */
    int port;           /* the URL's, or 80 */
    char hostport[300]; /* the Host header's value */
    char path[2048];    /* path and query, at least "/" */
    int n;              /* addresses below; 0 when resolving failed */
    struct sockaddr_storage addr[TSOCK_MAX_ADDRS];
    socklen_t addrlen[TSOCK_MAX_ADDRS];
    char resolve_error[200]; /* why n is 0 ("" when resolved) */
} tsock_target;

/* Parse an http:// URL into *t and resolve its host (getaddrinfo; may
 * block). BENCH_EUSAGE when the URL is not plain http or has no host. A
 * host that does not resolve is not an error here: t->n is 0 and
 * t->resolve_error says why, so each request can fail as a connect error
 * the way libcurl's would. */
bench_status tsock_target_init(tsock_target *t, const char *url, bench_err *err);

/* Start connecting to address i of t: a new non-blocking socket with
 * TCP_NODELAY and kernel receive timestamps, in *fd (the caller's, to
 * close). Returns 0 when connected, EINPROGRESS when the connect goes on
 * (wait for writability, then tsock_connect_result), or an errno value
 * (*fd is then -1). */
int tsock_connect(const tsock_target *t, int i, int *fd);

/* The outcome of a connect that was in progress: 0 or an errno value. */
int tsock_connect_result(int fd);

/* One read of up to n bytes. Returns the bytes read, 0 at end of stream,
 * or -1 with errno (EAGAIN when nothing is there). *t_ns is the kernel's
 * receive time of the last segment read, on the harness clock, or -1 when
 * the kernel gave none (the caller then stamps the read itself). */
ssize_t tsock_recv(int fd, void *buf, size_t n, int64_t *t_ns);

/* Convert a CLOCK_REALTIME time in ns to CLOCK_MONOTONIC, with the offset
 * between the two clocks sampled now (exposed for the tests). */
int64_t tsock_realtime_to_mono(int64_t rt_ns);

#endif
