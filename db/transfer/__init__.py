"""CSV import and export of the catalog and opening stock (formats.py names the columns)."""
