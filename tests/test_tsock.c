/* Unit tests: tsock, the native transport's sockets: URL parsing and
 * resolution, the wall-clock to monotonic conversion, and reads stamped by
 * the kernel over loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "cutest.h"
#include "tsock.h"

static void test_url(void)
{
    tsock_target t;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(tsock_target_init(&t, "http://127.0.0.1:8000/v1/chat/completions", &e),
                          BENCH_OK);
    CU_ASSERT_STRING_EQUAL(t.host, "127.0.0.1");
    CU_ASSERT_EQUAL(t.port, 8000);
    CU_ASSERT_STRING_EQUAL(t.hostport, "127.0.0.1:8000");
    CU_ASSERT_STRING_EQUAL(t.path, "/v1/chat/completions");
    CU_ASSERT(t.n >= 1);
    CU_ASSERT_STRING_EQUAL(t.resolve_error, "");

    CU_ASSERT_EQUAL_FATAL(tsock_target_init(&t, "http://[::1]:9/x/completions?a=1&b=2", &e),
                          BENCH_OK);
    CU_ASSERT_STRING_EQUAL(t.host, "::1");
    CU_ASSERT_STRING_EQUAL(t.hostport, "[::1]:9");
    CU_ASSERT_STRING_EQUAL(t.path, "/x/completions?a=1&b=2");

    /* The scheme's own port is left out of Host, as libcurl does. */
    CU_ASSERT_EQUAL_FATAL(tsock_target_init(&t, "http://localhost/v1/completions", &e), BENCH_OK);
    CU_ASSERT_EQUAL(t.port, 80);
    CU_ASSERT_STRING_EQUAL(t.hostport, "localhost");

    CU_ASSERT_EQUAL(tsock_target_init(&t, "https://127.0.0.1/v1", &e), BENCH_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "http://"));
    CU_ASSERT_EQUAL(tsock_target_init(&t, "not a url", &e), BENCH_EUSAGE);

    /* A host that does not resolve fails each request, not the set-up. */
    CU_ASSERT_EQUAL(tsock_target_init(&t, "http://no-such-host.invalid:8000/v1", &e), BENCH_OK);
    CU_ASSERT_EQUAL(t.n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(t.resolve_error, "no-such-host.invalid"));
}

/* The conversion agrees with CLOCK_MONOTONIC read at the same moment, on
 * its first call and on later ones. */
static void test_clock_conversion(void)
{
    for (int i = 0; i < 3; i++) {
        int64_t m0 = clock_now_ns();
        int64_t mono = tsock_realtime_to_mono(clock_unix_ns());
        int64_t m1 = clock_now_ns();
        /* Within the offset's bracket (1 us) of the monotonic reads around
         * it, with room for a loaded machine's eight wide samples. */
        CU_ASSERT(mono >= m0 - 10000);
        CU_ASSERT(mono <= m1 + 10000);
    }
}

/* Bytes written over loopback come with the kernel's receive time: after
 * the write began, before the read returned, and close to the write, even
 * when the read comes much later. */
static void test_stamped_read(void)
{
    CU_ASSERT_EQUAL_FATAL(tsock_stamps_on(), 0);
    CU_ASSERT_EQUAL(tsock_stamps_on(), 0); /* once per process */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    CU_ASSERT_FATAL(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                    listen(l, 1) == 0 && getsockname(l, (struct sockaddr *)&sa, &sl) == 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
    tsock_target t;
    bench_err e;
    CU_ASSERT_EQUAL_FATAL(tsock_target_init(&t, url, &e), BENCH_OK);
    int fd = -1;
    int rc = tsock_connect(&t, 0, &fd);
    CU_ASSERT_FATAL(rc == 0 || rc == EINPROGRESS);
    int a = accept(l, NULL, NULL);
    CU_ASSERT_FATAL(a >= 0);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    CU_ASSERT_EQUAL(poll(&p, 1, 1000), 1);
    CU_ASSERT_EQUAL(tsock_connect_result(fd), 0);

    char buf[64];
    int64_t t_ns;
    CU_ASSERT_EQUAL(tsock_recv(fd, buf, sizeof buf, 0, &t_ns), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);

    int64_t before = clock_now_ns();
    CU_ASSERT_EQUAL(write(a, "hello", 5), 5);
    int64_t after = clock_now_ns();
    usleep(20000); /* the read comes 20 ms later; the stamp must not */
    p = (struct pollfd){.fd = fd, .events = POLLIN};
    CU_ASSERT_EQUAL(poll(&p, 1, 1000), 1);
    /* A peek of one byte gives the stamp and leaves the bytes. */
    CU_ASSERT_EQUAL(tsock_recv(fd, buf, 1, MSG_PEEK, &t_ns), 1);
    CU_ASSERT(t_ns >= before && t_ns <= after + 5000000);
    int64_t peeked = t_ns;
    CU_ASSERT_EQUAL(tsock_recv(fd, buf, sizeof buf, 0, &t_ns), 5);
    CU_ASSERT_EQUAL(memcmp(buf, "hello", 5), 0);
    CU_ASSERT_EQUAL(t_ns, peeked);
    printf("  stamp %.1f us after the write began; read %.1f ms later\n",
           (double)(t_ns - before) / 1e3, (double)(clock_now_ns() - t_ns) / 1e6);

    close(a);
    CU_ASSERT_EQUAL(tsock_recv(fd, buf, sizeof buf, 0, &t_ns), 0); /* end of stream */
    close(fd);
    close(l);

    /* Nothing listens: the connect fails, now or once writable. */
    close(socket(AF_INET, SOCK_STREAM, 0));
    rc = tsock_connect(&t, 0, &fd);
    if (rc == EINPROGRESS) {
        p = (struct pollfd){.fd = fd, .events = POLLOUT};
        poll(&p, 1, 1000);
        rc = tsock_connect_result(fd);
        close(fd);
    }
    CU_ASSERT_EQUAL(rc, ECONNREFUSED);
}

static CU_TestInfo tests[] = {
    {"http URLs: host, port, Host header, path", test_url},
    {"wall clock to monotonic", test_clock_conversion},
    {"loopback reads stamped by the kernel", test_stamped_read},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cutest_run("tsock", tests);
}
