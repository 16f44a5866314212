#!/usr/bin/env python3
"""A TLS front for a plain-HTTP double: accepts HTTPS on 127.0.0.1:--port
with --cert/--key and relays the bytes, both ways, to 127.0.0.1:--upstream.
So a test can put any double behind a certificate of its own making.

  tls_proxy.py --port P --upstream U --cert cert.pem --key key.pem

A client that refuses the certificate simply ends its handshake; the proxy
logs it and carries on.  Stops on SIGTERM.
"""

import argparse
import signal
import socket
import ssl
import sys
import threading


def relay(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve_one(ctx, raw, upstream):
    try:
        tls = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        print(f"handshake refused: {e}", file=sys.stderr, flush=True)
        raw.close()
        return
    try:
        up = socket.create_connection(("127.0.0.1", upstream))
    except OSError as e:
        print(f"upstream: {e}", file=sys.stderr, flush=True)
        tls.close()
        return
    back = threading.Thread(target=relay, args=(up, tls), daemon=True)
    back.start()
    relay(tls, up)
    back.join()
    tls.close()
    up.close()


def main():
    ap = argparse.ArgumentParser(description="TLS front for a plain-HTTP test double")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        raw, _ = listener.accept()
        threading.Thread(target=serve_one, args=(ctx, raw, args.upstream), daemon=True).start()


if __name__ == "__main__":
    main()
