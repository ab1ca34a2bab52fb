/** @odoo-module */
// License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
// On a customer the test creates: add a specification, bill from the
// preferences with the totals shown, open the invoice lines behind a history
// line.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("consumer_preferences_flow", {
    steps: () => [
        {
            content: "Open the Preferences tab",
            trigger: ".o_notebook .nav-link:contains(Preferences)",
            run: "click",
        },
        {
            content: "Add a specification",
            trigger: "div[name=commercial_specification_ids] .o_field_x2many_list_row_add > a",
            run: "click",
        },
        {
            trigger: "div[name=commercial_specification_ids] .o_data_row div[name=product_id] input",
            run: "edit Tour Coffee",
        },
        {
            content: "No way to create a product from here",
            trigger: ".o_field_widget[name=product_id] .o-autocomplete--dropdown-menu li:contains(Tour Coffee)",
            run() {
                if (document.querySelector(".o-autocomplete--dropdown-menu .o_m2o_dropdown_option_create")) {
                    throw new Error("The product field offers to create a product");
                }
            },
        },
        {
            trigger: ".o_field_widget[name=product_id] .o-autocomplete--dropdown-menu li:contains(Tour Coffee) a",
            run: "click",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The specification is saved",
            trigger: ".o_form_saved div[name=commercial_specification_ids] .o_data_row:contains(Tour Coffee)",
        },
        {
            content: "Bill from the preferences",
            trigger: "div[name=consumer_preference_bill] button:contains(Bill)",
            run: "click",
        },
        {
            content: "Fill the quantities suggested for what the customer buys repeatedly",
            trigger: ".modal button[name=action_fill_suggested_quantities]",
            run: "click",
        },
        {
            content: "Tour Tea, bought twice by 3, is suggested at 3: totals shown",
            trigger: ".modal div[name=amount_untaxed]:contains(30.00)",
        },
        {
            trigger: ".modal div[name=amount_total]:contains(30.00)",
        },
        {
            trigger: ".modal .modal-footer button[name=action_bill]:visible",
            run: "click",
        },
        {
            content: "The invoice says in its chatter where it came from",
            trigger: ".o-mail-Message:contains(Billed from the consumer preferences of Tour Customer)",
        },
        {
            content: "Back to the customer",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains(Tour Customer)",
            run: "click",
        },
        {
            trigger: ".o_notebook .nav-link:contains(Preferences)",
            run: "click",
        },
        {
            content: "Open the history line of Tour Tea",
            trigger: "div[name=commercial_history_bought_ids] .o_data_row:contains(Tour Tea) td.o_data_cell",
            run: "click",
        },
        {
            content: "Open the invoice lines behind it",
            trigger: ".modal button[name=action_view_invoice_lines]",
            run: "click",
        },
        {
            content: "Exactly its two invoice lines",
            trigger: ".o_list_view .o_data_row:contains(Tour Tea):eq(1)",
            run() {
                const rows = document.querySelectorAll(".o_list_view .o_data_row");
                if (rows.length !== 2) {
                    throw new Error(`Expected 2 invoice lines, found ${rows.length}`);
                }
            },
        },
    ],
});
