#!/usr/bin/python3
"""Loopback test servers for tests/test_tls_secrets.c (standard library only).

  tls_proxy.py --cert CERT --key KEY --upstream HOST:PORT
      A TLS front: accepts TLS on 127.0.0.1 (ephemeral port) with CERT/KEY and
      forwards the decrypted bytes to the plain HTTP server at HOST:PORT (the
      embedded simulator), both ways, one thread per connection.

  tls_proxy.py --echo-401
      A plain HTTP server answering every request 401 with an error body that
      quotes the request's Authorization header, as careless servers do; the
      bodies take turns: whole in a JSON message, cut mid-key by the client's
      message limit, and as plain text.

Either way it prints "listening on PORT" on stdout once ready and runs until
its stdin reaches end of file (the test holds the other end) or it is killed.
"""
import argparse
import json
import os
import select
import socket
import ssl
import sys
import threading


def pump_tls(tls, up):
    """Forward between a TLS connection and a plain one until either ends.
    One thread does both directions: an SSL object is not to be read and
    written from two threads at once."""
    try:
        while True:
            if tls.pending() > 0:
                readable = [tls]
            else:
                readable, _, _ = select.select([tls, up], [], [], 60)
                if not readable:
                    return
            if tls in readable:
                data = tls.recv(65536)
                if not data:
                    return
                up.sendall(data)
            if up in readable:
                data = up.recv(65536)
                if not data:
                    return
                tls.sendall(data)
    except (OSError, ssl.SSLError):
        return


def serve_tls(conn, ctx, upstream):
    try:
        # The handshake fails when the client refuses the certificate.
        tls = ctx.wrap_socket(conn, server_side=True)
    except (OSError, ssl.SSLError):
        conn.close()
        return
    try:
        up = socket.create_connection(upstream)
    except OSError:
        tls.close()
        return
    up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        pump_tls(tls, up)
    finally:
        up.close()
        tls.close()


COUNTER = [0]
COUNTER_LOCK = threading.Lock()


def read_request(conn):
    """The request's headers (lower-cased names) after reading its body."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    want = int(headers.get("content-length", "0") or 0)
    while len(rest) < want:
        data = conn.recv(65536)
        if not data:
            break
        rest += data
    return headers


def serve_echo(conn):
    try:
        headers = read_request(conn)
        if headers is None:
            return
        auth = headers.get("authorization", "(none)")
        with COUNTER_LOCK:
            turn = COUNTER[0] % 3
            COUNTER[0] += 1
        if turn == 0:
            ctype = "application/json"
            body = json.dumps({"error": {
                "message": "Incorrect API key provided. You sent: Authorization: " + auth,
                "type": "invalid_request_error", "code": "invalid_api_key"}})
        elif turn == 1:
            # The client keeps 199 characters of a message: the key is cut.
            ctype = "application/json"
            body = json.dumps({"error": {"message": "x" * 180 + " " + auth}})
        else:
            # Not JSON: the client quotes a printable prefix and marks the cut.
            ctype = "text/plain"
            body = "unauthorized: " + "y" * 160 + " " + auth + "\n"
        data = body.encode()
        conn.sendall(("HTTP/1.1 401 Unauthorized\r\nContent-Type: %s\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n"
                      % (ctype, len(data))).encode() + data)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--upstream")
    ap.add_argument("--echo-401", action="store_true")
    a = ap.parse_args()
    if not a.echo_401 and not (a.cert and a.key and a.upstream):
        ap.error("give --cert, --key and --upstream, or --echo-401")

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)
    if a.echo_401:
        handler = serve_echo
        args = ()
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        host, _, port = a.upstream.rpartition(":")
        handler = serve_tls
        args = (ctx, (host, int(port)))

    def accept_loop():
        while True:
            conn, _ = ls.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=handler, args=(conn,) + args, daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    print("listening on %d" % ls.getsockname()[1], flush=True)
    # Until the test closes our stdin (or dies).
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
