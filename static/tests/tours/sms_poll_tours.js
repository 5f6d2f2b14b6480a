/** @odoo-module */

import { registry } from "@web/core/registry";

/** A poll's results: from the SMS mailing to the graph of votes per answer, then the pivot with the counts. */
registry.category("web_tour.tours").add("sms_africastalking_poll_results_tour", {
    test: true,
    steps: () => [
        {
            content: "The mailing shows its poll votes",
            trigger: ".o_sms_poll_results:contains('3')",
        },
        {
            content: "The votes open as a bar graph per answer",
            trigger: ".o_graph_renderer canvas",
            run: () => {},
        },
        {
            content: "Switch to the pivot",
            trigger: "button.o_pivot",
        },
        {
            content: "Saturday has two votes",
            trigger: ".o_pivot tr:has(th:contains('1: Saturday')) td:contains('2')",
            run: () => {},
        },
        {
            content: "Sunday has one vote",
            trigger: ".o_pivot tr:has(th:contains('2: Sunday')) td:contains('1')",
            run: () => {},
        },
        {
            content: "Switch to the list of respondents",
            trigger: "button.o_list",
        },
        {
            content: "The respondents are grouped by answer: open Saturday",
            trigger: ".o_group_name:contains('1: Saturday (2)')",
        },
        {
            content: "The respondents are listed with their answer",
            trigger: ".o_list_renderer td:contains('+254722000001')",
            run: () => {},
        },
    ],
});
