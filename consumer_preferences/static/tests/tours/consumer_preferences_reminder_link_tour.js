/** @odoo-module */
// License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
// On the customer's form, in the user's first company: the link in the To-Do
// of a reorder reminder of the user's second company opens the Bill wizard
// of that company's due products, quantities filled in.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("consumer_preferences_reminder_link", {
    steps: () => [
        {
            content: "Working in the first company",
            trigger: ".o_switch_company_menu:not(:contains(Reminder Company))",
        },
        {
            content: "Show the details of the reminder's To-Do",
            trigger: ".o-mail-Activity:contains(Reorder reminder) .o-mail-Activity-info i[title=Info]",
            run: "click",
        },
        {
            content: "Click its link",
            trigger: ".o-mail-Activity-note a:contains(Bill the due products)",
            run: "click",
            expectUnloadPage: true,
        },
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
