"""Payment gateways behind one small interface (see docs/payments.md).

Import ``get_gateway`` from ``commerce.payments.registry`` and the contracts from
``commerce.payments.types``; never import a provider SDK elsewhere.
"""
