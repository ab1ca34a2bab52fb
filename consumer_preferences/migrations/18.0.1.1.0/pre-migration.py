# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
"""1.1.0 ships the groups and the record rule as ``noupdate`` data, so that
an upgrade never resets what an administrator tuned: databases installed
before then get the same flag."""

NOUPDATE_RECORDS = (
    "module_category_consumer_preferences",
    "group_consumer_preference_user",
    "group_consumer_preference_manager",
    "consumer_preference_rule_company",
)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        UPDATE ir_model_data SET noupdate = TRUE
         WHERE module = 'consumer_preferences' AND name IN %s
        """,
        [NOUPDATE_RECORDS],
    )
