/** @odoo-module */
// License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
// A portal customer keeps a purchase as a favourite, then reorders it with
// another favourite: one draft quotation for its salesperson.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("consumer_preferences_sale_portal_reorder", {
    url: "/my/preferences",
    steps: () => [
        {
            content: "Keep the biscuits bought as a favourite",
            trigger: "tr.o_consumer_preference_row:contains(Tour Biscuits) button.o_consumer_preference_favourite",
            run: "click",
        },
        {
            trigger: ".alert-info:contains(added to your favourites)",
        },
        {
            content: "Three kilograms of tea",
            trigger: "tr.o_consumer_preference_row:contains(Tour Tea) input.o_consumer_preference_quantity",
            run: "edit 3",
        },
        {
            content: "Two packs of the favourite biscuits",
            trigger: "tr.o_consumer_preference_row:contains(Tour Biscuits):has(button.o_consumer_preference_remove) input.o_consumer_preference_quantity",
            run: "edit 2",
        },
        {
            trigger: "button.o_consumer_preference_reorder",
            run: "click",
        },
        {
            content: "The request is acknowledged",
            trigger: ".o_consumer_preference_reordered:contains(Reference)",
        },
    ],
});
