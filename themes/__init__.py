"""Shipped themes; installed as the package ``perfsite_themes`` so wheels carry them."""
