"""The package version (its own module, so nothing has to import the package root for it)."""

__version__ = "0.1.0"
