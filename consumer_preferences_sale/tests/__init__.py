from . import test_quotation
from . import test_add_from_preferences
from . import test_add_from_preferences_tour
from . import test_sale_access_rights
from . import test_history_invoice_based
from . import test_portal
from . import test_portal_tour
from . import test_translation
