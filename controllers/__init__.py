from . import main
from . import consent
