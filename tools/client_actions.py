"""Client actions the web client understands, built in one place (plain Python, no ``odoo`` import)."""


def notification(message, kind="info", title=None, sticky=False, next_action=None):
    """The ``display_notification`` client action: a toast with ``message`` of type ``kind`` (info, success,
    warning, danger), then ``next_action`` (e.g. closing the dialog) when given."""
    params = {"message": message, "type": kind, "sticky": sticky}
    if title:
        params["title"] = title
    if next_action:
        params["next"] = next_action
    return {"type": "ir.actions.client", "tag": "display_notification", "params": params}
