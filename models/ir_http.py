import io

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import models
from odoo.http import request

READ_CHUNK_BYTES = 4096


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):  # pylint: disable=missing-return
        super()._pre_dispatch(rule, args)
        limit = rule.endpoint.routing.get("africastalking_max_body")
        if limit:
            cls._africastalking_cap_body(limit)

    @classmethod
    def _africastalking_cap_body(cls, limit):
        """Read the raw body, at most ``limit`` bytes, before werkzeug parses the form (413 beyond).

        The dispatcher parses the form before the route runs, and werkzeug 2.x bounds only a declared
        Content-Length: a chunked body is read and parsed whole, whatever its size. Here the body is read from the
        WSGI stream with a cap and put back as a small in-memory stream of known length, so the form parser never
        sees more than ``limit`` bytes.
        """
        # Odoo 17 exposes no public handle on the WSGI input: the wrapped werkzeug request holds it.
        httprequest = request.httprequest._HTTPRequest__wrapped
        environ = httprequest.environ
        if len(environ.get("QUERY_STRING", "")) > limit:
            raise RequestEntityTooLarge()
        length = httprequest.content_length
        if length is not None and length > limit:
            raise RequestEntityTooLarge()
        if length is None and not environ.get("wsgi.input_terminated"):
            return  # no declared length and not chunked: werkzeug reads nothing
        stream, body, size = environ["wsgi.input"], [], 0
        remaining = length if length is not None else limit + 1
        while remaining > 0:
            chunk = stream.read(min(READ_CHUNK_BYTES, remaining))
            if not chunk:
                break
            body.append(chunk)
            size += len(chunk)
            remaining -= len(chunk)
        if size > limit:
            raise RequestEntityTooLarge()
        body = b"".join(body)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(size)
        environ.pop("wsgi.input_terminated", None)
        # werkzeug caches the length it read from the headers (None when chunked) and would build its stream from
        # it: both are set to the body just read.
        httprequest.__dict__.pop("content_length", None)
        httprequest.__dict__["stream"] = io.BytesIO(body)
