from . import consumer_preference
from . import consumer_preference_history
from . import consumer_preference_history_queue
from . import account_move
from . import account_move_line
from . import res_partner
from . import res_company
from . import res_config_settings
