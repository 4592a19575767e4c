from .chains import Chain
from .fx import FxRate
from .requests import PaymentRequest

__all__ = ["Chain", "FxRate", "PaymentRequest"]
