/** @odoo-module */
// License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
// Opened at the link of a reorder reminder of the user's second company: the
// Bill wizard shows that company's due products, quantities filled in.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("consumer_preferences_reminder_link", {
    steps: () => [
        {
            content: "The Bill wizard lists the due product of the reminder's company",
            trigger: ".modal .o_data_row:contains(Link Tea) td[name=quantity]:contains(3.00)",
        },
        {
            content: "in that company",
            trigger: ".o_switch_company_menu:contains(Reminder Company)",
        },
    ],
});
