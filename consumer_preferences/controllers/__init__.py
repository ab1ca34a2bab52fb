from . import reminder
