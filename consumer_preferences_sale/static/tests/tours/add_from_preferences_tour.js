/** @odoo-module */
// License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
// On a quotation the test creates: Add from Preferences, fill the suggested
// quantities, add them to the quotation.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("consumer_preferences_sale_add_from_preferences", {
    steps: () => [
        {
            content: "Add from the customer's preferences",
            trigger: ".o_form_view button[name=action_add_from_preferences]",
            run: "click",
        },
        {
            content: "The wizard lists the customer's preferences",
            trigger: ".modal .o_data_row:contains(Tour Tea)",
        },
        {
            trigger: ".modal button[name=action_fill_suggested_quantities]",
            run: "click",
        },
        {
            content: "Tour Tea, bought twice by 3, is suggested at 3",
            trigger: ".modal div[name=amount_untaxed]:contains(30.00)",
        },
        {
            trigger: ".modal .modal-footer button[name=action_quote]:visible:contains(Add to Quotation)",
            run: "click",
        },
        {
            content: "The quotation has the line",
            trigger: ".o_form_view div[name=order_line] .o_data_row:contains(Tour Tea)",
        },
    ],
});
