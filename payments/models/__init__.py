from .chains import Chain
from .fx import FxRate
from .requests import AmountLock, PaymentRequest

__all__ = ["AmountLock", "Chain", "FxRate", "PaymentRequest"]
