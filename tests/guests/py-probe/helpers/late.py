"""Imported only by the `import` action, after a restore."""
VALUE = "imported late"
