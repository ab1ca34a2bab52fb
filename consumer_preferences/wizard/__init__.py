from . import consumer_preference_bill
from . import consumer_preference_bill_line
from . import base_partner_merge_automatic_wizard
