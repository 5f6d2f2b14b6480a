from . import main
from . import consent
from . import poll
from . import subscription
