"""A plain static file server on loopback that sends the headers it is told to (for the
naive-map baseline of bench/first_frame.py, which must run under techmap's CSP).

    python -m bench.static_server --root DIR --port PORT [--header "Name: value"]...
"""

import argparse
import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    extra_headers: list[tuple[str, str]] = []
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".geojson": "application/geo+json",
        ".js": "text/javascript",
        ".css": "text/css",
    }

    def end_headers(self):
        for name, value in self.extra_headers:
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format, *args):  # quiet: the benchmark reads no access log
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A page that gives up on a huge file closes the connection: not the server's fault.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--header", action="append", default=[], help='"Name: value"')
    args = parser.parse_args(argv)
    Handler.extra_headers = [tuple(h.split(": ", 1)) for h in args.header]
    handler = functools.partial(Handler, directory=args.root)
    with Server(("127.0.0.1", args.port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
