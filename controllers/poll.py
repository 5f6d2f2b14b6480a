import csv
import io

from werkzeug.exceptions import Forbidden, NotFound

from odoo import _, http
from odoo.exceptions import AccessError
from odoo.http import content_disposition, request

from ..tools.contact_files import write_safe_csv_row


class SmsPollController(http.Controller):

    @http.route("/sms_africastalking/poll/<int:poll_id>/votes.csv", type="http", auth="user", methods=["GET"])
    def sms_poll_votes_export(self, poll_id, **_kwargs):
        """The votes of a poll with their respondents, as CSV, for SMS Marketing users who may read the poll (record
        rules apply: another company's poll is not found)."""
        if not request.env.user.has_group("mass_mailing.group_mass_mailing_user"):
            raise Forbidden()
        poll = request.env["sms.poll"].browse(poll_id).exists()
        try:
            poll.check_access_rule("read")
        except AccessError:
            raise NotFound() from None
        if not poll:
            raise NotFound()
        output = io.StringIO()
        writer = csv.writer(output)
        write_safe_csv_row(writer, [_("Number"), _("Contact"), _("Answer Code"), _("Answer"), _("Voted On (UTC)"),
                                    _("Changes"), _("Ignored Answers")])
        for vote in poll.vote_ids.sorted(lambda vote: (vote.answer_id.sequence, vote.answer_id.id, vote.number)):
            write_safe_csv_row(writer, [
                vote.number, vote.partner_id.name or "", vote.answer_id.code, vote.answer_id.name,
                vote.vote_date.isoformat(sep=" ") if vote.vote_date else "", vote.change_count, vote.ignored_count,
            ])
        filename = "poll-%s-votes.csv" % poll.id
        return request.make_response(output.getvalue().encode("utf-8-sig"), headers=[
            ("Content-Type", "text/csv; charset=utf-8"), ("Content-Disposition", content_disposition(filename)),
        ])
