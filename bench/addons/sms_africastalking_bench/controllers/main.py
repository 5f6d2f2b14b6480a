from odoo import http
from odoo.http import request


class BenchController(http.Controller):
    """The least any public callback route can do: one UPDATE. Installed on the bench database only."""

    @http.route("/sms_africastalking_bench/minimal", type="http", auth="public", methods=["POST"], csrf=False,
                save_session=False)
    def minimal(self, **_form):
        request.env.cr.execute("UPDATE res_company SET write_date = write_date WHERE id = 1")
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])
