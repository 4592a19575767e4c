from .chains import Chain
from .fx import FxRate
from .requests import PaymentRequest
from .rescans import RequestRescan

__all__ = ["Chain", "FxRate", "PaymentRequest", "RequestRescan"]
