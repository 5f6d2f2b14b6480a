from odoo import http
from odoo.http import request


class BenchController(http.Controller):
    """The least a public callback route can do with a report: read the form and INSERT one row of it.

    Every request inserts its own row (as the delivery-report route queues each report), so that concurrent clients
    do not wait on one another's row lock. Installed on the bench database only.
    """

    @http.route("/sms_africastalking_bench/minimal", type="http", auth="public", methods=["POST"], csrf=False,
                save_session=False)
    def minimal(self, **form):
        request.env.cr.execute(
            "INSERT INTO sms_africastalking_bench_hit (message_id, status, received) "
            "VALUES (%s, %s, now() at time zone 'UTC')",
            (form.get("id"), form.get("status")))
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])
