"""ISO 4217 currencies and their minor units. Pure Python: domains and the gateway may use it.

Amounts are integers of a currency's minor unit (cents, fils...), never floats. The exponent says how
many decimal places a display of the amount has: JPY 0, USD 2, KWD 3. The table lists the active ISO
4217 codes (fund and precious-metal codes left out); a code not in it is not accepted as a currency.
"""

from __future__ import annotations

from decimal import Decimal

# Codes whose minor unit is not 2; every other listed code has 2.
_EXPONENT_EXCEPTIONS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
_TWO_DECIMALS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF "
    "CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF "
    "IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR "
    "MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD "
    "SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR "
    "ZMW ZWG"
).split()
CURRENCY_EXPONENTS: dict[str, int] = {code: 2 for code in _TWO_DECIMALS} | _EXPONENT_EXCEPTIONS


def is_currency(code: str) -> bool:
    return code in CURRENCY_EXPONENTS


def minor_unit_exponent(code: str) -> int:
    """Decimal places of the currency's minor unit; KeyError for a code that is not a currency."""
    return CURRENCY_EXPONENTS[code]


def format_minor(amount_minor: int, currency: str) -> str:
    """``12345, "EUR"`` -> ``"123.45 EUR"``; ``500, "JPY"`` -> ``"500 JPY"``; ``1500, "KWD"`` -> ``"1.500 KWD"``."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    value = Decimal(amount_minor).scaleb(-exponent)
    return f"{value:.{exponent}f} {currency}"


# Every amount (a line, an invoice, a payment) stays far inside int64 and PostgreSQL's bigint.
MAX_AMOUNT_MINOR = 10**13
