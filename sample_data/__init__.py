"""Builders of the bundled sample data sets (data/emoji_sku: the SKU benchmark)."""
