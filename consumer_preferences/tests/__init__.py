from . import test_specification
from . import test_history
