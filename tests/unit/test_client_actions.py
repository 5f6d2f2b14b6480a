"""tools.client_actions: the one builder of the web client's notification."""

from tools.client_actions import notification


def test_notification_shape():
    assert notification("Queued", "success") == {
        "type": "ir.actions.client", "tag": "display_notification",
        "params": {"message": "Queued", "type": "success", "sticky": False}}


def test_notification_title_sticky_and_next_action():
    close = {"type": "ir.actions.act_window_close"}
    params = notification("Hi", "warning", title="SMS", sticky=True, next_action=close)["params"]
    assert params == {"message": "Hi", "type": "warning", "sticky": True, "title": "SMS", "next": close}
