"""A stand-in for Odoo's callback routes, shared by the simulator's unit tests."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class CallbackReceiver:
    """A tiny HTTP server standing in for Odoo's callback routes: records every form POSTed to it."""

    def __init__(self):
        self.posts = []
        self.statuses = []  # answers to give, in order; ``status`` once exhausted
        self.status = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length'] or 0)).decode()
                with receiver._lock:
                    form = {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}
                    receiver.posts.append((self.path, self.headers['Content-Type'], form))
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.status
                self.send_response(status)
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'OK')

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._server.daemon_threads = True
        self.url = 'http://127.0.0.1:%s' % self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()

    def forms(self, path):
        with self._lock:
            return [form for post_path, _type, form in self.posts if post_path == path]

    def clear(self):
        with self._lock:
            self.posts.clear()
            self.statuses.clear()
            self.status = 200

    def close(self):
        self._server.shutdown()
        self._server.server_close()
