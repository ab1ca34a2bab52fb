/** @odoo-module */
// License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("consumer_preferences_tab", {
    steps: () => [
        {
            content: "Open the Preferences tab of the customer",
            trigger: ".o_notebook .nav-link:contains(Preferences)",
            run: "click",
        },
        {
            content: "The Specifications section lists the customer's specifications",
            trigger: ".o_horizontal_separator:contains(Specifications)",
        },
        {
            trigger: "div[name=commercial_specification_ids] .o_data_row:contains(Olive Oil)",
        },
        {
            content: "The History section lists what the customer was invoiced",
            trigger: ".o_horizontal_separator:contains(History)",
        },
        {
            trigger: "div[name=commercial_history_bought_ids] .o_data_row:contains(Olive Oil)",
        },
    ],
});
