"""moto's server, answering one request at a time.

Run with the moto virtualenv's Python, as a drop-in for `moto_server`:

    /opt/shopkit-tools/venv/bin/python moto_serialized.py -H 127.0.0.1 -p 5000

Why: moto's DynamoDB `TransactWriteItems` is not safe under concurrent requests. It
deep-copies the tables it touches when a transaction starts and, when the transaction is
cancelled, puts that copy back, undoing every write other request threads committed in
between. `moto_server` serves requests on threads, so the contention contracts (64 tasks
racing for the last units) lose committed reservations or oversell against it; with
requests answered one at a time they pass, and they still exercise every interleaving of
whole requests, which is what DynamoDB itself guarantees (each request, and each
transaction, is atomic). Connections are still accepted concurrently (threaded server):
only the handling of a request holds the lock.
"""

import argparse
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            body = app(environ, start_response)
            try:
                # The whole response is produced inside the lock.
                return [b"".join(body)]
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()

    run_simple(
        args.host,
        args.port,
        one_at_a_time,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
