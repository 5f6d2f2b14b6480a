/* Generic walker of the browser smoke test (tests/test_browser_smoke.py), run by HttpCase.browser_js.
 *
 * For each target {label, action, resId} collected server-side: open the action as the menu does; with a resId,
 * open that record's form and click each visible header button in turn, on a freshly opened form each time.
 * A dialog that opens (wizard, confirmation) gets its primary button clicked once unless the target lists it as
 * unsafe, then is closed. Any client error or RPC error is logged by Odoo with console.error, which fails the
 * test at once; the walker itself reports what it clicked and ends with "test successful".
 */
(async () => {
    const targets = __TARGETS__;
    const env = odoo.__WOWL_DEBUG__.root.env;
    const actionService = env.services.action;
    let pending = 0;
    env.bus.addEventListener("RPC:REQUEST", () => pending++);
    env.bus.addEventListener("RPC:RESPONSE", () => pending--);
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

    /** No RPC in flight and none started for 250 ms (at most 90 s: a loaded CI machine is slow). */
    async function idle() {
        let quiet = 0;
        for (let i = 0; i < 1800 && quiet < 5; i++) {
            await sleep(50);
            quiet = pending > 0 ? 0 : quiet + 1;
        }
    }

    const visible = (el) => !!(el && el.getClientRects().length);
    /** A step that never ends fails the walk with its name rather than the whole test's timeout. */
    const withTimeout = (promise, what, ms = 120000) =>
        Promise.race([promise, sleep(ms).then(() => { throw new Error(`smoke: ${what}: no answer after ${ms} ms`); })]);
    const topDialog = () => [...document.querySelectorAll(".o_dialog .modal")].filter(visible).pop();
    const buttonLabel = (button) =>
        (button.getAttribute("name") || "") + " (" + button.textContent.trim() + ")";

    /** Click the primary button of each dialog once (unless unsafe), then close what stays open. */
    async function settleDialogs(target, trail) {
        const clicked = new Set();
        for (let round = 0; round < 8; round++) {
            const dialog = topDialog();
            if (!dialog) {
                return;
            }
            const title = (dialog.querySelector(".modal-title") || {}).textContent || "";
            const primary = dialog.querySelector(".modal-footer .btn-primary");
            const key = title + "/" + (primary ? buttonLabel(primary) : "");
            const unsafe = primary && (target.unsafeDialogButtons || []).includes(primary.getAttribute("name"));
            if (primary && !clicked.has(key) && !unsafe && !primary.disabled) {
                clicked.add(key);
                console.log(`smoke: ${trail} > dialog "${title.trim()}" > ${buttonLabel(primary)}`);
                primary.click();
                await idle();
                continue;
            }
            const close =
                dialog.querySelector(".modal-header .btn-close") ||
                dialog.querySelector(".modal-footer .btn-secondary");
            if (close) {
                close.click();
            } else {
                document.activeElement.dispatchEvent(
                    new KeyboardEvent("keydown", { key: "Escape", bubbles: true })
                );
            }
            await idle();
        }
        throw new Error(`smoke: ${trail}: a dialog would not close`);
    }

    async function openTarget(target) {
        const options = { clearBreadcrumbs: true };
        if (target.resId) {
            Object.assign(options, { viewType: "form", props: { resId: target.resId } });
        }
        await withTimeout(actionService.doAction(target.action, options), `open ${target.label}`);
        await idle();
    }

    /** The form's header buttons, and the other buttons the target names (e.g. in Settings). */
    const headerButtons = (target) => {
        const form = document.querySelector(".o_action_manager .o_form_view");
        if (!form) {
            return [];
        }
        const extra = (target.extraButtons || []).map((name) => `button[name='${name}']`);
        return [...form.querySelectorAll([".o_form_statusbar .o_statusbar_buttons button", ...extra].join(", "))]
            .filter((button) => visible(button) && !button.classList.contains("dropdown-toggle"));
    };

    let clicks = 0;
    for (const target of targets) {
        await openTarget(target);
        console.log(`smoke: opened ${target.label}`);
        await settleDialogs(target, target.label);
        if (!target.resId && !target.extraButtons) {
            continue;
        }
        if (!document.querySelector(".o_action_manager .o_form_view")) {
            throw new Error(`smoke: ${target.label}: no form view for record ${target.resId}`);
        }
        const labels = headerButtons(target).map(buttonLabel);
        for (let index = 0; index < labels.length; index++) {
            if ((target.skipButtons || []).some((name) => labels[index].startsWith(name + " ("))) {
                continue;
            }
            await openTarget(target);
            await settleDialogs(target, target.label);
            const button = headerButtons(target).find((b) => buttonLabel(b) === labels[index]);
            if (!button) {
                continue; // an earlier click changed the record's state: the button is gone
            }
            const trail = `${target.label} > ${labels[index]}`;
            console.log(`smoke: ${trail}`);
            button.click();
            clicks++;
            await idle();
            await settleDialogs(target, trail);
        }
    }
    console.log(`smoke: ${targets.length} targets, ${clicks} header buttons clicked`);
    if (clicks < __MIN_CLICKS__) {
        throw new Error(`smoke: only ${clicks} buttons clicked, expected at least __MIN_CLICKS__`);
    }
    console.log("test successful");
})().catch((error) => console.error(String(error && error.stack || error)));
