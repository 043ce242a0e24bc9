"""Catalogue import: feeds (Google Merchant Center CSV/TSV or JSON lines), ImageFolder
folders, and .zip files of either. `service.import_catalog` is the entry point."""
