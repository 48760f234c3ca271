"""Service-desk bot for the SPSE password-reset / user-ID SOP of the Admin Agency."""

__version__ = "0.1.0"
