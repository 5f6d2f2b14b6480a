/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

const CSV = [
    "Name,Mobile,Class",
    "Amina Otieno,0712 345 678,3B",
    "Baraka Mwangi,+254 723 456 789,3B",
    "Amina again,0712-345-678,3B",
    "Typo,07123,3C",
].join("\n");

function uploadCsv(input) {
    const file = new File([CSV], "form3_parents.csv", { type: "text/csv" });
    const dataTransfer = new DataTransfer();
    dataTransfer.items.add(file);
    input.files = dataTransfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
}

registry.category("web_tour.tours").add("sms_africastalking_contact_import", {
    test: true,
    url: "/web",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open SMS Marketing",
            trigger: '.o_app[data-menu-xmlid="mass_mailing_sms.mass_mailing_sms_menu_root"]',
        },
        {
            content: "Open the Contacts menu",
            trigger: '.o_menu_sections [data-menu-xmlid="mass_mailing_sms.mass_mailing_sms_menu_contacts"]',
        },
        {
            content: "Open the import wizard",
            trigger: '.dropdown-item[data-menu-xmlid="sms_africastalking.sms_contact_import_menu"]',
        },
        {
            content: "Upload the contact file",
            // The file input itself is hidden inside the "Upload your file" label.
            trigger: '.o_field_widget[name="file"] .o_select_file_button',
            run() {
                uploadCsv(this.$anchor[0].querySelector('input[type="file"]'));
            },
        },
        {
            content: "The columns are recognised",
            trigger: '.o_field_widget[name="column_ids"] .o_data_row:contains("Mobile")',
            run() {},
        },
        {
            content: "The preview shows the number in international format and the invalid one",
            trigger: '.o_sms_contact_import_preview:contains("+254712345678"):contains("Invalid number")',
            run() {},
        },
        {
            content: "Choose the mailing list",
            trigger: '.o_field_widget[name="list_ids"] input',
            run: "text Tour parents",
        },
        {
            content: "Pick it in the dropdown",
            trigger: '.o-autocomplete--dropdown-item:contains("Tour parents")',
        },
        {
            content: "The list is selected",
            trigger: '.o_field_widget[name="list_ids"] .o_tag:contains("Tour parents")',
            run() {},
        },
        {
            content: "Import",
            trigger: 'button[name="action_import"]',
        },
        {
            content: "Two contacts were created",
            trigger: '.o_field_widget[name="created_count"]:contains("2")',
            run() {},
        },
        {
            content: "The rejected rows are listed with their reason",
            trigger: '.o_sms_contact_import_rejects:contains("Duplicate of row 2"):contains("Invalid number")',
            run() {},
        },
        {
            content: "The report of rejected rows can be downloaded",
            trigger: 'button[name="action_download_report"]',
            run() {},
        },
        {
            content: "Close",
            trigger: '.modal-footer button:contains("Close")',
        },
        {
            content: "The dialog is closed",
            trigger: "body:not(:has(.modal))",
            run() {},
        },
    ],
});
