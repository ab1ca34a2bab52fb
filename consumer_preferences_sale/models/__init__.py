from . import consumer_preference
from . import res_company
from . import res_config_settings
from . import product_product
from . import sale_order
