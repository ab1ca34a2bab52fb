from . import test_specification
from . import test_history
from . import test_partner_form_tour
from . import test_history_invariant
from . import test_history_queries
from . import test_profile
from . import test_billing
from . import test_translation
