"""Plain Python helpers of the addon: no ``odoo`` import anywhere in this package.

They are unit-tested with plain pytest (``tests/unit``) and imported by the models and controllers.
"""
