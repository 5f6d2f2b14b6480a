/** @odoo-module */

import { registry } from "@web/core/registry";

/** SMS Marketing › Reporting › Delivery: last 30 days, per network, with the median time to delivery. */
registry.category("web_tour.tours").add("sms_africastalking_delivery_dashboard_tour", {
    test: true,
    url: "/web",
    steps: () => [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
        },
        {
            content: "Open SMS Marketing",
            trigger: ".o_app[data-menu-xmlid='mass_mailing_sms.mass_mailing_sms_menu_root']",
        },
        {
            content: "Open Reporting",
            trigger: "[data-menu-xmlid='mass_mailing_sms.mass_mailing_sms_menu_reporting']",
        },
        {
            content: "Open Delivery",
            trigger: "[data-menu-xmlid='sms_africastalking.africastalking_delivery_analysis_menu']",
        },
        {
            content: "The last 30 days by default",
            trigger: ".o_searchview_facet:contains('Last 30 Days')",
            run: () => {},
        },
        {
            content: "One row per network, as AT reported it",
            trigger: ".o_pivot th.o_pivot_header_cell_closed:contains('Safaricom')",
            extra_trigger: ".o_pivot th.o_pivot_header_cell_closed:contains('Airtel')",
            run: () => {},
        },
        {
            content: "Sent, delivered, failed, median time to delivery and cost are the measures",
            trigger: ".o_pivot th:contains('Median Time to Delivery')",
            extra_trigger: ".o_pivot th:contains('Delivered')",
            run: () => {},
        },
        {
            content: "The graph",
            trigger: "button.o_switch_view.o_graph",
        },
        {
            content: "The graph shows",
            trigger: ".o_graph_renderer canvas",
            run: () => {},
        },
        {
            content: "Group by mailing in the list",
            trigger: "button.o_switch_view.o_list",
        },
        {
            content: "Each message's network",
            trigger: ".o_list_view td[name='network_name']:contains('Safaricom')",
            run: () => {},
        },
    ],
});
