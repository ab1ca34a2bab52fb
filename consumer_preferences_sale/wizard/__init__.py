from . import consumer_preference_bill
from . import consumer_preference_bill_line
